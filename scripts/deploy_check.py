#!/usr/bin/env python3
"""Checks the deployment files against the code; run by scripts/deploy-check.sh in its venv.

Lints and renders the Helm chart , then checks that every environment
variable, port, health path, binary and file the Dockerfiles, docker-compose.yaml and the
rendered chart name exists in the repository: variables in the binaries' clap structs (and the
README's configuration docs), ports equal to the clap defaults of the address flags (or to the
address the file itself sets), binaries in the crates' manifests, paths on disk.
"""
import argparse
import pathlib
import re
import shlex
import sys

import yaml

# Which binary reads its flags from which files. Flattened shared structs (the `cli.rs` of
# videocall-relay and videocall-access) count only if the binary's struct really flattens them.
BINARIES = {
    "actix-api": ["actix-api/src/config.rs", "actix-api/src/main.rs"],
    "webtransport-server": ["webtransport-server/src/main.rs"],
    "videocall-cli": ["videocall-cli/src/args.rs", "videocall-cli/src/main.rs"],
}
SHARED_FLAGS = ["videocall-relay/src/cli.rs", "videocall-access/src/cli.rs"]
# Address flags that bind UDP (QUIC); every other address flag binds TCP.
UDP_ADDRESS_VARS = {"WEBTRANSPORT_LISTEN_ADDR", "LISTEN_URL"}
# actix-api serves WebTransport only when EMBEDDED_WEBTRANSPORT says so, or, unset, without
# NATS_URL (actix-api/src/config.rs, `webtransport_enabled`).
TRUE = {"true", "1", "yes", "on"}


def listens(var, env):
    """Whether the address flag `var` is bound, given the variables a file sets."""
    if var == "WEBTRANSPORT_LISTEN_ADDR":
        embedded = env.get("EMBEDDED_WEBTRANSPORT")
        return embedded.lower() in TRUE if embedded else not env.get("NATS_URL")
    return True


# Where each server routes its health endpoints, as the source spells the path.
HEALTH_SOURCES = {
    "actix-api": ("actix-api/src/server.rs", '.route("{path}"'),
    "webtransport-server": ("webtransport-server/src/main.rs", 'b"{path}"'),
}

errors = []


def fail(where, message):
    errors.append(f"{where}: {message}")


def arg_attributes(text):
    """Yields the contents of every `#[arg(...)]` attribute."""
    return re.findall(r"#\[arg\((.*?)\)\]\s*$", text, re.S | re.M)


def env_defaults(text):
    """Maps each `env = "NAME"` of a clap struct to its default value (a string, or None)."""
    found = {}
    for attr in arg_attributes(text):
        env = re.search(r'\benv\s*=\s*"([A-Z0-9_]+)"', attr)
        if not env:
            continue
        text_default = re.search(r'\bdefault_value\s*=\s*"([^"]*)"', attr)
        number_default = re.search(r"\bdefault_value_t\s*=\s*([0-9_]+)\b", attr)
        if text_default:
            found[env.group(1)] = text_default.group(1)
        elif number_default:
            found[env.group(1)] = number_default.group(1).replace("_", "")
        else:
            found[env.group(1)] = None
    return found


class Binary:
    """What one binary takes: variables with defaults, ports, health paths."""

    def __init__(self, root, name):
        self.name = name
        self.env = {}
        text = "".join((root / f).read_text() for f in BINARIES[name])
        self.env.update(env_defaults(text))
        shared = "".join((root / f).read_text() for f in SHARED_FLAGS)
        flattened = set(re.findall(r"#\[command\(flatten\)\]\s*(?:pub\s+)?\w+:\s*(\w+)", text))
        for struct, body in re.findall(r"pub struct (\w+) \{(.*?)\n\}", shared, re.S):
            if struct in flattened:
                self.env.update(env_defaults(body))
        # tracing's EnvFilter reads RUST_LOG itself (in the binary, or in the shared LogArgs).
        if "EnvFilter::try_from_default_env" in text or "LogArgs" in flattened:
            self.env["RUST_LOG"] = "info"
        self.health = set()
        if name in HEALTH_SOURCES:
            source, pattern = HEALTH_SOURCES[name]
            source_text = (root / source).read_text()
            self.health = {p for p in ("/healthz", "/readyz") if pattern.format(path=p) in source_text}

    def ports(self, overrides):
        """(port, protocol) of every address flag, given the variables a file sets."""
        ports = set()
        for var, default in self.env.items():
            value = overrides.get(var, default)
            if not listens(var, overrides):
                continue
            if value and re.fullmatch(r"[\w.\[\]:]+:\d+", str(value)) and var.endswith(("_ADDR", "_URL")):
                ports.add((int(str(value).rsplit(":", 1)[1]), "UDP" if var in UDP_ADDRESS_VARS else "TCP"))
        return ports

    def check_env(self, where, names, readme):
        for name in names:
            if name not in self.env:
                fail(where, f"{name} is not a flag variable of {self.name}")
            elif f"`{name}`" not in readme:
                fail(where, f"{name} is not documented in README.md")

    def check_health_command(self, where, command, overrides):
        """`http-health VAR DEFAULT PATH`: the variable, its default and the path are real."""
        if len(command) != 4 or command[0] != "http-health":
            fail(where, f"health check {command} is not `http-health VAR DEFAULT PATH`")
            return
        _, var, default, path = command
        if self.env.get(var, "<missing>") != default:
            fail(where, f"health check uses {var} default {default}, {self.name} has {self.env.get(var, 'no such variable')}")
        if path not in self.health:
            fail(where, f"health check asks {path}, which {self.name} does not serve")


def check_crates(root):
    """Each binary is a workspace member whose binary has that name."""
    members = (root / "Cargo.toml").read_text()
    for name in BINARIES:
        manifest = root / name / "Cargo.toml"
        if f'"{name}"' not in members or not manifest.exists():
            fail("Cargo.toml", f"{name} is not a workspace member")
            continue
        text = manifest.read_text()
        bins = re.findall(r'\[\[bin\]\]\s*name\s*=\s*"([^"]+)"', text)
        if name not in bins and not (f'name = "{name}"' in text and (root / name / "src/main.rs").exists()):
            fail(str(manifest), f"builds no binary named {name}")


def check_dockerfile(root, path, binaries, readme):
    name = path.name.removesuffix(".Dockerfile")
    where = str(path.relative_to(root))
    if name not in binaries:
        fail(where, f"{name} is not a binary of this repository")
        return
    binary = binaries[name]
    text = path.read_text().replace("\\\n", " ")
    env = dict(re.findall(r"^ENV (\w+)=(\S+)", text, re.M))
    binary.check_env(where, env, readme)
    copies = {}
    for line in re.findall(r"^COPY (.*)$", text, re.M):
        words = line.split()
        sources, dest = [w for w in words[:-1] if not w.startswith("--")], words[-1]
        if "--from=build" not in words:
            for source in sources:
                if not (root / source).exists():
                    fail(where, f"COPY {source}: no such path")
        for source in sources:
            copies[source] = dest
    for script in re.findall(r"\b((?:scripts|docker)/[\w.-]+\.sh)\b", text):
        if not (root / script).exists():
            fail(where, f"{script}: no such script")
    for built in re.findall(r"-p ([\w-]+)", text + "".join(
            (root / s).read_text() for s in re.findall(r"\b(docker/[\w.-]+\.sh)\b", text) if (root / s).exists())):
        if built != name:
            fail(where, f"builds {built}, not {name}")
    entry = re.search(r'^ENTRYPOINT \["([^"]+)"', text, re.M)
    if not entry or entry.group(1) != f"/usr/local/bin/{name}" or copies.get(f"/out/{name}") != entry.group(1):
        fail(where, f"ENTRYPOINT is not the {name} binary copied from the build stage")
    if "UI_DIR" in env:
        ui = re.search(r"^out=(\S+)", (root / "scripts/build-ui.sh").read_text(), re.M)
        if not ui or copies.get(f"/src/{ui.group(1)}") != env["UI_DIR"]:
            fail(where, "UI_DIR is not where the output of scripts/build-ui.sh is copied")
    exposed = {(int(p), proto.upper()) for p, proto in re.findall(r"(\d+)/(tcp|udp)", " ".join(re.findall(r"^EXPOSE (.*)$", text, re.M)))}
    if exposed != binary.ports(env):
        fail(where, f"EXPOSE {sorted(exposed)} but {name} listens on {sorted(binary.ports(env))}")
    health = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])", text, re.M)
    if binary.health and not health:
        fail(where, f"no HEALTHCHECK although {name} serves /healthz")
    if health:
        binary.check_health_command(where, yaml.safe_load(health.group(1)), env)


def check_compose(root, binaries, readme):
    path = root / "docker/docker-compose.yaml"
    compose = yaml.safe_load(path.read_text())
    for service, spec in compose["services"].items():
        where = f"docker-compose.yaml {service}"
        if "build" not in spec:
            continue  # a published image (NATS), configured by its own flags
        dockerfile = spec["build"]["dockerfile"]
        if not (root / dockerfile).exists():
            fail(where, f"{dockerfile}: no such file")
            continue
        binary = binaries[pathlib.Path(dockerfile).name.removesuffix(".Dockerfile")]
        env = {k: str(v) for k, v in spec.get("environment", {}).items()}
        binary.check_env(where, env, readme)
        listening = binary.ports(env)
        for mapping in spec.get("ports", []):
            port, proto = re.fullmatch(r"(?:[\d.]+:)?\d+:(\d+)(?:/(tcp|udp))?", mapping).groups()
            if (int(port), (proto or "tcp").upper()) not in listening:
                fail(where, f"publishes {port}/{proto}, but {binary.name} listens on {sorted(listening)}")
        if "healthcheck" in spec:
            binary.check_health_command(where, spec["healthcheck"]["test"][1:], env)


def check_manifests(docs, binaries, readme, label):
    for doc in docs:
        if doc.get("kind") != "Deployment":
            continue
        pod = doc["spec"]["template"]["spec"]
        for container in pod["containers"]:
            where = f"chart ({label}) {doc['metadata']['name']}/{container['name']}"
            binary = binaries.get(container["name"])
            if not binary:
                fail(where, f"container {container['name']} is not named after a binary")
                continue
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            binary.check_env(where, env, readme)
            ports = {(p["containerPort"], p.get("protocol", "TCP")) for p in container["ports"]}
            if ports != binary.ports(env):
                fail(where, f"containerPorts {sorted(ports)} but the server listens on {sorted(binary.ports(env))}")
            names = {p["name"]: p["containerPort"] for p in container["ports"]}
            for probe in ("readinessProbe", "livenessProbe"):
                get = container.get(probe, {}).get("httpGet")
                if not get or get["path"] not in binary.health or get["port"] not in names:
                    fail(where, f"{probe} is not an HTTP GET of a served health path on a named port")
            mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
            for var, value in env.items():
                if value and value.startswith("/etc/videocall/") and not any(value.startswith(m + "/") for m in mounts):
                    fail(where, f"{var}={value} is on no mounted volume")
            grace = pod.get("terminationGracePeriodSeconds", 30)
            shutdown = int(env.get("SHUTDOWN_TIMEOUT_SECS") or binary.env.get("SHUTDOWN_TIMEOUT_SECS") or binary.drain)
            if grace <= shutdown:
                fail(where, f"terminationGracePeriodSeconds {grace} is not longer than the {shutdown} s drain")


def render(root, out):
    import helm_python
    from helm_python import Chart

    chart = root / "helm/videocall"
    variants = {"default": None, "production": yaml.safe_load((chart / "values-production.yaml").read_text())}
    rendered = {}
    for label, values in variants.items():
        result = helm_python.lint(str(chart), values, strict=True)
        for message in result.get("messages", []):
            print(f"  helm lint ({label}): {message}")
        if result.get("errors"):
            sys.exit(f"helm lint ({label}) failed: {result['errors']}")
        manifests = Chart.load(str(chart)).render(values, name="videocall", namespace="videocall", is_install=True)
        docs = []
        (out / label).mkdir(parents=True)
        for template, text in sorted(manifests.items()):
            if template.endswith("NOTES.txt") or not text.strip():
                continue
            (out / label / pathlib.Path(template).name).write_text(text)
            docs += [d for d in yaml.safe_load_all(text) if d]
        print(f"  rendered {label}: {len(docs)} objects ({', '.join(sorted({d['kind'] for d in docs}))})")
        rendered[label] = docs
    return rendered


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parent.parent)
    parser.add_argument("--out", type=pathlib.Path, required=True, help="new directory for the rendered manifests")
    args = parser.parse_args()
    root = args.root
    readme = (root / "README.md").read_text()
    binaries = {name: Binary(root, name) for name in BINARIES}
    drain = re.search(r"drain_timeout: Duration::from_secs\((\d+)\)", (root / "webtransport-server/src/config.rs").read_text())
    for binary in binaries.values():
        binary.drain = int(drain.group(1)) if drain else 0
    check_crates(root)
    for dockerfile in sorted((root / "docker").glob("*.Dockerfile")):
        check_dockerfile(root, dockerfile, binaries, readme)
    check_compose(root, binaries, readme)
    for label, docs in render(root, args.out).items():
        check_manifests(docs, binaries, readme, label)
    for error in errors:
        print(f"  error: {error}", file=sys.stderr)
    if errors:
        sys.exit(f"{len(errors)} deployment reference(s) do not match the code")
    print("  references: Dockerfiles, compose and chart match the code's variables, ports, paths and binaries")


if __name__ == "__main__":
    main()
