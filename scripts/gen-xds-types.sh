#!/usr/bin/env bash
# Generates TypeScript types for the Envoy messages Spillway builds, from the .proto files the installed
# @grpc/grpc-js-xds package carries (its deps/ trees), into generated/xds (git-ignored). Builders return
# these types, so a misspelled field is a compile error. Runs before every compile; takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="generated/xds"
DEPS="$(dirname "$(node -p "require.resolve('@grpc/grpc-js-xds/package.json')")")/deps"

# The messages Spillway builds (resources and every typed_config it sets); their imports follow.
PROTOS=(
  envoy/config/cluster/v3/cluster.proto
  envoy/config/endpoint/v3/endpoint.proto
  envoy/config/listener/v3/listener.proto
  envoy/config/route/v3/route.proto
  envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto
  envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto
  envoy/extensions/filters/network/set_filter_state/v3/set_filter_state.proto
  envoy/extensions/filters/http/router/v3/router.proto
  envoy/extensions/filters/http/on_demand/v3/on_demand.proto
  envoy/extensions/filters/http/header_mutation/v3/header_mutation.proto
  envoy/extensions/filters/http/upstream_codec/v3/upstream_codec.proto
  envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto
  envoy/extensions/clusters/aggregate/v3/cluster.proto
  envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto
  envoy/extensions/load_balancing_policies/cluster_provided/v3/cluster_provided.proto
  envoy/extensions/transport_sockets/tls/v3/tls.proto
  envoy/extensions/upstreams/http/v3/http_protocol_options.proto
  envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto
  envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto
)

# Nothing to do when this script and the package are what the last run used.
STAMP="$(sha256sum "$0" | cut -c1-16) $(node -p "require('@grpc/grpc-js-xds/package.json').version") ${DEPS}"
if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$STAMP" ]; then exit 0; fi

rm -rf "$OUT"
# Field names as in the proto (snake_case), enums as strings, 64-bit integers as numbers or strings:
# the plain-object form protobufjs fromObject takes (see src/xds/protos.ts, which loads with keepCase).
node_modules/.bin/proto-loader-gen-types --keepCase --longs String --enums String --oneofs \
  -I "$DEPS/envoy-api" -I "$DEPS/xds" -I "$DEPS/googleapis" -I "$DEPS/protoc-gen-validate" \
  -O "$OUT" "${PROTOS[@]}" >/dev/null

# The generated Any accepts any object with an '@type' (proto-loader's AnyExtension), which would let a
# misspelled field inside a typed_config through. An Any field takes only what typedAny() builds
# (src/xds/resource/typed-any.ts), which checks the message against the type its URL names.
# Where the types came from: the package carries no record of its Envoy API commit, so its content digest
# stands for the revision (docs/ARCHITECTURE.md, "Envoy message types").
{
  echo "@grpc/grpc-js-xds $(node -p "require('@grpc/grpc-js-xds/package.json').version")"
  echo "deps/envoy-api: $(cd "$DEPS/envoy-api" && find . -name '*.proto' -type f | wc -l) .proto files, content sha256 $(cd "$DEPS/envoy-api" && find . -name '*.proto' -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-64)"
} > "$OUT/SOURCE.txt"

cat > "$OUT/google/protobuf/Any.ts" <<'TS'
// Replaced by scripts/gen-xds-types.sh: built only by typedAny() in src/xds/resource/typed-any.ts.
declare const typedAnyBrand: unique symbol;

export interface Any {
  readonly '@type': string;
  readonly [typedAnyBrand]: true;
}

export interface Any__Output {
  'type_url'?: (string);
  'value'?: (Buffer);
}
TS

echo "$STAMP" > "$OUT/.stamp"
