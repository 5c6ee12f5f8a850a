// Loads Envoy's v3 API protos at run time from the installed @grpc/grpc-js-xds package (its `deps/`
// trees), so no upstream .proto file is copied into this repository.
import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';

/**
 * The Envoy API files Spillway encodes or decodes; their imports are followed automatically. Every file
 * the message types are generated from (scripts/gen-xds-types.sh) is among them (a unit test checks).
 */
export const ENTRY_FILES: readonly string[] = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/service/cluster/v3/cds.proto',
  'envoy/service/endpoint/v3/eds.proto',
  'envoy/service/listener/v3/lds.proto',
  'envoy/service/route/v3/rds.proto',
  'envoy/service/load_stats/v3/lrs.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/network/set_filter_state/v3/set_filter_state.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/on_demand/v3/on_demand.proto',
  'envoy/extensions/clusters/aggregate/v3/cluster.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/cluster_provided/v3/cluster_provided.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/filters/http/header_mutation/v3/header_mutation.proto',
  'envoy/extensions/filters/http/upstream_codec/v3/upstream_codec.proto',
  'envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config.proto',
];

function depsRoot(): string {
  const pkgJson = require.resolve('@grpc/grpc-js-xds/package.json');
  return path.join(path.dirname(pkgJson), 'deps');
}

function includeDirs(): string[] {
  const deps = depsRoot();
  const protobufjsDir = path.dirname(require.resolve('protobufjs/package.json'));
  return [
    path.join(deps, 'envoy-api'),
    path.join(deps, 'xds'),
    path.join(deps, 'googleapis'),
    path.join(deps, 'protoc-gen-validate'),
    // google/protobuf/descriptor.proto and friends that protobufjs does not bundle as "common" types.
    protobufjsDir,
  ];
}

let cachedRoot: protobuf.Root | undefined;

/** The protobufjs root with every Envoy type Spillway needs; field names keep proto snake_case. */
export function envoyRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const dirs = includeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string | null => {
    if (path.isAbsolute(target) && fs.existsSync(target)) return target;
    // Well-known types are built into protobufjs; returning the bare name lets it use them.
    for (const dir of dirs) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync([...ENTRY_FILES], { keepCase: true });
  root.resolveAll();
  cachedRoot = root;
  return root;
}

/** Look up a message type by full name (without leading dot); throws on a programming error. */
const typesByName = new Map<string, protobuf.Type>();

export function messageType(fullName: string): protobuf.Type {
  // Looked up on every request decode; the root never changes once loaded, so remember the answer.
  let type = typesByName.get(fullName);
  if (!type) {
    type = envoyRoot().lookupType(fullName);
    typesByName.set(fullName, type);
  }
  return type;
}

/** Extra proto files (our own, under proto/) loaded into the same root, e.g. for test services. */
export function ownProtoDir(): string {
  // dist/src/xds -> repo root, or src/xds when run from sources.
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(path.join(dir, 'proto'))) return path.join(dir, 'proto');
    dir = path.dirname(dir);
  }
  throw new Error('proto/ folder not found above ' + __dirname);
}

export { includeDirs as envoyProtoIncludeDirs };
