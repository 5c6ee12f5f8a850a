#!/usr/bin/env bash
# Builds a real kube-apiserver and etcd (for the Kubernetes discovery tests) from the Go module proxy,
# once per machine: no prebuilt Kubernetes binary can be downloaded here, so we compile the upstream
# mains (tools/kube-apiserver/). The binaries are cached OUTSIDE the repo, so a fresh clone (CI) on the
# same machine reuses them:  ${SPILLWAY_CACHE:-$HOME/.cache/spillway}/bin/<name>-<version>
#
#   bash scripts/kube-apiserver.sh           build what is missing, then print name=path lines
#   bash scripts/kube-apiserver.sh --paths   print name=path lines, exit 1 if a binary is missing
#
# Progress goes to stderr; stdout carries only the name=path lines (read by test/harness/kube-apiserver.ts).
# A first build takes several minutes on 2 cores and needs Go >= 1.26 (see tools/kube-apiserver/go.mod).
set -euo pipefail
cd "$(dirname "$0")/.."

# Keep in step with tools/kube-apiserver/go.mod.
KUBERNETES_VERSION="v1.36.3"
ETCD_VERSION="v3.6.8"

CACHE_DIR="${SPILLWAY_CACHE:-$HOME/.cache/spillway}"
BIN_DIR="$CACHE_DIR/bin"
KUBE_APISERVER="$BIN_DIR/kube-apiserver-$KUBERNETES_VERSION"
ETCD="$BIN_DIR/etcd-$ETCD_VERSION"
TOOL_DIR="tools/kube-apiserver"

log() { printf '[kube-apiserver] %s\n' "$*" >&2; }
print_paths() { printf 'kube-apiserver=%s\netcd=%s\n' "$KUBE_APISERVER" "$ETCD"; }
have_all() { [ -x "$KUBE_APISERVER" ] && [ -x "$ETCD" ]; }

if [ "${1:-}" = "--paths" ]; then
  print_paths
  if have_all; then exit 0; fi
  log "missing binaries: run 'bash scripts/kube-apiserver.sh' (or 'make setup') to build them"
  exit 1
fi

if have_all; then
  log "cached: $KUBE_APISERVER, $ETCD"
  print_paths
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  log "Go is not installed: install Go >= 1.26 to build kube-apiserver for the Kubernetes tests"
  exit 1
fi

mkdir -p "$BIN_DIR"
# One builder at a time per machine (a test run and a setup may both ask).
exec 9>"$BIN_DIR/.build.lock"
if ! flock -n 9; then
  log "another build is running; waiting for it"
  flock 9
fi

# The version the upstream release build stamps in, so /version and the emulation-version checks agree.
VERSION_PKG="k8s.io/component-base/version"
LDFLAGS="-s -w \
 -X $VERSION_PKG.gitVersion=$KUBERNETES_VERSION \
 -X $VERSION_PKG.gitMajor=$(echo "$KUBERNETES_VERSION" | sed -E 's/^v([0-9]+)\..*/\1/') \
 -X $VERSION_PKG.gitMinor=$(echo "$KUBERNETES_VERSION" | sed -E 's/^v[0-9]+\.([0-9]+)\..*/\1/') \
 -X $VERSION_PKG.gitTreeState=clean"

build() { # build <package> <destination>
  local package="$1" destination="$2" started
  if [ -x "$destination" ]; then return 0; fi
  started=$(date +%s)
  log "building $(basename "$destination") from the Go module proxy (first time on this machine; takes minutes)"
  (cd "$TOOL_DIR" && GOFLAGS="-mod=mod -buildvcs=false" nice -n 10 go build -trimpath -ldflags "$LDFLAGS" \
    -o "$destination.partial" "$package")
  mv -f "$destination.partial" "$destination" # atomic: a reader never sees half a binary
  log "built $(basename "$destination") in $(( $(date +%s) - started ))s ($(du -h "$destination" | cut -f1))"
}

log "go: $(go version)"
build ./cmd/etcd "$ETCD"
build ./cmd/kube-apiserver "$KUBE_APISERVER"
print_paths
