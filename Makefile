# videocall: the two commands are `make run` and `make test`.

# Reuse one build directory across clones (CI runs in a fresh clone each time).
export CARGO_TARGET_DIR ?= $(HOME)/.cache/videocall-target
export CARGO_TERM_COLOR ?= never

WASM_CRATES := -p videocall-types -p videocall-client -p yew-ui

.PHONY: help run test deps ui ui-test lint fmt unit clean cli cli-aarch64 bench fuzz deploy-check up down

## help: this list
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## run: build the UI and the all-in-one server (no NATS, no database server), start it, print the URL
run:
	@scripts/deps.sh run
	scripts/build-ui.sh
	cargo build --release --locked -p actix-api
	UI_DIR=$${UI_DIR:-$(CURDIR)/yew-ui/dist} $(CARGO_TARGET_DIR)/release/actix-api

## ui: build the browser app into yew-ui/dist
ui:
	@scripts/deps.sh run
	scripts/build-ui.sh

# The browser tests run the app's dev build: it builds in a third of the time of the release
# build and shares its dependencies with the wasm unit tests.
ui-test:
	UI_PROFILE=dev scripts/build-ui.sh

## test: every check and test, installing what they need
test: deps lint deploy-check ui-test unit fuzz

deps:
	@scripts/deps.sh test

## lint: formatting and clippy, native and wasm32
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo clippy $(WASM_CRATES) --target wasm32-unknown-unknown --locked -- -D warnings

## deploy-check: hadolint the Dockerfiles, lint, render and validate the Helm chart (Kubernetes
## 1.30), and check that images, compose and chart name only real paths, binaries, variables, ports
deploy-check:
	scripts/deploy-check.sh

## up / down: the compose stack (NATS, two actix-api, one webtransport-server); needs a Docker engine
up:
	docker compose -f docker/docker-compose.yaml up -d --build

down:
	docker compose -f docker/docker-compose.yaml down

## unit: unit, loopback, multi-instance (real nats-server) and browser (headless Chromium) tests
unit:
	cargo nextest run --workspace --locked --no-fail-fast
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	  cargo test --locked --target wasm32-unknown-unknown -p videocall-types -p videocall-client --lib

## cli: release build of the headless client, $(CARGO_TARGET_DIR)/release/videocall-cli
cli:
	@scripts/deps.sh test
	cargo build --release --locked -p videocall-cli

## cli-aarch64: cross-build the CLI for a 64-bit Raspberry Pi (opt-in, ~13 min cold: not in `test`)
cli-aarch64:
	@scripts/deps.sh aarch64
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
	CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
	CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++ \
	PKG_CONFIG_ALLOW_CROSS=1 PKG_CONFIG_PATH=/usr/lib/aarch64-linux-gnu/pkgconfig \
	BINDGEN_EXTRA_CLANG_ARGS="--target=aarch64-linux-gnu -I/usr/include/aarch64-linux-gnu" \
	cargo build --release --locked -p videocall-cli --target aarch64-unknown-linux-gnu

## fuzz: 30 s per cargo-fuzz target (FUZZ_SECONDS=3600 for a long run)
fuzz:
	scripts/fuzz.sh

fmt:
	cargo fmt --all

clean:
	cargo clean

## bench: the relay against a null forwarder, written to BENCHMARKS.md (~15 min; not in test)
bench: deps
	bench/run.sh
