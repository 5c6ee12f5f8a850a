// Which parts of a load report count: only loads of Envoy clusters the reporting node was sent, served
// by a known mesh cluster, and only for the node's own cluster. Everything else is dropped and counted,
// so a process that merely can reach the LRS port cannot move a cluster's measured failover state.
import type { LoadSample } from './load-report-store';
import type { ClusterLoad } from './report-decoder';
import type { ReportingClients } from './reporting-clients';

export const DROP_REASONS = ['no_xds_stream', 'cluster_not_sent', 'unknown_locality', 'store_full'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface Attribution {
  samples: LoadSample[];
  /** Loads (one cluster's requests to one locality) not counted, by reason. */
  dropped: Partial<Record<DropReason, number>>;
  /** One example for the log line: what was dropped, and why. */
  example?: { reason: DropReason; envoyCluster: string; target: string };
}

function loadsIn(clusters: readonly ClusterLoad[]): number {
  return clusters.reduce((sum, cluster) => sum + cluster.localities.length, 0);
}

export function attribute(
  reporter: { nodeId: string; cluster: string },
  clusters: readonly ClusterLoad[],
  clients: ReportingClients,
): Attribution {
  const sent = clients.sentClusters(reporter.nodeId, reporter.cluster);
  if (!sent) {
    const loads = loadsIn(clusters);
    const first = clusters.find((cluster) => cluster.localities.length > 0);
    return {
      samples: [],
      dropped: loads > 0 ? { no_xds_stream: loads } : {},
      example: first
        ? { reason: 'no_xds_stream', envoyCluster: first.name, target: first.localities[0]?.subZone ?? '' }
        : undefined,
    };
  }
  const result: Attribution = { samples: [], dropped: {} };
  const drop = (reason: DropReason, count: number, envoyCluster: string, target: string) => {
    result.dropped[reason] = (result.dropped[reason] ?? 0) + count;
    result.example ??= { reason, envoyCluster, target };
  };
  for (const cluster of clusters) {
    if (cluster.localities.length === 0) continue;
    if (!sent.has(cluster.name)) {
      drop('cluster_not_sent', cluster.localities.length, cluster.name, cluster.localities[0]?.subZone ?? '');
      continue;
    }
    for (const locality of cluster.localities) {
      if (!clients.isMeshCluster(locality.subZone)) {
        drop('unknown_locality', 1, cluster.name, locality.subZone);
        continue;
      }
      result.samples.push({
        clientCluster: reporter.cluster,
        envoyCluster: cluster.name,
        targetCluster: locality.subZone,
        requests: locality.requests,
        errors: locality.errors,
      });
    }
  }
  return result;
}
