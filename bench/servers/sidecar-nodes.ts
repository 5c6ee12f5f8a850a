// Sidecar nodes in Spillway's convention (node.metadata.CLUSTER_ID picks the view), shared by Spillway
// and the go-control-plane peer, which serves Spillway's resources keyed the same way.
import { BenchNode } from '../load/protocol';
import { MeshSize, clusterName, regionOf, zoneOf } from '../mesh/generate-mesh';

export function sidecarNode(size: MeshSize, id: string, index: number): BenchNode {
  const cluster = index % size.clusters;
  return { id, metadata: { CLUSTER_ID: clusterName(cluster) }, locality: { region: regionOf(cluster), zone: zoneOf(cluster) } };
}

export function sidecarAnchors(size: MeshSize): BenchNode[] {
  return Array.from({ length: size.clusters }, (_, c) => sidecarNode(size, `anchor-${c}`, c));
}

/** The Envoy cluster and EDS name of a generated service (Istio's naming, which Spillway shares). */
export function outboundName(service: string, port: number): string {
  return `outbound|${port}||${service}`;
}
