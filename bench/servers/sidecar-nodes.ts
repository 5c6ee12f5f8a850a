// Sidecar nodes in Spillway's convention (node.metadata.CLUSTER_ID picks the view), shared by Spillway
// and the go-control-plane peer, which serves Spillway's resources keyed the same way.
import { BenchNode } from '../load/protocol';
import {
  BENCH_NAMESPACE,
  MeshSize,
  SIDECAR_PORT,
  clusterName,
  endpointAddress,
  regionOf,
  scopedWorkloadOf,
  serviceName,
  zoneOf,
} from '../mesh/generate-mesh';
import { DEFAULT_TLS_DIR } from '../../src/xds/translate/mtls';

export function sidecarNode(size: MeshSize, id: string, index: number): BenchNode {
  const cluster = index % size.clusters;
  return {
    id,
    metadata: { CLUSTER_ID: clusterName(cluster) },
    locality: { region: regionOf(cluster), zone: zoneOf(cluster) },
  };
}

export function sidecarAnchors(size: MeshSize): BenchNode[] {
  return Array.from({ length: size.clusters }, (_, c) => sidecarNode(size, `anchor-${c}`, c));
}

/**
 * A workload sidecar of an mTLS mesh, as its bootstrap would describe it (docs/OPERATIONS.md, node
 * metadata): its cluster, its pod's address (INSTANCE_IP), where it terminates mTLS (INBOUND_PORT, the
 * endpoints' sidecarPort) and where its certificates are (TLS_DIR). Pod `index` is a distinct endpoint of
 * its cluster, spread over the services first, so every pod fronts a real workload; `distinct` false
 * gives every sidecar of a cluster the metadata of that cluster's first pod (one shared view).
 */
export function mtlsPodNode(size: MeshSize, id: string, index: number, distinct: boolean): BenchNode {
  const pod = distinct ? index : index % size.clusters;
  const cluster = pod % size.clusters;
  const k = Math.floor(pod / size.clusters);
  if (k >= size.services * size.endpointsPerCluster) {
    throw new Error(
      `${index + 1} distinct pods do not fit in ${size.services} services x ${size.endpointsPerCluster} endpoints x ${size.clusters} clusters`,
    );
  }
  const instanceIp = endpointAddress(size, cluster, k % size.services, Math.floor(k / size.services));
  return {
    id,
    metadata: {
      CLUSTER_ID: clusterName(cluster),
      INSTANCE_IP: instanceIp,
      INBOUND_PORT: String(SIDECAR_PORT),
      TLS_DIR: DEFAULT_TLS_DIR,
    },
    locality: { region: regionOf(cluster), zone: zoneOf(cluster) },
  };
}

/** One workload sidecar per cluster, with the shared pods' metadata, so those views exist before the storm. */
export function mtlsPodAnchors(size: MeshSize): BenchNode[] {
  return Array.from({ length: size.clusters }, (_, c) => mtlsPodNode(size, `anchor-${c}`, c, false));
}

/**
 * A sidecar of a scoped workload (scopedWorkloadOf), named in node metadata SERVICE as
 * `<name>.<namespace>` (how a sidecar says which workload it fronts), spread over the clusters.
 */
export function scopedSidecarNode(size: MeshSize, id: string, index: number): BenchNode {
  const node = sidecarNode(size, id, index);
  return {
    ...node,
    metadata: { ...node.metadata, SERVICE: `${serviceName(scopedWorkloadOf(size, index))}.${BENCH_NAMESPACE}` },
  };
}

/** The Envoy cluster and EDS name of a generated service (Istio's naming, which Spillway shares). */
export function outboundName(service: string, port: number): string {
  return `outbound|${port}||${service}`;
}
