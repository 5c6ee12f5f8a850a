// A cluster's east-west gateway, found in the cluster itself: the Service annotated
// `spillway.io/gateway: "true"` (used only when the clusters file or remote Secret gives no gateway).
import { isIP } from 'net';
import { GatewayAddress } from '../../mesh/model';
import { KubeService, KubeServicePort, objectKey } from './kube-objects';
import { GATEWAY_ANNOTATION } from './service-annotations';

/** Port names that say "this is the gateway's mTLS port", in order of preference. */
const GATEWAY_PORT_NAMES = ['tls', 'gateway'];

export interface GatewayLookup {
  found?: GatewayAddress;
  /** `namespace/name` of the Service found, or of the first annotated one that could not be used. */
  service?: string;
  /** Why the annotated Service cannot be used, for the log. */
  problem?: string;
}

/**
 * The address other clusters reach: `status.loadBalancer.ingress[0].ip`, else `spec.externalIPs[0]`;
 * the port named `tls` or `gateway`, else the first. The first annotated Service (by namespace/name)
 * that has both wins, so the choice is stable.
 */
export function findGatewayService(services: Iterable<KubeService>): GatewayLookup {
  const annotated = [...services]
    .filter((service) => service.meta.annotations[GATEWAY_ANNOTATION]?.trim() === 'true')
    .sort((a, b) => (objectKey(a.meta) < objectKey(b.meta) ? -1 : 1));
  let problem: GatewayLookup | undefined;
  for (const service of annotated) {
    const address = [...service.loadBalancerIPs, ...service.externalIPs].find((ip) => isIP(ip) !== 0);
    const port = gatewayPort(service.ports);
    if (address && port) return { found: { address, port: port.port }, service: objectKey(service.meta) };
    problem ??= {
      service: objectKey(service.meta),
      problem: `${GATEWAY_ANNOTATION}: "true" but the Service has ${address ? 'no TCP port' : 'no status.loadBalancer.ingress[0].ip nor spec.externalIPs'}; give it one, or set the gateway in the clusters file (or remote Secret)`,
    };
  }
  return problem ?? {};
}

function gatewayPort(ports: readonly KubeServicePort[]): KubeServicePort | undefined {
  const tcp = ports.filter((port) => port.transport === 'TCP');
  for (const name of GATEWAY_PORT_NAMES) {
    const named = tcp.find((port) => port.name === name);
    if (named) return named;
  }
  return tcp[0];
}

/** `10.0.0.2:15443` or `[fd00::2]:15443` -> address; else the error text (the gateway is reached by IP). */
export function parseGatewayAddress(text: string): GatewayAddress | string {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text.trim());
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!host || isIP(host) === 0) return `"${text}" is not IP:PORT (IPv6 in brackets: [::1]:15443)`;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return `"${text}": the port must be in 1..65535`;
  return { address: host, port };
}
