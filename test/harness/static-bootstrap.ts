// A no-xDS Envoy config (one HTTP listener → one round-robin cluster) for testing the harness itself.
import { BootstrapFragment, loadAssignment, socketAddress, XdsEndpoint } from './envoy-bootstrap';

export interface StaticHttpProxyOptions {
  listenerPort: number;
  clusterName: string;
  endpoints: XdsEndpoint[];
  listenerHost?: string;
  /** Terminate mutual TLS on the listener (a workload sidecar's inbound side): its certificate, and the CA clients must present a certificate of. */
  downstreamTls?: { certFile: string; keyFile: string; caFile: string };
}

const HCM_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const PREVIOUS_HOSTS_TYPE = 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';
const UPSTREAM_CONNECT_TIMEOUT = '0.5s';
const RETRIES_ON_DEAD_UPSTREAM = 2;

function downstreamTlsSocket(tls: NonNullable<StaticHttpProxyOptions['downstreamTls']>): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      require_client_certificate: true,
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: tls.certFile }, private_key: { filename: tls.keyFile } }],
        validation_context: { trusted_ca: { filename: tls.caFile } },
      },
    },
  };
}

/** staticBootstrap for startEnvoy: routes every request to `clusterName`, retrying on another host if one is down. */
export function staticHttpProxy(options: StaticHttpProxyOptions): BootstrapFragment {
  const route = {
    match: { prefix: '/' },
    route: {
      cluster: options.clusterName,
      retry_policy: {
        retry_on: 'connect-failure,refused-stream,reset',
        num_retries: RETRIES_ON_DEAD_UPSTREAM,
        retry_host_predicate: [
          { name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': PREVIOUS_HOSTS_TYPE } },
        ],
      },
    },
  };
  return {
    static_resources: {
      listeners: [
        {
          name: 'static_http',
          address: socketAddress(options.listenerHost ?? '127.0.0.1', options.listenerPort),
          filter_chains: [
            {
              ...(options.downstreamTls ? { transport_socket: downstreamTlsSocket(options.downstreamTls) } : {}),
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': HCM_TYPE,
                    stat_prefix: 'static_http',
                    route_config: { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [route] }] },
                    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: options.clusterName,
          type: 'STATIC',
          connect_timeout: UPSTREAM_CONNECT_TIMEOUT,
          lb_policy: 'ROUND_ROBIN',
          load_assignment: loadAssignment(options.clusterName, options.endpoints),
        },
      ],
    },
  };
}
