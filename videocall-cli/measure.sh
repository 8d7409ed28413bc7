#!/usr/bin/env bash
# Measures videocall-cli on loopback: CPU and memory of `stream --test-pattern` at a given
# size and rate, and the capture-to-decode delay seen by `record` in the same meeting.
#   videocall-cli/measure.sh [SECONDS] [RESOLUTION] [FPS] [CODEC] [TRANSPORT: ws|wt]
# Extra stream flags: VIDEOCALL_STREAM_ARGS="--encoder-threads 1".
# Needs release builds: cargo build --release -p actix-api -p videocall-cli (or VIDEOCALL_BIN=dir).
set -euo pipefail

seconds="${1:-30}" resolution="${2:-1280x720}" fps="${3:-30}" codec="${4:-vp9}" transport="${5:-ws}"
bin="${VIDEOCALL_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/videocall-target}/release}"
work="$(mktemp -d)"
http_port=$((20000 + RANDOM % 20000)) wt_port=$((20000 + RANDOM % 20000))
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

LISTEN_ADDR="127.0.0.1:$http_port" WEBTRANSPORT_LISTEN_ADDR="127.0.0.1:$wt_port" \
  RUST_LOG=warn "$bin/actix-api" >"$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http_port/healthz" >/dev/null && break; sleep 0.1; done

if [ "$transport" = wt ]; then
  hash="$(curl -sf "http://127.0.0.1:$http_port/api/v1/webtransport/certificate-hash" | sed 's/.*"hex":"\([0-9a-f]*\)".*/\1/')"
  join=(--url "https://127.0.0.1:$wt_port" --cert-hash "$hash" --meeting-id measure)
else
  join=(--url "ws://127.0.0.1:$http_port" --meeting-id measure)
fi

"$bin/videocall-cli" record "${join[@]}" --output-dir "$work/rec" --duration $((seconds + 6)) --quiet \
  >"$work/record.out" 2>"$work/record.err" &
record_pid=$!
pids+=($record_pid)
sleep 1
"$bin/videocall-cli" stream "${join[@]}" --user-id streamer --test-pattern \
  --resolution "$resolution" --fps "$fps" --codec "$codec" --duration "$seconds" --quiet \
  ${VIDEOCALL_STREAM_ARGS:-} \
  >"$work/stream.out" 2>"$work/stream.err" &
stream_pid=$!
pids+=($stream_pid)

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sleep 5 # warm-up: connection, first key frame
t0=$(date +%s.%N) c0=$(ticks $stream_pid) r0=$(ticks $record_pid)
sleep $((seconds - 8))
t1=$(date +%s.%N) c1=$(ticks $stream_pid) r1=$(ticks $record_pid)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$stream_pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$stream_pid/status")
hz=$(getconf CLK_TCK)
wait $stream_pid
wait $record_pid || true

awk -v c0="$c0" -v c1="$c1" -v r0="$r0" -v r1="$r1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
    -v rss="$rss" -v hwm="$hwm" 'BEGIN {
  printf "stream CPU %.0f%% of one core, RSS %.1f MB (peak %.1f MB); record CPU %.0f%%\n",
    (c1 - c0) / hz / (t1 - t0) * 100, rss / 1024, hwm / 1024, (r1 - r0) / hz / (t1 - t0) * 100 }'
cat "$work/stream.out" "$work/record.out"
