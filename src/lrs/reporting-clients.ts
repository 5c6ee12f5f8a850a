// All the LRS side may know about xDS clients and the mesh: a read-only lookup handed down when the
// app is wired (src/spillway.ts), so load reporting never reaches into the xDS server's internals.

/** Envoy cluster names a node was sent (its view's CDS). */
export interface SentClusters {
  has(envoyCluster: string): boolean;
}

export interface ReportingClients {
  /** A mesh cluster of the current model (CLUSTER_ID, or a locality's sub_zone). */
  isMeshCluster(name: string): boolean;
  /**
   * What was sent to `nodeId` over a live xDS stream on this replica admitted for mesh cluster
   * `clusterId`; undefined when the node has no such stream (its reports then count for nothing).
   */
  sentClusters(nodeId: string, clusterId: string): SentClusters | undefined;
}
