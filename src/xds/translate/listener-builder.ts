// LDS: a sidecar's outbound HTTP listener (routes over RDS), API listeners for proxyless gRPC clients
// (route table inline, served only by name), and a gateway's listener.
import { Any, HttpConnectionManager, HttpFilter, Listener, RouteConfiguration } from '../resource/envoy-messages';
import { typedAny } from '../resource/typed-any';

const HCM_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

const ON_DEMAND_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.on_demand.v3.OnDemand';

function routerFilter(): HttpFilter {
  return { name: 'envoy.filters.http.router', typed_config: typedAny(ROUTER_TYPE, {}) };
}

/**
 * Holds a request whose route names a cluster the proxy lacks, asks for it over the same ADS stream
 * (on-demand CDS; Envoy supports it only over delta xDS), and replays the request once it arrives.
 * Envoy's default wait of 5 s applies.
 */
function onDemandFilter(): HttpFilter {
  return {
    name: 'envoy.filters.http.on_demand',
    typed_config: typedAny(ON_DEMAND_TYPE, { odcds: { source: { ads: {}, resource_api_version: 'V3' } } }),
  };
}

export function httpConnectionManager(
  statPrefix: string,
  routes: { rdsName: string } | { inline: RouteConfiguration },
  onDemand = false,
): Any {
  const routing: Pick<HttpConnectionManager, 'rds' | 'route_config'> =
    'rdsName' in routes
      ? { rds: { route_config_name: routes.rdsName, config_source: { ads: {}, resource_api_version: 'V3' } } }
      : { route_config: routes.inline };
  return typedAny(HCM_TYPE, {
    stat_prefix: statPrefix,
    codec_type: 'AUTO',
    ...routing,
    http_filters: onDemand ? [onDemandFilter(), routerFilter()] : [routerFilter()],
  });
}

/** An HTTP listener on address:port whose routes come over RDS. */
export function httpListener(
  name: string,
  address: string,
  port: number,
  rdsName: string,
  statPrefix: string,
  onDemand = false,
): Listener {
  return {
    name,
    address: { socket_address: { address, port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: httpConnectionManager(statPrefix, { rdsName }, onDemand),
          },
        ],
      },
    ],
  };
}

/** What a proxyless gRPC client gets for `xds:///<host>:<port>`. */
export function apiListener(name: string, routes: RouteConfiguration): Listener {
  return { name, api_listener: { api_listener: httpConnectionManager(name, { inline: routes }) } };
}
