// CDS: one EDS cluster per (service port, subset), fed over ADS, with outlier detection on.
import { MeshService, ServicePort } from '../../mesh/model';
import { Cluster, TypedConfig } from './envoy-types';
import { outlierDetection } from './outlier-detection';

export const CONNECT_TIMEOUT_MS = 1_000;
const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export function usesHttp2(port: ServicePort): boolean {
  return port.protocol === 'grpc' || port.protocol === 'http2';
}

function http2Options(): Record<string, TypedConfig> {
  return {
    [HTTP_PROTOCOL_OPTIONS]: {
      '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
      explicit_http_config: { http2_protocol_options: {} },
    },
  };
}

export function edsCluster(name: string, service: MeshService, port: ServicePort): Cluster {
  const cluster: Cluster = {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    connect_timeout: { seconds: Math.floor(CONNECT_TIMEOUT_MS / 1000), nanos: (CONNECT_TIMEOUT_MS % 1000) * 1_000_000 },
    lb_policy: 'ROUND_ROBIN',
    outlier_detection: outlierDetection(service.outlier),
  };
  if (usesHttp2(port)) cluster.typed_extension_protocol_options = http2Options();
  return cluster;
}
