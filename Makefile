# videocall: the two commands are `make run` and `make test`.

# Reuse one build directory across clones (CI runs in a fresh clone each time).
export CARGO_TARGET_DIR ?= $(HOME)/.cache/videocall-target
export CARGO_TERM_COLOR ?= never

WASM_CRATES := -p videocall-types -p videocall-client

.PHONY: run test deps build check lint fmt unit bench clean fuzz

## run: build and start the all-in-one server (no NATS, no database), print the URL
run:
	@scripts/deps.sh run
	cargo build --release -p actix-api
	$(CARGO_TARGET_DIR)/release/actix-api

## test: every check and test, installing what they need
test: deps lint unit fuzz

deps:
	@scripts/deps.sh test

## lint: formatting and clippy, native and wasm32
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo clippy $(WASM_CRATES) --target wasm32-unknown-unknown --locked -- -D warnings

## unit: unit, loopback and multi-instance (real nats-server) tests
unit:
	cargo nextest run --workspace --locked --no-fail-fast

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
