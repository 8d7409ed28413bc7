#!/usr/bin/env bash
# Builds the browser app into yew-ui/dist: wasm32 release build + wasm-bindgen (pinned).
set -euo pipefail
cd "$(dirname "$0")/.."

#   UI_PROFILE=release (default)  optimised, what `make run` serves
#   UI_PROFILE=dev                 what `make test` serves: builds in a third of the time and
#                                  shares its dependencies with the wasm unit tests
target_dir="${CARGO_TARGET_DIR:-target}"
profile="${UI_PROFILE:-release}"
out=yew-ui/dist

if [ "$profile" = release ]; then
  cargo build --locked --release --target wasm32-unknown-unknown -p yew-ui
  built=release
else
  cargo build --locked --target wasm32-unknown-unknown -p yew-ui
  built=debug
fi
rm -rf "$out.tmp" && mkdir -p "$out.tmp/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$out.tmp/pkg" \
  "$target_dir/wasm32-unknown-unknown/$built/yew-ui.wasm"
cp yew-ui/static/index.html yew-ui/static/boot.js yew-ui/static/style.css "$out.tmp/"
rm -rf "$out" && mv "$out.tmp" "$out"
size=$(gzip -9 -c "$out/pkg/yew-ui_bg.wasm" | wc -c)
echo "==> built $out (wasm $(stat -c %s "$out/pkg/yew-ui_bg.wasm") bytes, $size gzipped)"
