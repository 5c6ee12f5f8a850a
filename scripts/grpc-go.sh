#!/usr/bin/env bash
# Builds the grpc-go xDS test client/server (test/grpc-go/) from the Go module proxy, once per source
# version: the binary is cached OUTSIDE the repo, keyed by a hash of the sources, so a fresh clone (CI)
# on the same machine reuses it:  ${SPILLWAY_CACHE:-$HOME/.cache/spillway}/bin/spillway-grpc-go-<hash>
#
#   bash scripts/grpc-go.sh           build if missing, then print grpc-go=path
#   bash scripts/grpc-go.sh --path    print grpc-go=path, exit 1 if it is not built
#
# Progress goes to stderr; stdout carries only the grpc-go=path line (read by test/harness/grpc-go.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

SRC_DIR="test/grpc-go"
BIN_DIR="${SPILLWAY_CACHE:-$HOME/.cache/spillway}/bin"
HASH=$(cat "$SRC_DIR"/go.mod "$SRC_DIR"/go.sum "$SRC_DIR"/*.go | sha256sum | cut -c1-16)
BINARY="$BIN_DIR/spillway-grpc-go-$HASH"

log() { printf '[grpc-go] %s\n' "$*" >&2; }

if [ "${1:-}" = "--path" ]; then
  printf 'grpc-go=%s\n' "$BINARY"
  if [ -x "$BINARY" ]; then exit 0; fi
  log "not built: run 'bash scripts/grpc-go.sh' (or 'make setup')"
  exit 1
fi

if [ -x "$BINARY" ]; then
  log "cached: $BINARY"
  printf 'grpc-go=%s\n' "$BINARY"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  log "Go is not installed: install Go >= 1.26 to build the grpc-go test client"
  exit 1
fi
mkdir -p "$BIN_DIR"
exec 9>"$BIN_DIR/.grpc-go.lock"
flock 9
if [ ! -x "$BINARY" ]; then
  started=$(date +%s)
  log "building $(basename "$BINARY") ($(go version | cut -d' ' -f3))"
  (cd "$SRC_DIR" && GOFLAGS="-mod=readonly -buildvcs=false" nice -n 10 go build -trimpath -ldflags "-s -w" -o "$BINARY.partial" .)
  mv -f "$BINARY.partial" "$BINARY" # atomic: a reader never sees half a binary
  log "built in $(( $(date +%s) - started ))s"
fi
printf 'grpc-go=%s\n' "$BINARY"
