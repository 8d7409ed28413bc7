#!/usr/bin/env bash
# Fault measurements under bot load (printed and written to bench/faults-results.txt; read in
# bench/notes.md):
#   Slow receiver: one listener in a 20-person meeting stops reading for 10 s (a raw socket
#   with a 16 KiB receive buffer); the others' loss and latency against a run without it,
#   server RSS, and what the server did to the slow one (/metrics).
#   NATS outage: two actix-api instances over nats-server carry 2 rooms of 10 publishers
#   (participants alternate between them); nats-server is killed for 30 s mid-run and restarted
#   on the same port. Prints /readyz over time, recovery time, and what was delivered per second.
# Uses the release binaries `make bench` builds. Takes ~3 min (SLOW_REPEATS=3 pairs of slow
# receiver runs, then the outage).
set -euo pipefail
# Every bot connection comes from 127.0.0.1: lift the per-address and total caps.
BENCH_CAPS="MAX_CONNECTIONS=1000000 MAX_CONNECTIONS_PER_IP=1000000 MAX_ROOM_SIZE=100000"
cd "$(dirname "$0")/.."
exec > >(tee bench/faults-results.txt) 2>&1
echo "bench/faults.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD), load $(cut -d' ' -f1-3 /proc/loadavg)"
BIN="${CARGO_TARGET_DIR:-$HOME/.cache/videocall-target}/release"
WORK=$(mktemp -d /tmp/videocall-faults.XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ready() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz" || echo 000; }
rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }

NATS_PORT=$(free_port)
start_nats() { nats-server -a 127.0.0.1 -p "$NATS_PORT" >>"$WORK/nats.log" 2>&1 & NATS_PID=$!; PIDS+=($!); }
start_nats
P1=$(free_port); P2=$(free_port)
for port in "$P1" "$P2"; do
  env RUST_LOG=warn LISTEN_ADDR="127.0.0.1:$port" $BENCH_CAPS NATS_URL="nats://127.0.0.1:$NATS_PORT" \
    "$BIN/actix-api" >"$WORK/api-$port.log" 2>&1 & PIDS+=($!)
done
API1=${PIDS[1]}; API2=${PIDS[2]}
for _ in $(seq 100); do [ "$(ready "$P1")$(ready "$P2")" = 200200 ] && break; sleep 0.1; done

# --- Slow receiver (on the first instance alone; rooms do not span instances here) ---
metric() { curl -s "http://127.0.0.1:$P1/metrics" | awk -v m="$1" '$1==m{print $2}'; }
slow_run() { # label, with_stalled
  "$BIN/bot" load --server "ws://127.0.0.1:$P1" --publishers 20 --duration 20 \
    --room-prefix "$1" --json "$WORK/$1.json" >"$WORK/$1.txt" 2>&1 & local bot=$!
  if [ "$2" = 1 ]; then
    sleep 3 # connected, sending
    python3 - "$P1" "$1-r0" <<'PY' &
import socket, sys, time
port, room = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
s.connect(("127.0.0.1", port))
s.sendall((f"GET /lobby/stalled/{room} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
time.sleep(10)   # reads nothing
s.close()
PY
  fi
  local peak=0 m
  while kill -0 "$bot" 2>/dev/null; do m=$(rss "$API1"); [ "$m" -gt "$peak" ] && peak=$m; sleep 0.25; done
  wait "$bot" || true
  jq -r --arg l "$1" --argjson rss "$peak" '.delivery[-1] | "\($l): delivered \(.delivered)/\(.expected), loss \(.loss_pct)%, p50 \(.latency_ms.p50) p99 \(.latency_ms.p99) max \(.latency_ms.max) ms; server peak RSS \($rss/1024|floor) MiB"' "$WORK/$1.json"
}
echo "== slow receiver (alternating runs without and with the stalled listener)"
closes0=$(metric 'videocall_closed_sessions_total{reason="slow_receiver"}')
for run in $(seq "${SLOW_REPEATS:-3}"); do
  slow_run "slow-baseline-$run" 0
  slow_run "slow-stalled-$run" 1
done
echo "slow_receiver closes during the stalled runs: $(( $(metric 'videocall_closed_sessions_total{reason="slow_receiver"}') - closes0 ))"
curl -s "http://127.0.0.1:$P1/metrics" | grep '^videocall_dropped_packets_total'

echo "== NATS outage"
DURATION=60; KILL_AT=15; OUTAGE=30
"$BIN/bot" load --server "ws://127.0.0.1:$P1" --server "ws://127.0.0.1:$P2" --rooms 2 \
  --publishers 10 --duration "$DURATION" --room-prefix outage --json "$WORK/outage.json" \
  >"$WORK/outage.txt" 2>&1 & BOT=$!
sleep 1.5 # connected and settled
t0=$(date +%s.%N)
rss0=$(( $(rss "$API1") + $(rss "$API2") )); peak=$rss0
killed=""; restarted=""; recovered=""
while kill -0 "$BOT" 2>/dev/null; do
  now=$(date +%s.%N); t=$(echo "$now - $t0" | bc)
  if [ -z "$killed" ] && [ "$(echo "$t >= $KILL_AT" | bc)" = 1 ]; then
    kill "$NATS_PID"; wait "$NATS_PID" 2>/dev/null || true; killed=$t; echo "t=${t}s nats-server killed"
  fi
  if [ -n "$killed" ] && [ -z "$restarted" ] && [ "$(echo "$t >= $KILL_AT + $OUTAGE" | bc)" = 1 ]; then
    start_nats; restarted=$t; echo "t=${t}s nats-server restarted"
  fi
  r="$(ready "$P1")/$(ready "$P2")"
  if [ -n "$restarted" ] && [ -z "$recovered" ] && [ "$r" = 200/200 ]; then
    recovered=$t; echo "t=${t}s both /readyz 200 again ($(echo "$t - $restarted" | bc) s after the restart)"
  fi
  m=$(( $(rss "$API1") + $(rss "$API2") )); [ "$m" -gt "$peak" ] && peak=$m
  printf 't=%6.2fs readyz %s rss %d MiB\n' "$t" "$r" $((m / 1024)) >>"$WORK/readyz.log"
  sleep 0.25
done
wait "$BOT" || true
echo "readyz 503 samples during the outage: $(grep -c '503' "$WORK/readyz.log" || true)"
echo "servers alive after the run: $(curl -s "http://127.0.0.1:$P1/healthz") $(curl -s "http://127.0.0.1:$P2/healthz")"
echo "server RSS: $((rss0 / 1024)) MiB before, $((peak / 1024)) MiB peak"
cat "$WORK/outage.txt"
echo "deliveries per second (t = seconds after the bot started sending):"
jq -r '.timeline | (.[0][0]) as $s | .[] | "  t=\(.[0] - $s)s \(.[1])"' "$WORK/outage.json" | paste -sd' ' | fold -w 120
