# videocall: the two commands are `make run` and `make test`.

# Reuse one build directory across clones (CI runs in a fresh clone each time).
export CARGO_TARGET_DIR ?= $(HOME)/.cache/videocall-target
export CARGO_TERM_COLOR ?= never

WASM_CRATES := -p videocall-types -p videocall-client -p yew-ui

.PHONY: run test deps ui lint fmt unit clean

## run: build the UI and the all-in-one server (no NATS, no database), start it, print the URL
run:
	@scripts/deps.sh run
	scripts/build-ui.sh
	cargo build --release --locked -p actix-api
	UI_DIR=$${UI_DIR:-$(CURDIR)/yew-ui/dist} $(CARGO_TARGET_DIR)/release/actix-api

## ui: build the browser app into yew-ui/dist
ui:
	@scripts/deps.sh run
	scripts/build-ui.sh

## test: every check and test, installing what they need
test: deps lint ui unit

deps:
	@scripts/deps.sh test

## lint: formatting and clippy, native and wasm32
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo clippy $(WASM_CRATES) --target wasm32-unknown-unknown --locked -- -D warnings

## unit: unit, loopback, multi-instance (real nats-server) and browser (headless Chromium) tests
unit:
	cargo nextest run --workspace --locked --no-fail-fast
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	  cargo test --locked --target wasm32-unknown-unknown -p videocall-types -p videocall-client --lib

fmt:
	cargo fmt --all

clean:
	cargo clean
