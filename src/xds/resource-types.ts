// The xDS resource types Spillway serves, as literal types so every map keyed by type URL is checked.

export const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ENDPOINT_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
export const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_TYPE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';

export type XdsTypeUrl = typeof CLUSTER_TYPE | typeof ENDPOINT_TYPE | typeof LISTENER_TYPE | typeof ROUTE_TYPE;

/** Make before break: clusters before the endpoints they use, listeners before the routes they name. */
export const PUSH_ORDER: readonly XdsTypeUrl[] = [CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE];

const SHORT_NAMES: Record<XdsTypeUrl, string> = {
  [CLUSTER_TYPE]: 'CDS',
  [ENDPOINT_TYPE]: 'EDS',
  [LISTENER_TYPE]: 'LDS',
  [ROUTE_TYPE]: 'RDS',
};

const MESSAGE_NAMES: Record<XdsTypeUrl, string> = {
  [CLUSTER_TYPE]: 'envoy.config.cluster.v3.Cluster',
  [ENDPOINT_TYPE]: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
  [LISTENER_TYPE]: 'envoy.config.listener.v3.Listener',
  [ROUTE_TYPE]: 'envoy.config.route.v3.RouteConfiguration',
};

export function isXdsTypeUrl(value: string): value is XdsTypeUrl {
  return Object.prototype.hasOwnProperty.call(SHORT_NAMES, value);
}

export function shortTypeName(typeUrl: XdsTypeUrl): string {
  return SHORT_NAMES[typeUrl];
}

export function messageNameOf(typeUrl: XdsTypeUrl): string {
  return MESSAGE_NAMES[typeUrl];
}

/**
 * In state-of-the-world xDS, a CDS or LDS response is the complete set: a resource missing from it is
 * deleted. EDS and RDS resources are only dropped when the client stops naming them.
 */
export function isCompleteSetType(typeUrl: XdsTypeUrl): boolean {
  return typeUrl === CLUSTER_TYPE || typeUrl === LISTENER_TYPE;
}

export const SUPPORTED_TYPES_TEXT = 'CDS, EDS, LDS and RDS (envoy.config.*.v3 type URLs)';
