// The merged multi-cluster mesh: what every discovery source contributes to, and all translation reads.
// Plain immutable data; rules on it live in sibling modules (readiness, export, hosts).

export interface GatewayAddress {
  address: string;
  port: number;
  /**
   * `istio`: Istio's own east-west gateway (AUTO_PASSTHROUGH), reached only with Istio mTLS: its EDS
   * endpoint carries `tlsMode: istio`, so an istiod-managed caller's cluster originates ISTIO_MUTUAL with
   * the SNI `outbound_.<port>_.<subset>_.<host>`. Absent: a Spillway gateway.
   */
  kind?: GatewayKind;
}

export type GatewayKind = 'spillway' | 'istio';
export const GATEWAY_KINDS: readonly GatewayKind[] = ['spillway', 'istio'];

export interface MeshCluster {
  name: string;
  region: string;
  zone: string;
  /** East-west gateway as other clusters reach it; absent when the cluster takes no remote traffic. */
  gateway?: GatewayAddress;
}

export type PortProtocol = 'http' | 'http2' | 'grpc';

export interface ServicePort {
  name: string;
  port: number;
  protocol: PortProtocol;
}

/** Outlier detection knobs a service may tune; anything unset takes Spillway's defaults. */
export interface OutlierTuning {
  consecutive5xx?: number;
  intervalMs?: number;
  baseEjectionTimeMs?: number;
  maxEjectionPercent?: number;
}

export type FailoverMode = 'cluster' | 'region';

/** The statuses gRPC clients can retry on by an xDS retry policy (gRFC A44). */
export const GRPC_RETRY_CODES = [
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
] as const;
export type GrpcRetryCode = (typeof GRPC_RETRY_CODES)[number];

export interface CanaryConfig {
  stable: string;
  canary: string;
  /** Percent of requests (that do not match the header) sent to the canary-with-fallback cluster. */
  weight: number;
  header?: { name: string; exact: string };
  order: 'version-first' | 'locality-first';
  /** Envoy overprovisioning factor in percent: how sharply traffic leaves a half-healthy priority. */
  overprovisioningPercent?: number;
}

export interface MeshService {
  name: string;
  namespace: string;
  ports: ServicePort[];
  /** Only exported services cross clusters. */
  exported: boolean;
  /**
   * When sources disagree (Kubernetes: each cluster exports its own Service or not), the clusters whose
   * endpoints are exported; absent means `exported` holds for every cluster.
   */
  exportedFrom?: string[];
  /** Endpoint label whose values name the subsets. */
  subsetLabel: string;
  canary?: CanaryConfig;
  outlier?: OutlierTuning;
  failover: FailoverMode;
  /**
   * gRPC status codes a proxyless client retries on (gRFC A44); absent means `unavailable` only. Envoy
   * sidecars keep their own retry policy.
   */
  grpcRetryOn?: GrpcRetryCode[];
  /**
   * Gentle failback over this window: a cluster whose ready endpoints go from none to some takes its
   * traffic back gradually (failback-ramp.ts), and an endpoint added among ready peers gets Envoy's slow
   * start.
   */
  slowStartWindowMs?: number;
  /**
   * Mutual TLS end to end: callers' sidecars originate mTLS (SNI `outbound_.<port>_.<subset>_.<host>`)
   * to the workloads' sidecars, directly or through SNI-passthrough gateways.
   */
  mtls?: boolean;
  /**
   * The services this workload calls (full hosts, sorted): its Envoy sidecars get only these, plus their
   * own inbound configuration. Absent: every service it can see (or on demand, `serve --scope`).
   */
  calls?: string[];
}

export interface MeshEndpoint {
  /** Mesh cluster the endpoint runs in. */
  cluster: string;
  address: string;
  /** Port number per service port name. */
  ports: Record<string, number>;
  zone?: string;
  labels: Record<string, string>;
  ready: boolean;
  terminating?: boolean;
  /** Port of the workload's sidecar that terminates mTLS (mTLS services only). */
  sidecarPort?: number;
  /**
   * Set while the endpoint's cluster takes its traffic back after having none (the service's
   * `slowStartWindowMs`): the share, in percent, its cluster's sidecars send to their own endpoints.
   */
  rampPercent?: number;
}

export interface ServiceEntry {
  service: MeshService;
  endpoints: MeshEndpoint[];
}

export interface MeshModel {
  clusters: ReadonlyMap<string, MeshCluster>;
  /** Keyed by service host (`name.namespace.svc.cluster.local`). */
  services: ReadonlyMap<string, ServiceEntry>;
}

export const CLUSTER_DOMAIN = 'cluster.local';

export function serviceHost(service: Pick<MeshService, 'name' | 'namespace'>): string {
  return `${service.name}.${service.namespace}.svc.${CLUSTER_DOMAIN}`;
}

export function emptyModel(): MeshModel {
  return { clusters: new Map(), services: new Map() };
}
