#!/bin/bash
# Container health check without curl: one HTTP/1.0 GET over bash's /dev/tcp, success on a 200.
# The runtime images are debian:bookworm-slim, which has bash but no HTTP client; installing
# curl would add it and its libraries to every image just for this.
#   http-health ENV_VAR DEFAULT_ADDR PATH
# The port is taken from the same variable the server reads (falling back to its default), so
# moving the server with LISTEN_ADDR / HEALTH_LISTEN_URL moves the check with it.
set -euo pipefail
addr="${!1:-$2}"
port="${addr##*:}"
exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$3" >&3
IFS= read -r -t 3 status <&3
[[ "$status" == "HTTP/1."?" 200 "* ]]
