// Builds the Envoy bootstrap document (plain JSON-shaped objects, written out as YAML by envoy.ts).
import * as net from 'net';

export type XdsMode = 'sotw' | 'delta';

export interface XdsEndpoint {
  host: string;
  port: number;
  /** mTLS to the control plane: the proxy's certificate, key and the CA that signed the server's. */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

export interface Locality {
  region?: string;
  zone?: string;
  subZone?: string;
}

export type BootstrapFragment = Record<string, unknown>;

export interface BootstrapOptions {
  nodeId: string;
  metadata: Record<string, string>;
  locality?: Locality;
  adminHost: string;
  /** 0 lets the kernel pick; envoy.ts reads the real port back from --admin-address-path. */
  adminPort: number;
  /** Where the ADS stream goes; required unless staticBootstrap replaces the dynamic config. */
  xds?: XdsEndpoint;
  mode?: XdsMode;
  /** Replaces dynamic_resources and the xDS cluster: merged over {node, admin}, e.g. {static_resources: ...}. */
  staticBootstrap?: BootstrapFragment;
}

export const NODE_CLUSTER = 'spillway-test';
export const XDS_CLUSTER_NAME = 'spillway_xds';
const XDS_CONNECT_TIMEOUT = '1s';
const XDS_KEEPALIVE_INTERVAL = '5s';
const XDS_KEEPALIVE_TIMEOUT = '5s';
// Envoy's default ADS reconnect backoff is 500ms..30s; tests restart the control plane and must not wait that long.
const XDS_RETRY_BASE_INTERVAL = '0.25s';
const XDS_RETRY_MAX_INTERVAL = '1s';

const HTTP_PROTOCOL_OPTIONS_TYPE = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export function socketAddress(host: string, port: number): Record<string, unknown> {
  return { socket_address: { address: host, port_value: port } };
}

/** A one-endpoint load_assignment, the form static clusters use. */
export function loadAssignment(clusterName: string, endpoints: XdsEndpoint[]): Record<string, unknown> {
  return {
    cluster_name: clusterName,
    endpoints: [{ lb_endpoints: endpoints.map((e) => ({ endpoint: { address: socketAddress(e.host, e.port) } })) }],
  };
}

function localityJson(locality: Locality): Record<string, string> {
  const json: Record<string, string> = {};
  if (locality.region !== undefined) json.region = locality.region;
  if (locality.zone !== undefined) json.zone = locality.zone;
  if (locality.subZone !== undefined) json.sub_zone = locality.subZone;
  return json;
}

function xdsCluster(xds: XdsEndpoint): Record<string, unknown> {
  return {
    name: XDS_CLUSTER_NAME,
    // STATIC needs an IP literal; a host name (e.g. "localhost") needs DNS resolution.
    type: net.isIP(xds.host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: XDS_CONNECT_TIMEOUT,
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': HTTP_PROTOCOL_OPTIONS_TYPE,
        explicit_http_config: {
          http2_protocol_options: {
            connection_keepalive: { interval: XDS_KEEPALIVE_INTERVAL, timeout: XDS_KEEPALIVE_TIMEOUT },
          },
        },
      },
    },
    load_assignment: loadAssignment(XDS_CLUSTER_NAME, [xds]),
    ...(xds.tls ? { transport_socket: xdsTransportSocket(xds.tls) } : {}),
  };
}

function xdsTransportSocket(tls: NonNullable<XdsEndpoint['tls']>): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: {
        alpn_protocols: ['h2'],
        tls_certificates: [{ certificate_chain: { filename: tls.certFile }, private_key: { filename: tls.keyFile } }],
        validation_context: { trusted_ca: { filename: tls.caFile } },
      },
    },
  };
}

function dynamicResources(mode: XdsMode): Record<string, unknown> {
  const viaAds = { ads: {}, resource_api_version: 'V3' };
  return {
    ads_config: {
      api_type: mode === 'delta' ? 'DELTA_GRPC' : 'GRPC',
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
  };
}

export function buildBootstrap(options: BootstrapOptions): Record<string, unknown> {
  const common = {
    node: {
      id: options.nodeId,
      cluster: NODE_CLUSTER,
      metadata: options.metadata,
      ...(options.locality ? { locality: localityJson(options.locality) } : {}),
    },
    admin: { address: socketAddress(options.adminHost, options.adminPort) },
  };
  if (options.staticBootstrap) return { ...common, ...options.staticBootstrap };
  if (!options.xds || !options.mode) throw new Error('startEnvoy needs xds and mode unless staticBootstrap is given');
  return {
    ...common,
    dynamic_resources: dynamicResources(options.mode),
    static_resources: { clusters: [xdsCluster(options.xds)] },
    // Load reports go to the same server, for the clusters that name `lrs_server: self`.
    cluster_manager: {
      load_stats_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER_NAME } }],
      },
    },
  };
}
