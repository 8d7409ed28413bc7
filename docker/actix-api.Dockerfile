# syntax=docker/dockerfile:1
# actix-api with the browser app inside. Build from the repository root:
#   docker build -f docker/actix-api.Dockerfile -t videocall/actix-api .

FROM rust:1.95-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The wasm-bindgen CLI must be exactly the version of the wasm-bindgen crate (scripts/deps.sh
# installs the same one; its own lock file pins a crate crates.io lacks, hence no --locked).
ARG WASM_BINDGEN_VERSION=0.2.130
RUN rustup target add wasm32-unknown-unknown \
 && cargo install wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}"
WORKDIR /src
COPY . .
# The cache mounts keep crates and build output between image builds; the binary is copied out
# of the target cache in the same step because the mount is gone afterwards.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    scripts/build-ui.sh \
 && cargo build --release --locked -p actix-api \
 && install -D target/release/actix-api /out/actix-api

FROM debian:bookworm-slim
# ca-certificates: async-nats trusts the system's CA roots (rustls-native-certs) for tls://
# NATS servers. Unpinned: bookworm only takes security fixes, which we want.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 videocall \
 && useradd --system --uid 10001 --gid videocall --no-create-home --shell /usr/sbin/nologin videocall \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/videocall
COPY --from=build /out/actix-api /usr/local/bin/actix-api
COPY --from=build /src/yew-ui/dist /srv/videocall-ui
COPY docker/http-health.sh /usr/local/bin/http-health
ENV UI_DIR=/srv/videocall-ui
# The default DATA_DIR, ./data, is /var/lib/videocall/data: the SQLite meetings database
# (without DATABASE_URL) and the generated token secret (without JWT_SECRET). Mount a volume
# there to keep them across container restarts.
WORKDIR /var/lib/videocall
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
# HTTP + WebSocket; UDP for WebTransport, served only in all-in-one mode (no NATS_URL).
EXPOSE 8080/tcp 4433/udp
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["http-health", "LISTEN_ADDR", "0.0.0.0:8080", "/healthz"]
ENTRYPOINT ["/usr/local/bin/actix-api"]
