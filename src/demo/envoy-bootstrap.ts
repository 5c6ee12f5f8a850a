// Bootstraps for the demo's Envoys: ADS to Spillway (state of the world), load reports to the same server,
// and the node fields Spillway reads (docs/OPERATIONS.md, "Node metadata"). Pure data; written as YAML.
import * as net from 'net';
import { MeshCluster } from '../mesh/model';

export const XDS_CLUSTER_NAME = 'spillway_xds';
const NODE_CLUSTER = 'spillway-demo';
// Envoy's default ADS reconnect backoff reaches 30s; a demo whose Spillway restarts should not wait that long.
const XDS_RETRY_BASE_INTERVAL = '0.25s';
const XDS_RETRY_MAX_INTERVAL = '2s';

export interface DemoEnvoyNode {
  nodeId: string;
  cluster: MeshCluster;
  /** node.metadata besides CLUSTER_ID, e.g. ROLE or OUTBOUND_PORT. */
  metadata: Record<string, string>;
}

export interface XdsAddress {
  host: string;
  port: number;
}

function socketAddress(host: string, port: number): Record<string, unknown> {
  return { socket_address: { address: host, port_value: port } };
}

function xdsCluster(xds: XdsAddress): Record<string, unknown> {
  return {
    name: XDS_CLUSTER_NAME,
    // STATIC needs an IP literal; a host name needs DNS.
    type: net.isIP(xds.host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: { connection_keepalive: { interval: '5s', timeout: '5s' } } },
      },
    },
    load_assignment: {
      cluster_name: XDS_CLUSTER_NAME,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(xds.host, xds.port) } }] }],
    },
  };
}

export function demoBootstrap(node: DemoEnvoyNode, xds: XdsAddress): Record<string, unknown> {
  const viaAds = { ads: {}, resource_api_version: 'V3' };
  return {
    node: {
      id: node.nodeId,
      cluster: NODE_CLUSTER,
      metadata: { CLUSTER_ID: node.cluster.name, ...node.metadata },
      locality: { region: node.cluster.region, zone: node.cluster.zone },
    },
    // Port 0: the kernel picks; Envoy writes the real address to --admin-address-path.
    admin: { address: socketAddress('127.0.0.1', 0) },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        set_node_on_first_message_only: true,
        grpc_services: [
          {
            envoy_grpc: {
              cluster_name: XDS_CLUSTER_NAME,
              retry_policy: {
                retry_back_off: { base_interval: XDS_RETRY_BASE_INTERVAL, max_interval: XDS_RETRY_MAX_INTERVAL },
              },
            },
          },
        ],
      },
      cds_config: viaAds,
      lds_config: viaAds,
    },
    static_resources: { clusters: [xdsCluster(xds)] },
    // Load reports (for the measured failover shares) go to the same server, over the same cluster.
    cluster_manager: {
      load_stats_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER_NAME } }],
      },
    },
  };
}

/** An east-west gateway: Istio's `router~` id convention and ROLE=gateway both say so. */
export function gatewayNode(cluster: MeshCluster): DemoEnvoyNode {
  const address = cluster.gateway?.address ?? '0.0.0.0';
  return { nodeId: `router~${address}~gateway-${cluster.name}`, cluster, metadata: { ROLE: 'gateway' } };
}

/** A sidecar whose outbound listener Spillway places on outbound.host:outbound.port. */
export function sidecarNode(cluster: MeshCluster, outbound: { host: string; port: number }): DemoEnvoyNode {
  return {
    nodeId: `sidecar~${outbound.host}~demo-client.shop~${cluster.name}`,
    cluster,
    metadata: { OUTBOUND_ADDRESS: outbound.host, OUTBOUND_PORT: String(outbound.port) },
  };
}
