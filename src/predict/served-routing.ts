// Where a view's traffic goes, read from the resources the translator produced for it: EDS priorities,
// locality weights (each locality's sub_zone is the mesh cluster it stands for), and the canary
// aggregate's child order from CDS. Reads decisions; makes none.
import { EncodedResource, messageOf } from '../xds/resource/encoded-resource';
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../xds/resource-types';
import { Cluster, ClusterLoadAssignment } from '../xds/resource/envoy-messages';
import { unpackAny } from '../xds/resource/typed-any';
import { AGGREGATE_CONFIG_TYPE } from '../xds/translate/cluster-builder';

export interface PriorityShares {
  priority: number;
  /** Mesh cluster -> summed endpoint weight at this priority. */
  weights: Record<string, number>;
}

/** One EDS resource (`outbound|port|subset|host`) as routing. */
export interface ServedRouting {
  edsName: string;
  port: number;
  subset: string;
  host: string;
  /** Ascending; the first gets all traffic while its endpoints are healthy. */
  priorities: PriorityShares[];
}

export interface ViewRouting {
  /** By EDS name. */
  byName: Map<string, ServedRouting>;
  /** By service host: what-if looks up one service's clusters without walking the whole view. */
  byHost: Map<string, ServedRouting[]>;
  /** Aggregate cluster name -> children in failover order. */
  aggregates: Map<string, string[]>;
}

/** `outbound|8080|v1|checkout.shop.svc.cluster.local` -> parts; undefined for other names and locality tiers. */
export function parseOutboundName(name: string): { port: number; subset: string; host: string } | undefined {
  const parts = name.split('|');
  if (parts.length !== 4 || parts[0] !== 'outbound') return undefined;
  const [, port = '', subset = '', host = ''] = parts;
  if (subset.includes('~')) return undefined; // a locality-first tier child: its subset's own cluster covers it
  return { port: Number(port), subset, host };
}

export function routingOf(assignment: ClusterLoadAssignment): PriorityShares[] {
  const byPriority = new Map<number, Record<string, number>>();
  for (const locality of assignment.endpoints ?? []) {
    const cluster = locality.locality?.sub_zone ?? '';
    const priority = locality.priority ?? 0;
    const weights = byPriority.get(priority) ?? {};
    for (const lb of locality.lb_endpoints ?? [])
      weights[cluster] = (weights[cluster] ?? 0) + (lb.load_balancing_weight?.value ?? 1);
    byPriority.set(priority, weights);
  }
  return [...byPriority.entries()].sort(([a], [b]) => a - b).map(([priority, weights]) => ({ priority, weights }));
}

function aggregateChildren(cluster: Cluster): string[] | undefined {
  if (cluster.cluster_type?.name !== 'envoy.clusters.aggregate') return undefined;
  return unpackAny(cluster.cluster_type.typed_config, AGGREGATE_CONFIG_TYPE)?.clusters;
}

export function viewRouting(resources: readonly EncodedResource[]): ViewRouting {
  const byName = new Map<string, ServedRouting>();
  const byHost = new Map<string, ServedRouting[]>();
  const aggregates = new Map<string, string[]>();
  for (const resource of resources) {
    const assignment = messageOf(resource, ENDPOINT_TYPE);
    const cluster = messageOf(resource, CLUSTER_TYPE);
    if (assignment) {
      const parsed = parseOutboundName(resource.name);
      if (!parsed) continue;
      const routing = { edsName: resource.name, ...parsed, priorities: routingOf(assignment) };
      byName.set(resource.name, routing);
      const list = byHost.get(parsed.host);
      if (list) list.push(routing);
      else byHost.set(parsed.host, [routing]);
    } else if (cluster) {
      const children = aggregateChildren(cluster);
      if (children) aggregates.set(resource.name, children);
    }
  }
  return { byName, byHost, aggregates };
}

/** Shares (0..1) of the first priority: where traffic goes while those endpoints are healthy. */
export function firstShares(routing: ServedRouting | undefined): Record<string, number> {
  const weights = routing?.priorities[0]?.weights ?? {};
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  const shares: Record<string, number> = {};
  for (const [cluster, weight] of Object.entries(weights)) shares[cluster] = total === 0 ? 0 : weight / total;
  return shares;
}

/** The next child of an aggregate that has somewhere to send traffic, after `edsName` (canary -> stable). */
export function fallbackOf(view: ViewRouting, edsName: string): ServedRouting | undefined {
  for (const children of view.aggregates.values()) {
    const index = children.indexOf(edsName);
    if (index < 0) continue;
    for (const child of children.slice(index + 1)) {
      const routing = view.byName.get(child);
      if (routing && routing.priorities.length > 0) return routing;
    }
  }
  return undefined;
}
