#!/usr/bin/env bash
# Soak test (not in CI): an all-in-one actix-api under steady bot load for SOAK_SECS (default
# 1800), RSS sampled every 10 s; prints the samples and the growth from the first minute's end.
#   SOAK_ROOMS=2 SOAK_SECS=1800 bench/soak.sh
# Pick SOAK_ROOMS (20-person meetings) at about half the saturation `make bench` found.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${CARGO_TARGET_DIR:-$HOME/.cache/videocall-target}/release"
ROOMS="${SOAK_ROOMS:-2}"; SECS="${SOAK_SECS:-1800}"
cargo build --release --locked -p bot -p actix-api
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUST_LOG=warn LISTEN_ADDR="127.0.0.1:$PORT" WEBTRANSPORT_LISTEN_ADDR="127.0.0.1:$WT" "$BIN/actix-api" >/tmp/soak-api.log 2>&1 &
API=$!
trap 'kill $API 2>/dev/null || true' EXIT
sleep 1
"$BIN/bot" load --server "ws://127.0.0.1:$PORT" --rooms "$ROOMS" --publishers 20 --duration "$SECS" \
  --room-prefix soak --json /tmp/soak.json >/tmp/soak-bot.txt 2>&1 &
BOT=$!
echo "seconds,rss_kib" >/tmp/soak-rss.csv
start=$(date +%s)
while kill -0 "$BOT" 2>/dev/null; do
  echo "$(( $(date +%s) - start )),$(awk '/^VmRSS/{print $2}' "/proc/$API/status")" >>/tmp/soak-rss.csv
  sleep 10
done
cat /tmp/soak-bot.txt
awk -F, 'NR>1 { if ($1 >= 60 && base == "") base = $2; last = $2; if ($2 > max) max = $2 }
  END { printf "RSS after 1 min %d KiB, at end %d KiB, max %d KiB: growth %+d KiB\n", base, last, max, last - base }' /tmp/soak-rss.csv
echo "samples: /tmp/soak-rss.csv"
