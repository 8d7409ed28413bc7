#!/bin/bash
# Builds videocall-cli inside docker/videocall-cli.Dockerfile's build stage for the image's
# platform (TARGETARCH), on the builder's own (BUILDARCH): natively when they match, otherwise
# with Debian's cross compiler and the target architecture's libraries, as `make cli-aarch64`
# does. Cross-building avoids running rustc under QEMU, which is many times slower.
# Writes the binary to /out/videocall-cli.
set -euo pipefail

case "$TARGETARCH" in
  amd64) rust_target=x86_64-unknown-linux-gnu; gnu=x86_64-linux-gnu ;;
  arm64) rust_target=aarch64-unknown-linux-gnu; gnu=aarch64-linux-gnu ;;
  *) echo "videocall-cli images are built for amd64 and arm64, not $TARGETARCH" >&2; exit 1 ;;
esac

# Build tools: cmake builds libopus, libclang generates nokhwa's V4L2 bindings.
packages=(pkg-config cmake libclang-dev)
if [ "$TARGETARCH" = "$BUILDARCH" ]; then
  packages+=(libvpx-dev libasound2-dev)
else
  dpkg --add-architecture "$TARGETARCH"
  packages+=("gcc-${gnu//_/-}" "g++-${gnu//_/-}" "libc6-dev-${TARGETARCH}-cross"
    "libvpx-dev:$TARGETARCH" "libasound2-dev:$TARGETARCH" "linux-libc-dev:$TARGETARCH")
  upper=${rust_target//-/_}
  export "CARGO_TARGET_${upper^^}_LINKER=${gnu}-gcc"
  export "CC_${upper}=${gnu}-gcc" "CXX_${upper}=${gnu}-g++"
  export PKG_CONFIG_ALLOW_CROSS=1 PKG_CONFIG_PATH="/usr/lib/${gnu}/pkgconfig"
  export BINDGEN_EXTRA_CLANG_ARGS="--target=${gnu} -I/usr/include/${gnu}"
fi
apt-get update
# Unpinned: the versions are bookworm's, which only take security fixes.
apt-get install -y --no-install-recommends "${packages[@]}"
rustup target add "$rust_target"

cargo build --release --locked -p videocall-cli --target "$rust_target"
install -D "target/$rust_target/release/videocall-cli" /out/videocall-cli
