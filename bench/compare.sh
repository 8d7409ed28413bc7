#!/usr/bin/env bash
# Several servers at the same load, in alternating runs, with each server pinned to one core and
# the load generator to another: server CPU per delivered message, syscalls per delivered
# message (perf), latency and loss. For before/after comparisons and the null-forwarder ratio.
#
#   bench/compare.sh [options] NAME=BINARY...
#     -r ROOMS      rooms (default 4)
#     -p N          publishers per room (default 20: meetings where everyone publishes)
#     -s N          subscribers per room, who only listen (default 0)
#     -n RUNS       rounds; each round runs every target once, in order (default 3)
#     -d SECONDS    measured seconds per run (default 10)
#     -t TRANSPORT  websocket (default) or webtransport (actix-api targets only)
#     -o FILE       append one JSON object per run here (default bench/compare-results.jsonl)
#     -x ARGS       extra `bot load` arguments (e.g. -x "--video-fps 15")
#   A BINARY named null-forwarder is started with --listen; any other is an actix-api.
#   SERVER_CPU / BOT_CPU choose the cores (default 1 and 0).
#
# Example: bench/compare.sh null=$T/null-forwarder before=/tmp/actix-api-old after=$T/actix-api
# The bot comes from $CARGO_TARGET_DIR/release. Loopback only; every process started here is
# stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
rooms=4 publishers=20 subscribers=0 runs=3 secs=10 transport=websocket out=bench/compare-results.jsonl extra=""
while getopts "r:p:s:n:d:t:o:x:" opt; do
  case $opt in
    r) rooms=$OPTARG ;; p) publishers=$OPTARG ;; s) subscribers=$OPTARG ;; n) runs=$OPTARG ;; d) secs=$OPTARG ;; t) transport=$OPTARG ;;
    o) out=$OPTARG ;; x) extra=$OPTARG ;; *) sed -n '2,20p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { sed -n '2,20p' "$0"; exit 2; }
SERVER_CPU=${SERVER_CPU:-1} BOT_CPU=${BOT_CPU:-0}
BOT="${CARGO_TARGET_DIR:-$HOME/.cache/videocall-target}/release/bot"
WORK=$(mktemp -d /tmp/videocall-compare.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
# Every bot connection comes from 127.0.0.1: lift the per-address and total caps.
CAPS="MAX_CONNECTIONS=1000000 MAX_CONNECTIONS_PER_IP=1000000 MAX_ROOM_SIZE=100000"
SYSCALLS="raw_syscalls:sys_enter,syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendmmsg,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_recvfrom,syscalls:sys_enter_recvmsg,syscalls:sys_enter_recvmmsg,syscalls:sys_enter_read,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex"
command -v jq >/dev/null || apt-get install -y -qq jq >/dev/null
command -v perf >/dev/null || apt-get install -y -qq linux-perf >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }

declare -A PID_OF FLAGS_OF
names=()
for target in "$@"; do
  name=${target%%=*} bin=${target#*=}
  port=$(free_port)
  if [ "$(basename "$bin")" = null-forwarder ]; then
    [ "$transport" = websocket ] || { echo "$name: the null forwarder speaks WebSocket only" >&2; exit 2; }
    taskset -c "$SERVER_CPU" "$bin" --listen "127.0.0.1:$port" >"$WORK/$name.log" 2>&1 &
    FLAGS_OF[$name]="--server ws://127.0.0.1:$port"
  else
    wt=$(free_port)
    # shellcheck disable=SC2086
    env RUST_LOG=warn LISTEN_ADDR="127.0.0.1:$port" WEBTRANSPORT_LISTEN_ADDR="127.0.0.1:$wt" $CAPS \
      taskset -c "$SERVER_CPU" "$bin" >"$WORK/$name.log" 2>&1 &
    if [ "$transport" = webtransport ]; then
      FLAGS_OF[$name]="--transport webtransport --server https://127.0.0.1:$wt --cert-from http://127.0.0.1:$port"
    else
      FLAGS_OF[$name]="--server ws://127.0.0.1:$port"
    fi
  fi
  PID_OF[$name]=$!; PIDS+=($!); names+=("$name")
  wait_port "$port" || { echo "$name did not start: $(tail -3 "$WORK/$name.log")" >&2; exit 1; }
done
sleep 1

HZ=$(getconf CLK_TCK)
printf 'run\ttarget\tload\tdelivered\tcpu_s\tcpu_us_per_msg\tsyscalls_per_msg\tsends_per_msg\tp50_ms\tp99_ms\tloss_pct\trss_before_mib\trss_peak_mib\n'
for run in $(seq "$runs"); do
  for name in "${names[@]}"; do
    pid=${PID_OF[$name]} json="$WORK/$name-$run.json" perf_out="$WORK/$name-$run.perf"
    load=$(cut -d' ' -f1 /proc/loadavg)
    perf stat -x, -e "$SYSCALLS" -p "$pid" -o "$perf_out" & perf_pid=$!
    sleep 0.2
    t0=$(ticks "$pid") rss0=$(rss_kib "$pid") peak=0
    # shellcheck disable=SC2086
    taskset -c "$BOT_CPU" "$BOT" load ${FLAGS_OF[$name]} --rooms "$rooms" --publishers "$publishers" \
      --subscribers "$subscribers" --duration "$secs" --ramp 200 --settle 1 --drain 2 \
      --room-prefix "cmp-$run-$name" --json "$json" $extra >"$WORK/$name-$run.txt" 2>&1 & bot=$!
    while kill -0 "$bot" 2>/dev/null; do
      rss=$(rss_kib "$pid"); [ "$rss" -gt "$peak" ] && peak=$rss; sleep 0.5
    done
    wait "$bot" || { echo "bot failed: $(tail -3 "$WORK/$name-$run.txt")" >&2; exit 1; }
    t1=$(ticks "$pid")
    kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
    count() { awk -F, -v e="$1" '$3==e {print $1+0}' "$perf_out"; }
    jq -c --arg run "$run" --arg name "$name" --arg load "$load" --arg transport "$transport" \
      --arg cmd "bot load ${FLAGS_OF[$name]} --rooms $rooms --publishers $publishers --subscribers $subscribers --duration $secs $extra" \
      --argjson cpu "$((t1 - t0))" --argjson hz "$HZ" --argjson rss0 "$rss0" --argjson peak "$peak" \
      --argjson sys "$(count raw_syscalls:sys_enter)" \
      --argjson writes "$(( $(count syscalls:sys_enter_sendto) + $(count syscalls:sys_enter_sendmsg) + $(count syscalls:sys_enter_sendmmsg) + $(count syscalls:sys_enter_write) + $(count syscalls:sys_enter_writev) ))" \
      --argjson reads "$(( $(count syscalls:sys_enter_recvfrom) + $(count syscalls:sys_enter_recvmsg) + $(count syscalls:sys_enter_recvmmsg) + $(count syscalls:sys_enter_read) ))" \
      --argjson epoll "$(count syscalls:sys_enter_epoll_wait)" --argjson futex "$(count syscalls:sys_enter_futex)" \
      '(.delivery | map(.delivered) | add) as $d | {run: ($run|tonumber), target: $name, transport: $transport,
        load: $load, rooms: .params.rooms, delivered: $d, cpu_s: ($cpu / $hz),
        cpu_us_per_msg: (($cpu / $hz) * 1e6 / $d), syscalls: $sys, syscalls_per_msg: ($sys / $d),
        writes_per_msg: ($writes / $d), reads_per_msg: ($reads / $d), epoll_waits: $epoll, futex: $futex,
        p50_ms: .delivery[-1].latency_ms.p50, p99_ms: .delivery[-1].latency_ms.p99,
        loss_pct: .delivery[-1].loss_pct, connected: .setup.connected, rss_before_kib: $rss0,
        rss_peak_kib: $peak, command: $cmd}' "$json" | tee -a "$out" |
      jq -r '[.run, .target, .load, .delivered, .cpu_s, (.cpu_us_per_msg*1000|round/1000),
        (.syscalls_per_msg*1000|round/1000), (.writes_per_msg*1000|round/1000), .p50_ms, .p99_ms, .loss_pct,
        (.rss_before_kib/1024|floor), (.rss_peak_kib/1024|floor)] | @tsv'
  done
done
