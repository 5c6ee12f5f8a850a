# `make demo` runs a live failover demo on loopback; `make test` runs the whole suite against real
# Envoy and real gRPC clients. Both install what is missing first (scripts/setup.sh).
.PHONY: setup build demo demo-once test unit bench clean

setup:
	bash scripts/setup.sh

build:
	npx tsc -p tsconfig.json

demo: setup
	node dist/src/cli/main.js demo

# The story once, non-interactively: exits 0 only if every step was observed.
demo-once: setup
	DEMO_ONCE=1 node dist/src/cli/main.js demo

# The quick bench is a smoke run of the harness (no timing assertions; peers only if already built).
# The benchmark harness runs first as a quick smoke check (no timing assertions), so jest's summary closes the output.
test: setup
	npm run bench -- --quick
	npx jest --runInBand --ci

unit: setup
	npx jest --runInBand --ci dist/test/unit

bench: setup
	npm run bench

clean:
	rm -rf dist test-output
