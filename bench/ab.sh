#!/usr/bin/env bash
# A/B of two actix-api binaries at the same load: alternating runs of `bot load` against each
# (all-in-one, WebSocket), reporting server CPU per delivered message and p99 latency.
#   bench/ab.sh OLD_BINARY NEW_BINARY [runs=3] [rooms=3]
# The bot comes from $CARGO_TARGET_DIR/release (build it with `cargo build --release -p bot`).
# Loopback only; every process started here is stopped on exit.
set -euo pipefail
old=$1 new=$2 runs=${3:-3} rooms=${4:-3}
BOT="${CARGO_TARGET_DIR:-$HOME/.cache/videocall-target}/release/bot"
WORK=$(mktemp -d /tmp/videocall-ab.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
# Every bot connection comes from 127.0.0.1: lift the per-address and total caps.
CAPS="MAX_CONNECTIONS=1000000 MAX_CONNECTIONS_PER_IP=1000000 MAX_ROOM_SIZE=100000"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() { # binary -> "pid port"
  local port wt; port=$(free_port); wt=$(free_port)
  # shellcheck disable=SC2086
  env RUST_LOG=warn LISTEN_ADDR="127.0.0.1:$port" WEBTRANSPORT_LISTEN_ADDR="127.0.0.1:$wt" $CAPS \
    "$1" >"$WORK/$(basename "$1")-$port.log" 2>&1 &
  local pid=$!
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
  echo "$pid $port"
}
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

read -r old_pid old_port < <(start "$old"); PIDS+=("$old_pid")
read -r new_pid new_port < <(start "$new"); PIDS+=("$new_pid")
HZ=$(getconf CLK_TCK)
printf 'run\tserver\tload\tdelivered\tcpu_s\tcpu_us_per_msg\tp99_ms\n'
for run in $(seq "$runs"); do
  for side in old new; do
    pid=${side}_pid port=${side}_port
    json="$WORK/$side-$run.json"
    load=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(ticks "${!pid}")
    "$BOT" load --server "ws://127.0.0.1:${!port}" --rooms "$rooms" --publishers 20 --duration 10 \
      --ramp 200 --settle 1 --drain 2 --room-prefix "ab-$run" --json "$json" >/dev/null 2>&1
    t1=$(ticks "${!pid}")
    jq -r --arg run "$run" --arg side "$side" --arg load "$load" --argjson cpu "$((t1 - t0))" --argjson hz "$HZ" \
      '(.delivery | map(.delivered) | add) as $d
       | [$run, $side, $load, $d, ($cpu / $hz), (($cpu / $hz) * 1e6 / $d * 1000 | round / 1000),
          (.delivery[-1].latency_ms.p99)] | @tsv' "$json"
  done
done
