#!/usr/bin/env bash
# `make bench`: the relay against a null forwarder on this machine; writes BENCHMARKS.md.
#
# Starts a nats-server, the null forwarder, an all-in-one actix-api (in-process bus, embedded
# WebTransport) and two actix-api instances over NATS, then drives each with `bot load` through
# the scenarios below. Server CPU seconds and RSS come from /proc/<pid>, NATS message counts
# from nats-server's /varz. Every process started here is stopped on exit.
#
#   BENCH_QUICK=1   shorter runs and fewer sizes (a smoke test of the script, ~3 min)
#   BENCH_OUT=path  where to write the report (default: BENCHMARKS.md at the repo root)
set -euo pipefail
# Every bot connection comes from 127.0.0.1: lift the per-address and total caps.
BENCH_CAPS="MAX_CONNECTIONS=1000000 MAX_CONNECTIONS_PER_IP=1000000 MAX_ROOM_SIZE=100000"
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/videocall-target}"
BIN="$CARGO_TARGET_DIR/release"
OUT="${BENCH_OUT:-$ROOT/BENCHMARKS.md}"
QUICK="${BENCH_QUICK:-0}"
WORK=$(mktemp -d /tmp/videocall-bench.XXXXXX)
PIDS=()

say() { printf '==> %s\n' "$*" >&2; }
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

command -v jq >/dev/null || { say "apt-get install jq"; apt-get install -y -qq jq >/dev/null; }
command -v nats-server >/dev/null || scripts/deps.sh test
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

say "building release binaries"
cargo build --release --locked -p bot -p null-forwarder -p actix-api

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 200); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; say "no answer from $1"; exit 1; }

NATS_PORT=$(free_port); NATS_MON=$(free_port)
nats-server -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MON" >"$WORK/nats.log" 2>&1 & PIDS+=($!)
wait_http "http://127.0.0.1:$NATS_MON/healthz"

NULL_PORT=$(free_port)
"$BIN/null-forwarder" --listen "127.0.0.1:$NULL_PORT" >"$WORK/null.log" 2>&1 & NULL_PID=$!; PIDS+=($!)

start_api() { # name http_port [env...]; prints the pid (the caller adds it to PIDS: this runs
  # in a subshell)
  local name=$1 port=$2; shift 2
  env RUST_LOG=warn LISTEN_ADDR="127.0.0.1:$port" $BENCH_CAPS "$@" "$BIN/actix-api" >"$WORK/$name.log" 2>&1 &
  echo $!
}
AIO_PORT=$(free_port); AIO_WT=$(free_port)
AIO_PID=$(start_api aio "$AIO_PORT" WEBTRANSPORT_LISTEN_ADDR="127.0.0.1:$AIO_WT")
N1_PORT=$(free_port); N2_PORT=$(free_port)
N1_PID=$(start_api nats1 "$N1_PORT" NATS_URL="nats://127.0.0.1:$NATS_PORT")
N2_PID=$(start_api nats2 "$N2_PORT" NATS_URL="nats://127.0.0.1:$NATS_PORT")
PIDS+=("$AIO_PID" "$N1_PID" "$N2_PID")
for port in "$AIO_PORT" "$N1_PORT" "$N2_PORT"; do wait_http "http://127.0.0.1:$port/readyz"; done
sleep 0.5

# target name -> bot server flags and server pids
declare -A FLAGS PIDS_OF
FLAGS[null]="--server ws://127.0.0.1:$NULL_PORT";                PIDS_OF[null]="$NULL_PID"
FLAGS[relay-ws]="--server ws://127.0.0.1:$AIO_PORT";             PIDS_OF[relay-ws]="$AIO_PID"
FLAGS[relay-wt]="--transport webtransport --server https://127.0.0.1:$AIO_WT --cert-from http://127.0.0.1:$AIO_PORT"
PIDS_OF[relay-wt]="$AIO_PID"
FLAGS[nats-2x]="--server ws://127.0.0.1:$N1_PORT --server ws://127.0.0.1:$N2_PORT"
PIDS_OF[nats-2x]="$N1_PID $N2_PID"
declare -A METRICS_OF=([relay-ws]="$AIO_PORT" [relay-wt]="$AIO_PORT" [nats-2x]="$N1_PORT $N2_PORT")

cpu_ticks() { local t=0; for pid in $1; do t=$((t + $(awk '{print $14+$15}' "/proc/$pid/stat"))); done; echo $t; }
rss_kib() { local t=0; for pid in $1; do t=$((t + $(awk '/^VmRSS/{print $2}' "/proc/$pid/status"))); done; echo $t; }
nats_var() { curl -fs "http://127.0.0.1:$NATS_MON/varz" | jq ".$1"; }
# Client packets the servers of a target received, from their /metrics (0 for the null forwarder).
packets_in() {
  local t=0
  for port in ${METRICS_OF[$1]:-}; do
    t=$((t + $(curl -fs "http://127.0.0.1:$port/metrics" | awk '$1=="videocall_packets_in_total"{print $2}')))
  done
  echo $t
}
HZ=$(getconf CLK_TCK)

RESULTS="$WORK/results.jsonl"; : >"$RESULTS"
# run_bot scenario label target [bot flags...]: one measured run, appended to $RESULTS.
run_bot() {
  local scenario=$1 label=$2 target=$3; shift 3
  local pids=${PIDS_OF[$target]} json="$WORK/$scenario-$label-$target.json"
  local cpu0 in0 out0 pin0 peak=0 load before
  cpu0=$(cpu_ticks "$pids"); in0=$(nats_var in_msgs); out0=$(nats_var out_msgs)
  pin0=$(packets_in "$target"); before=$(rss_kib "$pids")
  load=$(cut -d' ' -f1 /proc/loadavg)
  # shellcheck disable=SC2086
  "$BIN/bot" load ${FLAGS[$target]} --room-prefix "$scenario-$label" --json "$json" "$@" \
    >"$WORK/$scenario-$label-$target.txt" 2>&1 & local bot=$!
  while kill -0 "$bot" 2>/dev/null; do
    local rss; rss=$(rss_kib "$pids"); [ "$rss" -gt "$peak" ] && peak=$rss; sleep 0.5
  done
  wait "$bot" || { say "bot failed: $(tail -3 "$WORK/$scenario-$label-$target.txt")"; return 0; }
  local cpu1 in1 out1 pin1
  cpu1=$(cpu_ticks "$pids"); in1=$(nats_var in_msgs); out1=$(nats_var out_msgs)
  pin1=$(packets_in "$target")
  jq -c --arg s "$scenario" --arg l "$label" --arg t "$target" --arg load "$load" \
    --argjson cpu "$(( cpu1 - cpu0 ))" --argjson hz "$HZ" --argjson rss "$peak" --argjson before "$before" --argjson pin "$(( pin1 - pin0 ))" \
    --argjson nin "$(( in1 - in0 ))" --argjson nout "$(( out1 - out0 ))" --arg cmd "bot load ${FLAGS[$target]} $*" \
    '{scenario:$s, label:$l, target:$t, load:$load, cpu_s:($cpu/$hz), rss_kib:$rss, rss_before_kib:$before, packets_in:$pin, nats_in:$nin, nats_out:$nout, command:$cmd, report:.}' \
    "$json" >>"$RESULTS"
  say "$scenario $label $target: $(jq -r '.delivery[-1] | "\(.msgs_per_sec|floor) msgs/s, loss \(.loss_pct)%, p99 \(.latency_ms.p99) ms"' "$json")"
}

LOAD_START=$(uptime)
if [ "$QUICK" = 1 ]; then DUR=4; SIZES="1 2"; BIG_SUBS=100; AUDIO_LISTENERS=200; IDLE=200
else DUR=10; SIZES="1 2 4 6 8 10 12 14 16"; BIG_SUBS=500; AUDIO_LISTENERS=1000; IDLE=1000; fi
COMMON=(--duration "$DUR" --ramp 200 --settle 1 --drain 2)

# 1. Idle connections first, on fresh servers: RSS per connection (rooms of 10, no heartbeats).
for target in null relay-ws; do
  run_bot idle "$IDLE" "$target" --rooms $((IDLE / 10)) --publishers 0 --subscribers 10 \
    --subscriber-heartbeat 0 --duration 6 --ramp 400 --settle 1 --drain 0
done

# 2. 20-person meetings, everyone publishing, more rooms until loss appears (> 0.1%) or the
# machine cannot even send the load (the bot sent < 90% of the nominal 80 packets/s each).
# `saturated` is true for such a run; the last size before it is the target's saturation.
saturated() { # rooms: of the last result
  tail -1 "$RESULTS" | jq -e --argjson nominal $(($1 * 20 * 80 * DUR)) \
    '.report.delivery[-1] | .loss_pct > 0.1 or .sent < 0.9 * $nominal' >/dev/null
}
declare -A SATURATION
for target in null relay-ws nats-2x relay-wt; do
  SATURATION[$target]=0
  for rooms in $SIZES; do
    run_bot meetings "$rooms" "$target" --rooms "$rooms" --publishers 20 "${COMMON[@]}"
    saturated "$rooms" && break
    SATURATION[$target]=$rooms
  done
done

# 2b. Added latency at 70% of the relay's saturation: the relay and the null forwarder at the
# same load, alternating, three times each (rooms rounded to the nearest whole meeting).
sat=${SATURATION[relay-ws]}
LAT_ROOMS=$(( (sat * 7 + 5) / 10 )); [ "$LAT_ROOMS" -ge 1 ] || LAT_ROOMS=1
for run in 1 2 3; do
  for target in null relay-ws; do
    run_bot latency "$LAT_ROOMS" "$target" --rooms "$LAT_ROOMS" --publishers 20 "${COMMON[@]}"
  done
done

# 3. One publisher to many subscribers (listeners send no heartbeats).
for target in null relay-ws nats-2x; do
  run_bot webinar "$BIG_SUBS" "$target" --publishers 1 --subscribers "$BIG_SUBS" \
    --subscriber-heartbeat 0 "${COMMON[@]}"
done

# 4. Audio only: 10 speakers to many listeners.
for target in null relay-ws nats-2x; do
  run_bot audio "$AUDIO_LISTENERS" "$target" --publishers 10 --subscribers "$AUDIO_LISTENERS" \
    --video-fps 0 --subscriber-heartbeat 0 "${COMMON[@]}"
done

cp "$RESULTS" "$ROOT/bench/results.jsonl"
bench/report.sh "$RESULTS" "$LOAD_START" >"$OUT"
say "wrote $OUT (raw results in bench/results.jsonl; logs in $WORK)"
