# syntax=docker/dockerfile:1
# videocall-cli, the headless participant, for linux/amd64 and linux/arm64 (e.g. a Raspberry Pi).
# Build from the repository root:
#   docker buildx build --platform linux/arm64 -f docker/videocall-cli.Dockerfile -t videocall/cli .

# The build stage runs on the builder's platform and cross-compiles (docker/build-cli.sh).
FROM --platform=$BUILDPLATFORM rust:1.95-bookworm AS build
ARG TARGETARCH
ARG BUILDARCH
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,id=videocall-cli-target-${TARGETARCH} \
    TARGETARCH="${TARGETARCH}" BUILDARCH="${BUILDARCH}" docker/build-cli.sh

FROM debian:bookworm-slim
# The CLI's only shared libraries besides libc (ldd): libvpx (VP8/VP9) and ALSA (microphone);
# libopus is linked statically. ca-certificates for wss:// and https:// servers with public
# certificates. Unpinned: bookworm only takes security fixes, which we want.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libvpx7 libasound2 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 videocall \
 && useradd --system --uid 10001 --gid videocall --groups video,audio --no-create-home \
      --shell /usr/sbin/nologin videocall
COPY --from=build /out/videocall-cli /usr/local/bin/videocall-cli
# In the video and audio groups, so `--device /dev/video0` and `--device /dev/snd` are usable
# when the host gives them Debian's usual group ids (44 and 29).
USER 10001:10001
# A client: it serves nothing, so there is nothing for a health check to ask. Whether it still
# streams shows in its logs (VIDEOCALL_LOG_FORMAT=json) and its exit code.
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/videocall-cli"]
