# `make demo` runs a live failover demo on loopback; `make test` runs the whole suite against real
# Envoy and real gRPC clients. Both install what is missing first (scripts/setup.sh).
.PHONY: setup setup-demo build demo demo-once test lint unit bench clean

# Everything the tests need (also what the demo needs).
setup:
	bash scripts/setup.sh

# Only what the demo needs: npm packages, Envoy, Spillway compiled (a first demo starts in about a minute).
setup-demo:
	bash scripts/setup.sh demo

build:
	npm run build

demo: setup-demo
	node dist/src/cli/main.js demo

# The story once, non-interactively: exits 0 only if every step was observed.
demo-once: setup-demo
	DEMO_ONCE=1 node dist/src/cli/main.js demo

# The quick bench is a smoke run of the harness (no timing assertions; peers only if already built).
# The benchmark harness runs first as a quick smoke check (no timing assertions), so jest's summary closes the output.
test: setup
	npm run --silent lint
	npm run bench -- --quick
	npx jest --runInBand --ci

# ESLint (typescript-eslint's strict and stylistic type-checked rules) and Prettier's check. `make test`
# runs it before the tests, so a lint or layout problem fails CI. `npm run format` rewrites the layout.
lint: setup-demo
	npm run --silent lint

unit: setup
	npx jest --runInBand --ci dist/test/unit

bench: setup
	npm run bench

clean:
	rm -rf dist test-output
