// Istio-compatible resource names, so existing dashboards and habits carry over.

/** Envoy cluster and EDS resource name: `outbound|<port>|<subset>|<host>` (empty subset for the plain service). */
export function outboundClusterName(port: number, host: string, subset = ''): string {
  return `outbound|${port}|${subset}|${host}`;
}

/** The canary-with-fallback aggregate cluster: `outbound|<port>|<canary>-or-<stable>|<host>`. */
export function fallbackClusterName(port: number, host: string, canary: string, stable: string): string {
  return outboundClusterName(port, host, `${canary}-or-${stable}`);
}

/** Gateway-side cluster for the endpoints of a service inside the gateway's own cluster. */
export function inboundGatewayClusterName(port: number, host: string, subset = ''): string {
  return `gateway|${port}|${subset}|${host}`;
}

/** What `xds:///<host>:<port>` asks for. */
export function apiListenerName(host: string, port: number): string {
  return `${host}:${port}`;
}

export const SIDECAR_OUTBOUND_ROUTE = 'outbound';
export const GATEWAY_ROUTE = 'gateway';
export const SIDECAR_OUTBOUND_LISTENER = 'outbound';
export const GATEWAY_LISTENER = 'gateway';
