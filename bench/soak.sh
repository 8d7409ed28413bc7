#!/usr/bin/env bash
# Soak test (not in CI): an all-in-one actix-api under steady bot load for SOAK_SECS (default
# 1800), RSS sampled every 10 s; writes the samples to bench/soak-rss.csv and the bot's report and
# the RSS growth from the first minute's end to bench/soak-summary.txt (and prints both).
#   SOAK_ROOMS=2 SOAK_SECS=1800 bench/soak.sh
# Pick SOAK_ROOMS (20-person meetings) at about half the saturation `make bench` found.
set -euo pipefail
# Every bot connection comes from 127.0.0.1: lift the per-address and total caps.
BENCH_CAPS="MAX_CONNECTIONS=1000000 MAX_CONNECTIONS_PER_IP=1000000 MAX_ROOM_SIZE=100000"
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/videocall-target}"
BIN="$CARGO_TARGET_DIR/release"
ROOMS="${SOAK_ROOMS:-2}"; SECS="${SOAK_SECS:-1800}"
CSV=bench/soak-rss.csv; SUMMARY=bench/soak-summary.txt
cargo build --release --locked -p bot -p actix-api
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env RUST_LOG=warn LISTEN_ADDR="127.0.0.1:$PORT" $BENCH_CAPS WEBTRANSPORT_LISTEN_ADDR="127.0.0.1:$WT" "$BIN/actix-api" >/tmp/soak-api.log 2>&1 &
API=$!
trap 'kill $API 2>/dev/null || true' EXIT
sleep 1
"$BIN/bot" load --server "ws://127.0.0.1:$PORT" --rooms "$ROOMS" --publishers 20 --duration "$SECS" \
  --room-prefix soak --json /tmp/soak.json >/tmp/soak-bot.txt 2>&1 &
BOT=$!
echo "seconds,rss_kib" >"$CSV"
start=$(date +%s)
while kill -0 "$BOT" 2>/dev/null; do
  echo "$(( $(date +%s) - start )),$(awk '/^VmRSS/{print $2}' "/proc/$API/status")" >>"$CSV"
  sleep 10
done
{
echo "bench/soak.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD), $ROOMS rooms x 20 publishers, $SECS s"
cat /tmp/soak-bot.txt
awk -F, 'NR>1 { if ($1 >= 60 && base == "") base = $2; last = $2; if ($2 > max) max = $2 }
  END { printf "RSS after 1 min %d KiB, at end %d KiB, max %d KiB: growth %+d KiB\n", base, last, max, last - base }' "$CSV"
echo "samples: $CSV"
} | tee "$SUMMARY"
