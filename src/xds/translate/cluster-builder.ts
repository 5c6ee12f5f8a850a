// CDS: one EDS cluster per (service port, subset), fed over ADS, with outlier detection on.
import { MeshService, ServicePort } from '../../mesh/model';
import { Any, CircuitBreakers, Cluster } from '../resource/envoy-messages';
import { protocolOptions, typedAny } from '../resource/typed-any';
import { outlierDetection } from './outlier-detection';
import { durationFromMs } from '../duration';
import { subsetHeaderProtocolOptions } from './subset-header';

export const CONNECT_TIMEOUT_MS = 1_000;
export const HTTP_PROTOCOL_OPTIONS = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export function usesHttp2(port: ServicePort): boolean {
  return port.protocol === 'grpc' || port.protocol === 'http2';
}

export function edsCluster(name: string, service: MeshService, port: ServicePort): Cluster {
  const cluster: Cluster = {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    connect_timeout: durationFromMs(CONNECT_TIMEOUT_MS),
    lb_policy: 'ROUND_ROBIN',
    outlier_detection: outlierDetection(service.outlier),
    // Envoy batches host health changes for up to 1 s by default; an ejection should act at once.
    common_lb_config: { update_merge_window: { seconds: 0 } },
    circuit_breakers: circuitBreakers(),
    // Clients report their real load per locality to us (LRS), which shows spill the model cannot see.
    lrs_server: { self: {} },
  };
  if (usesHttp2(port)) cluster.typed_extension_protocol_options = http2Options();
  // Envoy ramps an added endpoint's weight over the window (gRPC clients have no slow start and ignore it).
  if (service.slowStartWindowMs !== undefined)
    cluster.round_robin_lb_config = {
      slow_start_config: { slow_start_window: durationFromMs(service.slowStartWindowMs) },
    };
  return cluster;
}

/**
 * Envoy allows only 3 concurrent retries per cluster by default: during a failover every in-flight
 * request retries at once, and the overflow would fail. A budget scales retries with traffic instead.
 */
export const RETRY_BUDGET_PERCENT = 25;
export const MIN_RETRY_CONCURRENCY = 32;

function circuitBreakers(): CircuitBreakers {
  return {
    thresholds: [
      {
        priority: 'DEFAULT',
        retry_budget: {
          budget_percent: { value: RETRY_BUDGET_PERCENT },
          min_retry_concurrency: { value: MIN_RETRY_CONCURRENCY },
        },
      },
    ],
  };
}

function http2Options(): Record<string, Any> {
  return protocolOptions(HTTP_PROTOCOL_OPTIONS, { explicit_http_config: { http2_protocol_options: {} } });
}

/** A sidecar cluster also tells gateways which subset it picked (see subset-header.ts). */
export function withSubsetHeader(cluster: Cluster, port: ServicePort): Cluster {
  return { ...cluster, typed_extension_protocol_options: subsetHeaderProtocolOptions(usesHttp2(port)) };
}

export const AGGREGATE_CONFIG_TYPE = 'type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig';

/**
 * An aggregate cluster: Envoy walks its children's priorities in order, so [canary, stable] means canary
 * local, canary remote, stable local, stable remote. The LB setting is a policy list, because Envoy needs
 * cluster-provided LB while grpc-js-xds takes the first policy it knows (round robin) — one resource fits
 * both. Outlier detection and panic thresholds live on the children: Envoy ignores them on an aggregate.
 */
export function aggregateCluster(name: string, children: string[]): Cluster {
  return {
    name,
    connect_timeout: durationFromMs(CONNECT_TIMEOUT_MS),
    cluster_type: {
      name: 'envoy.clusters.aggregate',
      typed_config: typedAny(AGGREGATE_CONFIG_TYPE, { clusters: children }),
    },
    // The router counts retries against the cluster it routed to: the aggregate needs the budget too.
    circuit_breakers: circuitBreakers(),
    load_balancing_policy: {
      policies: [
        {
          typed_extension_config: {
            name: 'envoy.load_balancing_policies.cluster_provided',
            typed_config: typedAny(
              'type.googleapis.com/envoy.extensions.load_balancing_policies.cluster_provided.v3.ClusterProvided',
              {},
            ),
          },
        },
        {
          typed_extension_config: {
            name: 'envoy.load_balancing_policies.round_robin',
            typed_config: typedAny(
              'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
              {},
            ),
          },
        },
      ],
    },
  };
}

/** A child of a canary aggregate: never panic-route to ejected hosts while the next child has healthy ones. */
export function fallbackChild(cluster: Cluster): Cluster {
  return { ...cluster, common_lb_config: { ...cluster.common_lb_config, healthy_panic_threshold: { value: 0 } } };
}
