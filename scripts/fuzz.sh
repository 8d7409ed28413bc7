#!/usr/bin/env bash
# Short fuzz runs of every target in fuzz/ (part of `make test`); installs what they need.
#   FUZZ_SECONDS=30   time per target (longer runs: FUZZ_SECONDS=3600 scripts/fuzz.sh)
#   scripts/fuzz.sh [target...]   only these targets
# A crash stops the run with the input saved under fuzz/artifacts/<target>/; reproduce it with
# `cargo +nightly fuzz run <target> <file>` and turn it into a regression test.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

CARGO_FUZZ_VERSION=0.13.1
# Outside the clone, so fresh clones (CI) reuse the instrumented build.
TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/videocall-target}/fuzz"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-30}"

say() { printf '==> %s\n' "$*"; }

rustup toolchain list | grep -q '^nightly' || {
  say "rustup toolchain install nightly"
  rustup toolchain install nightly --profile minimal
}
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  say "cargo install cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
for target in "${targets[@]}"; do
  say "fuzz $target for ${SECONDS_PER_TARGET}s"
  mkdir -p "corpus/$target"
  # Seeds: checked-in regression inputs, so every run replays them first.
  [ -d "seeds/$target" ] && cp -n "seeds/$target"/* "corpus/$target/" 2>/dev/null || true
  log=$(mktemp)
  if ! cargo +nightly fuzz run -O --target-dir "$TARGET_DIR" "$target" "corpus/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target" >&2
    exit 1
  fi
  grep -E '^(Done|stat::number_of_executed_units)' "$log" || true
  rm -f "$log"
done
