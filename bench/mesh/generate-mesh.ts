// Generated meshes of a chosen size: S services, each with E endpoints in every one of C clusters. The
// same description feeds every server under test (Spillway's model, the peers' inputs), so all serve
// the same services and endpoints.
import { MeshCluster, MeshEndpoint, MeshModel, MeshService, ServiceEntry, serviceHost } from '../../src/mesh/model';

export interface MeshSize {
  services: number;
  endpointsPerCluster: number;
  clusters: number;
  /** Every service `mtls: true`, every endpoint with its sidecar on SIDECAR_PORT (the workload-pods runs). */
  mtls?: boolean;
  /** Every service declares the services it calls, this many (the scoped workload): see callsOf. */
  callsPerWorkload?: number;
}

/**
 * The services the benchmark's endpoint changes touch, in turn (service k mod this many): every scoped
 * workload calls them, so every client sees every change, as in the unscoped runs.
 */
export const FLIPPED_SERVICES = 4;

/**
 * The workloads whose sidecars the scoped workload runs: every service but the flipped ones, so each calls
 * all the flipped services (a service does not call itself).
 */
export function scopedWorkloads(size: MeshSize): number[] {
  const first = size.services > FLIPPED_SERVICES ? FLIPPED_SERVICES : 0;
  return Array.from({ length: size.services - first }, (_, i) => first + i);
}

/** The workload of scoped client `index`: the workloads in turn. */
export function scopedWorkloadOf(size: MeshSize, index: number): number {
  const workloads = scopedWorkloads(size);
  return workloads[index % workloads.length];
}

/**
 * What service `s` calls in the scoped workload: the flipped services and the next ones after itself, up to
 * `callsPerWorkload` distinct services (never itself).
 */
export function callsOf(size: MeshSize, s: number): number[] {
  const wanted = Math.min(size.callsPerWorkload ?? 0, size.services - 1);
  const calls = new Set<number>();
  for (let k = 0; k < Math.min(FLIPPED_SERVICES, size.services) && calls.size < wanted; k++) if (k !== s) calls.add(k);
  for (let step = 1; calls.size < wanted; step++) calls.add((s + step) % size.services);
  return [...calls].sort((a, b) => a - b);
}

export const SERVICE_PORT = 8080;
export const BENCH_NAMESPACE = 'bench';
export const ENDPOINT_PORT = 20_000;
const GATEWAY_PORT = 15_443;
/** Where every workload sidecar terminates mTLS (the endpoints' `sidecarPort`, the pods' INBOUND_PORT). */
export const SIDECAR_PORT = 15_006;

export function clusterName(index: number): string {
  return `cluster-${index}`;
}

export function serviceName(index: number): string {
  return `svc-${index}`;
}

export function regionOf(clusterIndex: number): string {
  return `region-${clusterIndex}`;
}

export function zoneOf(clusterIndex: number): string {
  return `${regionOf(clusterIndex)}-a`;
}

/**
 * Loopback addresses, one per endpoint, never contacted (the benchmark only moves config):
 * 127.<cluster+1>.<n high byte>.<n low byte> with n = service * endpointsPerCluster + endpoint.
 */
export function endpointAddress(
  size: MeshSize,
  clusterIndex: number,
  serviceIndex: number,
  endpointIndex: number,
): string {
  const n = serviceIndex * size.endpointsPerCluster + endpointIndex;
  if (n > 0xffff)
    throw new Error(`mesh too large for loopback endpoint addresses: ${size.services} x ${size.endpointsPerCluster}`);
  return `127.${clusterIndex + 1}.${n >> 8}.${n & 255}`;
}

export function gatewayAddress(clusterIndex: number): string {
  return `127.0.1.${clusterIndex + 1}`;
}

/** Endpoints that are currently not ready, as "service/cluster/endpoint" keys. */
export type NotReady = ReadonlySet<string>;

export function endpointKey(service: number, cluster: number, endpoint: number): string {
  return `${service}/${cluster}/${endpoint}`;
}

export function generateMesh(size: MeshSize, notReady: NotReady = new Set()): MeshModel {
  const clusters = new Map<string, MeshCluster>();
  for (let c = 0; c < size.clusters; c++) {
    clusters.set(clusterName(c), {
      name: clusterName(c),
      region: regionOf(c),
      zone: zoneOf(c),
      gateway: { address: gatewayAddress(c), port: GATEWAY_PORT },
    });
  }
  const services = new Map<string, ServiceEntry>();
  for (let s = 0; s < size.services; s++) {
    const service: MeshService = {
      name: serviceName(s),
      namespace: BENCH_NAMESPACE,
      ports: [{ name: 'http', port: SERVICE_PORT, protocol: 'http' }],
      exported: true,
      subsetLabel: 'version',
      failover: 'cluster',
      ...(size.mtls ? { mtls: true } : {}),
      ...(size.callsPerWorkload
        ? {
            calls: callsOf(size, s)
              .map((c) => serviceHost({ name: serviceName(c), namespace: BENCH_NAMESPACE }))
              .sort(),
          }
        : {}),
    };
    const endpoints: MeshEndpoint[] = [];
    for (let c = 0; c < size.clusters; c++) {
      for (let e = 0; e < size.endpointsPerCluster; e++) {
        endpoints.push({
          cluster: clusterName(c),
          address: endpointAddress(size, c, s, e),
          ports: { http: ENDPOINT_PORT },
          labels: {},
          ready: !notReady.has(endpointKey(s, c, e)),
          ...(size.mtls ? { sidecarPort: SIDECAR_PORT } : {}),
        });
      }
    }
    services.set(serviceHost(service), { service, endpoints });
  }
  return { clusters, services };
}
