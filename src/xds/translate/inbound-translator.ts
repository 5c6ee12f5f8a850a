// The inbound side of mTLS: a workload sidecar terminates mTLS on its INBOUND_PORT (the endpoints'
// `sidecarPort`) and hands plain traffic to the app in its own pod. One filter chain per (mTLS service,
// port) with endpoints in the sidecar's cluster on that sidecarPort, matched by the SNIs callers use for
// it (plain and every subset); a caller without a certificate from the mesh CA never completes the
// handshake.
//
// Nothing here names the pod, so every workload sidecar of a cluster with the same INBOUND_PORT,
// INBOUND_ADDRESS and TLS_DIR gets the very same listener and clusters (one view, not one per pod). The
// app is reached on the address the caller connected to, which is the pod's own: a set_filter_state
// network filter copies the connection's local address into the original-destination filter state, and an
// ORIGINAL_DST cluster connects there with the app port put in its place (upstream_port_override). No
// request header takes part (use_http_header stays off), so a caller cannot steer the hop; without the
// filter state the cluster has no host and answers 503 (it fails closed).
import { MeshModel, ServicePort, serviceHost } from '../../mesh/model';
import { portOf, sortedServices, subsetsOf } from '../../mesh/rules';
import { EncodedResource } from '../resource/encoded-resource';
import { LISTENER_TYPE, CLUSTER_TYPE } from '../resource-types';
import { ClientView } from './client-view';
import { CONNECT_TIMEOUT_MS, HTTP_PROTOCOL_OPTIONS, usesHttp2 } from './cluster-builder';
import { Cluster, FilterChain, Listener, NetworkFilter, RouteConfiguration } from '../resource/envoy-messages';
import { protocolOptions, typedAny } from '../resource/typed-any';
import { httpConnectionManager } from './listener-builder';
import { DEFAULT_TLS_DIR, downstreamTlsSocket, sniFor, tlsInspector } from './mtls';
import { ResourceCollector } from './resource-collector';
import { durationFromMs } from '../duration';

export const INBOUND_LISTENER = 'inbound';
/** The filter state key Envoy's ORIGINAL_DST cluster reads its destination from (before any header). */
export const ORIGINAL_DST_FILTER_STATE = 'envoy.network.transport_socket.original_dst_address';

export function firstPort<T extends { port: number }>(ports: readonly T[]): T | undefined {
  return [...ports].sort((a, b) => a.port - b.port)[0];
}

/** One (service, port) the listener terminates. */
interface InboundTarget {
  host: string;
  port: ServicePort;
  serverNames: string[];
  /** App port -> addresses of the pods that use it; one entry when every endpoint agrees (the usual case). */
  appPorts: Map<number, string[]>;
}

/** The mTLS (service, port)s whose endpoints in `clusterId` have their sidecar on `inboundPort`. */
export function inboundTargets(model: MeshModel, clusterId: string, inboundPort: number): InboundTarget[] {
  const targets: InboundTarget[] = [];
  for (const entry of sortedServices(model)) {
    if (!entry.service.mtls) continue;
    const local = entry.endpoints.filter(
      (endpoint) => endpoint.cluster === clusterId && endpoint.sidecarPort === inboundPort,
    );
    if (local.length === 0) continue;
    const host = serviceHost(entry.service);
    for (const port of entry.service.ports) {
      const appPorts = new Map<number, string[]>();
      // An address listed twice with different app ports is ambiguous: its first listing wins, because
      // Envoy refuses two chains with the same match.
      const claimed = new Set<string>();
      for (const endpoint of local) {
        const appPort = portOf(endpoint, port);
        if (appPort === undefined || claimed.has(endpoint.address)) continue;
        claimed.add(endpoint.address);
        appPorts.set(appPort, [...(appPorts.get(appPort) ?? []), endpoint.address]);
      }
      if (appPorts.size === 0) continue;
      const serverNames = ['', ...subsetsOf(entry)].map((subset) => sniFor(port.port, host, subset));
      // Proxyless gRPC clients send the service host itself as SNI: it selects the service's first port.
      if (port === firstPort(entry.service.ports)) serverNames.push(host);
      targets.push({ host, port, serverNames, appPorts });
    }
  }
  return targets;
}

/** Copies the address the caller connected to (the pod's) into the filter state ORIGINAL_DST reads. */
function destinationFromLocalAddress(): NetworkFilter {
  return {
    name: 'envoy.filters.network.set_filter_state',
    typed_config: typedAny('type.googleapis.com/envoy.extensions.filters.network.set_filter_state.v3.Config', {
      on_new_connection: [
        {
          object_key: ORIGINAL_DST_FILTER_STATE,
          format_string: { text_format_source: { inline_string: '%DOWNSTREAM_LOCAL_ADDRESS%' } },
        },
      ],
    }),
  };
}

/** The app of whichever pod the connection arrived at, on `appPort`. */
export function inboundCluster(name: string, appPort: number, http2: boolean): Cluster {
  const cluster: Cluster = {
    name,
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    connect_timeout: durationFromMs(CONNECT_TIMEOUT_MS),
    original_dst_lb_config: { upstream_port_override: { value: appPort } },
  };
  if (http2) {
    cluster.typed_extension_protocol_options = protocolOptions(HTTP_PROTOCOL_OPTIONS, {
      explicit_http_config: { http2_protocol_options: {} },
    });
  }
  return cluster;
}

function prefixRanges(addresses: readonly string[]): { address_prefix: string; prefix_len: { value: number } }[] {
  return [...addresses]
    .sort()
    .map((address) => ({ address_prefix: address, prefix_len: { value: address.includes(':') ? 128 : 32 } }));
}

function chain(target: InboundTarget, clusterName: string, tlsDir: string, addresses?: readonly string[]): FilterChain {
  const key = `${target.host}:${target.port.port}`;
  const routes: RouteConfiguration = {
    name: `inbound|${key}`,
    virtual_hosts: [
      { name: key, domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: clusterName } }] },
    ],
  };
  return {
    filter_chain_match: {
      server_names: target.serverNames,
      ...(addresses ? { prefix_ranges: prefixRanges(addresses) } : {}),
    },
    transport_socket: downstreamTlsSocket(tlsDir),
    filters: [
      destinationFromLocalAddress(),
      {
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: httpConnectionManager(`inbound_${target.port.port}`, { inline: routes }),
      },
    ],
  };
}

/** The inbound listener and its clusters for one (client cluster, inbound port, bind address, TLS_DIR). */
export function inboundResources(
  model: MeshModel,
  clusterId: string,
  inbound: { port: number; bindAddress: string },
  tlsDir: string,
  encode: ResourceCollector['encode'],
): EncodedResource[] {
  const targets = inboundTargets(model, clusterId, inbound.port);
  if (targets.length === 0) return [];
  const clusters = new Map<string, Cluster>();
  const clusterFor = (target: InboundTarget, appPort: number): string => {
    const name = `inbound|${appPort}||${target.host}`;
    if (!clusters.has(name)) clusters.set(name, inboundCluster(name, appPort, usesHttp2(target.port)));
    return name;
  };
  // Envoy matches the destination address before the SNI and never falls back: once an address has a
  // chain of its own, a connection to it sees only chains listing it. So the chains that hold for every
  // pod also get a twin listing the addresses that have chains of their own.
  const ownAddresses = new Set<string>();
  for (const target of targets) {
    if (target.appPorts.size === 1) continue;
    for (const addresses of target.appPorts.values()) for (const address of addresses) ownAddresses.add(address);
  }
  const chains: FilterChain[] = [];
  for (const target of targets) {
    if (target.appPorts.size === 1) {
      const [appPort] = [...target.appPorts.keys()] as [number];
      const name = clusterFor(target, appPort);
      chains.push(chain(target, name, tlsDir));
      if (ownAddresses.size > 0) chains.push(chain(target, name, tlsDir, [...ownAddresses]));
    } else {
      // Endpoints disagree on the app port: one chain per app port, for the addresses that use it.
      for (const [appPort, addresses] of [...target.appPorts].sort(([a], [b]) => a - b))
        chains.push(chain(target, clusterFor(target, appPort), tlsDir, addresses));
    }
  }
  const listener: Listener = {
    name: INBOUND_LISTENER,
    address: { socket_address: { address: inbound.bindAddress, port_value: inbound.port } },
    listener_filters: [tlsInspector()],
    filter_chains: chains,
  };
  return [
    ...[...clusters].map(([name, cluster]) => encode(CLUSTER_TYPE, name, cluster)),
    encode(LISTENER_TYPE, INBOUND_LISTENER, listener),
  ];
}

// Per model, per inbound configuration: built once however many sidecars share it.
const byModel = new WeakMap<MeshModel, Map<string, readonly EncodedResource[]>>();
/** How many times inbound resources were built (tests: once per distinct configuration and model). */
export const inboundBuilds = { count: 0 };

/** Adds the inbound listener (and its app clusters) when the view terminates mTLS for workloads. */
export function addInboundListener(out: ResourceCollector, model: MeshModel, view: ClientView): void {
  const inbound = view.inbound;
  if (!inbound || view.proxyless) return;
  const tlsDir = view.tlsDir ?? DEFAULT_TLS_DIR;
  const key = `${view.clusterId}|${inbound.port}|${inbound.bindAddress}|${tlsDir}`;
  let perModel = byModel.get(model);
  if (!perModel) {
    perModel = new Map();
    byModel.set(model, perModel);
  }
  let resources = perModel.get(key);
  if (!resources) {
    inboundBuilds.count++;
    resources = inboundResources(model, view.clusterId, inbound, tlsDir, out.encode.bind(out));
    perModel.set(key, resources);
  }
  out.addEncoded(resources);
}
