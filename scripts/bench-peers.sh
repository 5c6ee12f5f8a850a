#!/usr/bin/env bash
# Builds the benchmark peers from the Go module proxy, only when missing, into a cache OUTSIDE the repo
# (a fresh CI clone on the same machine reuses them):
#   go-control-plane  bench/peers/go-control-plane (a small ADS server over go-control-plane's cache)
#   istiod            pilot-discovery from istio.io/istio, patched to run without Kubernetes
# Binary names carry a hash of their inputs, so a changed peer source or patch is rebuilt.
# Usage: scripts/bench-peers.sh [--print-paths] [--cached-only] [--only go-control-plane|istiod]
# --cached-only: report what is already built, build nothing (the quick check in CI stays bounded).
# With --print-paths the last lines are NAME=PATH for each peer that is ready.
# Exit status 0 even when a peer cannot be built: the benchmark runs with what there is and says why.
set -uo pipefail
cd "$(dirname "$0")/.."

CACHE="${SPILLWAY_CACHE:-$HOME/.cache/spillway}"
BIN="$CACHE/bin"
BUILD="$CACHE/build"
# istio.io/istio publishes no semver tags to the module proxy, only pseudo-versions; this is the master
# commit the proxy answered for "latest" when the peer was set up (istio 1.31 development line).
ISTIO_VERSION="$(cat bench/peers/istiod/ISTIO_VERSION)"

print_paths=0
cached_only=0
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --print-paths) print_paths=1 ;;
    --cached-only) cached_only=1 ;;
    --only) only="$2"; shift ;;
    *) echo "usage: $0 [--print-paths] [--cached-only] [--only go-control-plane|istiod]" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[bench-peers] %s\n' "$*" >&2; }
hash_of() { cat "$@" | sha256sum | cut -c1-12; }
results=()

if ! command -v go >/dev/null 2>&1; then
  log "go is not installed: no peer can be built (apt-get install golang-go, or put go on PATH)"
  exit 0
fi
mkdir -p "$BIN" "$BUILD"
log "cache: $CACHE ($(go version | cut -d' ' -f3))"

build_go_control_plane() {
  local src=bench/peers/go-control-plane
  local out="$BIN/go-control-plane-peer-$(hash_of "$src/go.mod" "$src/go.sum" "$src/main.go")"
  if [ -x "$out" ]; then
    log "go-control-plane peer: cached ($out)"
  elif [ "$cached_only" = 1 ]; then
    log "go-control-plane peer: not built (--cached-only; run scripts/bench-peers.sh to build it)"
    return
  else
    log "go-control-plane peer: building $(grep 'envoyproxy/go-control-plane ' "$src/go.mod" | xargs) (about a minute the first time)"
    if ! (cd "$src" && go build -trimpath -o "$out.tmp" .) >&2; then
      log "go-control-plane peer: BUILD FAILED"
      return
    fi
    mv "$out.tmp" "$out"
    log "go-control-plane peer: built $out"
  fi
  results+=("go-control-plane=$out")
}

build_istiod() {
  local patches=(bench/peers/istiod/patches/*.patch)
  local out="$BIN/pilot-discovery-$ISTIO_VERSION-$(hash_of bench/peers/istiod/ISTIO_VERSION "${patches[@]}")"
  if [ -x "$out" ]; then
    log "istiod: cached ($out)"
    results+=("istiod=$out")
    return
  fi
  if [ "$cached_only" = 1 ]; then
    log "istiod: not built (--cached-only; run scripts/bench-peers.sh to build it)"
    return
  fi
  local failed="$out.failed"
  if [ -f "$failed" ]; then
    log "istiod: an earlier build of these inputs failed ($failed); delete that file to try again"
    return
  fi
  local module_dir src="$BUILD/istio-$ISTIO_VERSION"
  log "istiod: downloading istio.io/istio@$ISTIO_VERSION from the module proxy (large: several minutes the first time)"
  if ! module_dir="$(cd "$BUILD" && go mod download -json "istio.io/istio@$ISTIO_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || [ -z "$module_dir" ]; then
    log "istiod: download failed"
    echo "download of istio.io/istio@$ISTIO_VERSION failed" >"$failed"
    return
  fi
  log "istiod: applying $(echo "${patches[@]}" | wc -w) patch(es) to a copy in $src"
  rm -rf "$src"
  cp -r "$module_dir" "$src" && chmod -R u+w "$src"
  for patch in "${patches[@]}"; do
    if ! patch -s -p1 -d "$src" <"$patch" >&2; then
      log "istiod: patch $patch does not apply"
      echo "patch $patch does not apply to $ISTIO_VERSION" >"$failed"
      return
    fi
  done
  log "istiod: compiling pilot-discovery (several minutes the first time; 2 cores)"
  if ! (cd "$src" && go build -trimpath -o "$out.tmp" ./pilot/cmd/pilot-discovery) >&2; then
    log "istiod: BUILD FAILED"
    echo "go build of pilot-discovery failed" >"$failed"
    return
  fi
  mv "$out.tmp" "$out"
  rm -rf "$src"
  log "istiod: built $out"
  results+=("istiod=$out")
}

[ -z "$only" ] || [ "$only" = go-control-plane ] && build_go_control_plane
[ -z "$only" ] || [ "$only" = istiod ] && build_istiod

if [ "$print_paths" = 1 ]; then
  for line in "${results[@]}"; do echo "$line"; done
fi
exit 0
