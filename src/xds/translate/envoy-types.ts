// Typed shapes of the Envoy v3 messages Spillway builds (proto field names, the subset we use).
// protobufjs encodes them from these plain objects; Any fields carry '@type'.

export interface Duration {
  seconds: number;
  nanos?: number;
}

export interface UInt32Value {
  value: number;
}

export interface SocketAddress {
  socket_address: { address: string; port_value: number };
}

export interface Locality {
  region?: string;
  zone?: string;
  sub_zone?: string;
}

export interface LbEndpoint {
  endpoint: { address: SocketAddress; hostname?: string };
  health_status?: 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING';
  load_balancing_weight?: UInt32Value;
  metadata?: { filter_metadata: Record<string, StructMsg> };
}

export interface LocalityLbEndpoints {
  locality: Locality;
  lb_endpoints: LbEndpoint[];
  load_balancing_weight: UInt32Value;
  priority: number;
}

export interface ClusterLoadAssignment {
  cluster_name: string;
  endpoints: LocalityLbEndpoints[];
  policy?: { overprovisioning_factor?: UInt32Value };
}

export interface TypedConfig {
  '@type': string;
  [field: string]: unknown;
}

export interface TypedExtensionConfig {
  name: string;
  typed_config: TypedConfig;
}

export interface OutlierDetection {
  consecutive_5xx: UInt32Value;
  interval: Duration;
  base_ejection_time: Duration;
  max_ejection_percent: UInt32Value;
  enforcing_consecutive_5xx: UInt32Value;
  enforcing_success_rate: UInt32Value;
  success_rate_minimum_hosts: UInt32Value;
  success_rate_request_volume: UInt32Value;
  success_rate_stdev_factor: UInt32Value;
  consecutive_gateway_failure: UInt32Value;
  enforcing_consecutive_gateway_failure: UInt32Value;
  split_external_local_origin_errors: boolean;
  consecutive_local_origin_failure: UInt32Value;
  enforcing_consecutive_local_origin_failure: UInt32Value;
  enforcing_local_origin_success_rate: UInt32Value;
  failure_percentage_threshold: UInt32Value;
  enforcing_failure_percentage: UInt32Value;
  enforcing_failure_percentage_local_origin: UInt32Value;
  failure_percentage_minimum_hosts: UInt32Value;
  failure_percentage_request_volume: UInt32Value;
  max_ejection_time: Duration;
  max_ejection_time_jitter: Duration;
  successful_active_health_check_uneject_host: { value: boolean };
  always_eject_one_host: { value: boolean };
}

export interface ConfigSource {
  ads: Record<string, never>;
  resource_api_version: 'V3';
}

export interface Cluster {
  name: string;
  type?: 'EDS' | 'STATIC' | 'ORIGINAL_DST';
  load_assignment?: ClusterLoadAssignment;
  transport_socket?: { name: string; typed_config: TypedConfig };
  cluster_type?: TypedExtensionConfig;
  eds_cluster_config?: { eds_config: ConfigSource; service_name?: string };
  connect_timeout: Duration;
  lb_policy?: 'ROUND_ROBIN' | 'CLUSTER_PROVIDED';
  original_dst_lb_config?: { use_http_header?: boolean; upstream_port_override?: UInt32Value };
  load_balancing_policy?: { policies: { typed_extension_config: TypedExtensionConfig }[] };
  outlier_detection?: OutlierDetection;
  common_lb_config?: { healthy_panic_threshold?: { value: number }; update_merge_window?: Duration };
  typed_extension_protocol_options?: Record<string, TypedConfig>;
  circuit_breakers?: { thresholds: Record<string, unknown>[] };
  lrs_server?: { self: Record<string, never> };
  metadata?: { filter_metadata: Record<string, StructMsg> };
  round_robin_lb_config?: { slow_start_config: { slow_start_window: Duration } };
}

export interface StructMsg {
  // protobufjs bundles Struct/Value with camelCase field names.
  fields: Record<string, { stringValue?: string; numberValue?: number; boolValue?: boolean }>;
}

export interface RouteAction {
  cluster?: string;
  weighted_clusters?: { clusters: { name: string; weight: UInt32Value }[] };
  timeout?: Duration;
  retry_policy?: Record<string, unknown>;
}

export interface Route {
  name?: string;
  match: { prefix?: string; headers?: Record<string, unknown>[]; runtime_fraction?: Record<string, unknown> };
  route?: RouteAction;
  request_headers_to_add?: Record<string, unknown>[];
  request_headers_to_remove?: string[];
  direct_response?: { status: number; body?: { inline_string: string } };
}

export interface VirtualHost {
  name: string;
  domains: string[];
  routes: Route[];
}

export interface RouteConfiguration {
  name: string;
  virtual_hosts: VirtualHost[];
  validate_clusters?: { value: boolean };
}

export interface Listener {
  name: string;
  address?: SocketAddress;
  filter_chains?: Record<string, unknown>[];
  api_listener?: { api_listener: TypedConfig };
  listener_filters?: TypedExtensionConfig[];
}
