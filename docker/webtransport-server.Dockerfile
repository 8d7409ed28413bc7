# syntax=docker/dockerfile:1
# webtransport-server, the WebTransport relay of split deployments. Build from the repository root:
#   docker build -f docker/webtransport-server.Dockerfile -t videocall/webtransport-server .

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The cache mounts keep crates and build output between image builds; the binary is copied out
# of the target cache in the same step because the mount is gone afterwards.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p webtransport-server \
 && install -D target/release/webtransport-server /out/webtransport-server

FROM debian:bookworm-slim
# ca-certificates: async-nats trusts the system's CA roots (rustls-native-certs) for tls://
# NATS servers. Unpinned: bookworm only takes security fixes, which we want.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 videocall \
 && useradd --system --uid 10001 --gid videocall --no-create-home --shell /usr/sbin/nologin videocall
COPY --from=build /out/webtransport-server /usr/local/bin/webtransport-server
COPY docker/http-health.sh /usr/local/bin/http-health
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
# WebTransport (QUIC) on UDP; /healthz and /readyz on TCP.
EXPOSE 4433/udp 4434/tcp
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["http-health", "HEALTH_LISTEN_URL", "0.0.0.0:4434", "/healthz"]
ENTRYPOINT ["/usr/local/bin/webtransport-server"]
