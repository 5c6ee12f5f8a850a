// The inbound side of mTLS: a sidecar that fronts a workload terminates mTLS on the workload's
// `sidecarPort` and hands plain traffic to the app. One filter chain per service port, matched by the
// SNIs callers use for it (plain and every subset); a caller without a certificate from the mesh CA
// never completes the handshake.
import { MeshModel, serviceHost } from '../../mesh/model';
import { portOf, sortedServices, subsetsOf } from '../../mesh/rules';
import { LISTENER_TYPE, CLUSTER_TYPE } from '../resource-types';
import { ClientView } from './client-view';
import { CONNECT_TIMEOUT_MS, usesHttp2 } from './cluster-builder';
import { Cluster } from './envoy-types';
import { httpConnectionManager } from './listener-builder';
import { DEFAULT_TLS_DIR, downstreamTlsSocket, sniFor, tlsInspector } from './mtls';
import { ResourceCollector } from './resource-collector';
import { durationFromMs } from '../duration';

export const INBOUND_LISTENER = 'inbound';

export function firstPort<T extends { port: number }>(ports: readonly T[]): T | undefined {
  return [...ports].sort((a, b) => a.port - b.port)[0];
}

function staticCluster(name: string, address: string, port: number, http2: boolean): Cluster {
  const cluster: Cluster = {
    name,
    type: 'STATIC',
    connect_timeout: durationFromMs(CONNECT_TIMEOUT_MS),
    load_assignment: {
      cluster_name: name,
      endpoints: [{ locality: {}, priority: 0, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: port } } } }] }],
    },
  };
  if (http2) {
    cluster.typed_extension_protocol_options = {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  return cluster;
}

/** Adds the inbound listener (and its app clusters) when the view fronts a workload of an mTLS service. */
export function addInboundListener(out: ResourceCollector, model: MeshModel, view: ClientView): void {
  const inbound = view.inbound;
  if (!inbound) return;
  const tlsDir = view.tlsDir ?? DEFAULT_TLS_DIR;
  const chains: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  for (const entry of sortedServices(model)) {
    if (!entry.service.mtls) continue;
    const host = serviceHost(entry.service);
    for (const endpoint of entry.endpoints) {
      if (endpoint.cluster !== view.clusterId || endpoint.address !== inbound.instanceIp || endpoint.sidecarPort !== inbound.port) continue;
      for (const port of entry.service.ports) {
        const appPort = portOf(endpoint, port);
        const key = `${host}:${port.port}`;
        if (appPort === undefined || seen.has(key)) continue;
        seen.add(key);
        const clusterName = `inbound|${appPort}||${host}`;
        out.add(CLUSTER_TYPE, clusterName, staticCluster(clusterName, endpoint.address, appPort, usesHttp2(port)));
        const routes = {
          name: `inbound|${key}`,
          virtual_hosts: [{ name: key, domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: clusterName } }] }],
        };
        const serverNames = ['', ...subsetsOf(entry)].map((subset) => sniFor(port.port, host, subset));
        // Proxyless gRPC clients send the service host itself as SNI: it selects the service's first port.
        if (port === firstPort(entry.service.ports)) serverNames.push(host);
        chains.push({
          filter_chain_match: { server_names: serverNames },
          transport_socket: downstreamTlsSocket(tlsDir),
          filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: httpConnectionManager(`inbound_${port.port}`, { inline: routes }) }],
        });
      }
    }
  }
  if (chains.length === 0) return;
  out.add(LISTENER_TYPE, INBOUND_LISTENER, {
    name: INBOUND_LISTENER,
    address: { socket_address: { address: inbound.bindAddress, port_value: inbound.port } },
    listener_filters: [tlsInspector()],
    filter_chains: chains,
  });
}
