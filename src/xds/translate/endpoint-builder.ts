// EDS: local endpoints at priority 0, other clusters' east-west gateways behind them, each gateway
// weighted by how many ready endpoints it fronts (so "one gateway hides n replicas" no longer skews load).
import { MeshCluster, MeshModel, ServiceEntry, ServicePort } from '../../mesh/model';
import { connectPortOf, endpointsFor, isExportedFrom, isRoutable } from '../../mesh/rules';
import {
  Address,
  ClusterLoadAssignment,
  Endpoint,
  Filled,
  LbEndpoint as LbEndpointMessage,
  Locality,
  LocalityLbEndpoints as LocalityLbEndpointsMessage,
  SocketAddress,
} from '../resource/envoy-messages';

// What this builder makes: the generated messages with the fields it always sets (its own code and the
// failover tracker read them back).
export type LbEndpoint = Filled<
  LbEndpointMessage,
  {
    endpoint: Filled<
      Endpoint,
      { address: Filled<Address, { socket_address: Filled<SocketAddress, { address: string; port_value: number }> }> }
    >;
  }
>;
export type LocalityLbEndpoints = Filled<
  LocalityLbEndpointsMessage,
  { locality: Locality; lb_endpoints: LbEndpoint[]; load_balancing_weight: { value: number }; priority: number }
>;
export type LoadAssignment = Filled<ClusterLoadAssignment, { cluster_name: string; endpoints: LocalityLbEndpoints[] }>;
import { subsetMetadata } from './subset-header';

export interface EndpointSelection {
  entry: ServiceEntry;
  port: ServicePort;
  /** Subset value, or undefined for the whole service. */
  subset?: string;
  /** Only the local or only the remote part (children of a locality-first fallback); default both. */
  tier?: 'local' | 'remote';
}

interface Tier {
  localities: LocalityLbEndpoints[];
  /** Same region as the client (used by the region failover ladder). */
  sameRegion: boolean;
}

/**
 * Istio's label on an injected pod, and the metadata istiod gives such an endpoint: an istiod-managed
 * caller's cluster picks its ISTIO_MUTUAL transport socket for endpoints carrying it (auto mTLS), and
 * plaintext for the others. Spillway's own sidecars' clusters have no transport socket matches: ignored.
 */
export const ISTIO_TLS_MODE_LABEL = 'security.istio.io/tlsMode';
const TRANSPORT_SOCKET_MATCH = 'envoy.transport_socket_match';

function lbEndpoint(address: string, port: number, weight: number, subset?: string, tlsMode?: string): LbEndpoint {
  const endpoint: LbEndpoint = {
    endpoint: { address: { socket_address: { address, port_value: port } } },
    health_status: 'HEALTHY',
    load_balancing_weight: { value: weight },
  };
  const metadata = subset !== undefined ? subsetMetadata(subset) : undefined;
  if (tlsMode === undefined) {
    if (metadata) endpoint.metadata = metadata;
    return endpoint;
  }
  endpoint.metadata = {
    filter_metadata: {
      ...metadata?.filter_metadata,
      [TRANSPORT_SOCKET_MATCH]: { fields: { tlsMode: { stringValue: tlsMode } } },
    },
  };
  return endpoint;
}

function byName<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

/** The client cluster's own ready endpoints, grouped by zone; every locality weighted by its endpoint count. */
function localLocalities(client: MeshCluster, selection: EndpointSelection): LocalityLbEndpoints[] {
  const byZone = new Map<string, LbEndpoint[]>();
  for (const endpoint of endpointsFor(selection.entry, selection.port, selection.subset)) {
    if (endpoint.cluster !== client.name || !isRoutable(endpoint)) continue;
    const zone = endpoint.zone ?? client.zone;
    const list = byZone.get(zone) ?? [];
    const port = connectPortOf(selection.entry.service, endpoint, selection.port);
    if (port === undefined) continue;
    list.push(lbEndpoint(endpoint.address, port, 1, selection.subset, endpoint.labels[ISTIO_TLS_MODE_LABEL]));
    byZone.set(zone, list);
  }
  return [...byZone.entries()].sort(byName(([zone]) => zone)).map(([zone, lbEndpoints]) => ({
    locality: { region: client.region, zone, sub_zone: client.name },
    lb_endpoints: lbEndpoints.sort(byName(addressKey)),
    load_balancing_weight: { value: lbEndpoints.length },
    priority: 0,
  }));
}

/** Ready endpoints of the selection in `cluster`. */
export function readyCount(selection: EndpointSelection, cluster: string): number {
  return endpointsFor(selection.entry, selection.port, selection.subset).filter(
    (e) => e.cluster === cluster && isRoutable(e),
  ).length;
}

function remoteTiers(model: MeshModel, client: MeshCluster, selection: EndpointSelection): Tier[] {
  if (!selection.entry.service.exported) return [];
  const tiers: Tier[] = [];
  const remotes = [...model.clusters.values()]
    .filter((c) => c.name !== client.name && c.gateway)
    .sort(byName((c) => c.name));
  for (const remote of remotes) {
    if (!isExportedFrom(selection.entry, remote.name)) continue;
    const count = readyCount(selection, remote.name);
    if (count === 0 || !remote.gateway) continue;
    const locality: Locality = { region: remote.region, zone: remote.zone, sub_zone: remote.name };
    tiers.push({
      sameRegion: remote.region === client.region,
      localities: [
        {
          locality,
          // Istio's own gateway passes Istio mTLS through by SNI: the caller must originate it.
          lb_endpoints: [
            lbEndpoint(
              remote.gateway.address,
              remote.gateway.port,
              count,
              selection.subset,
              remote.gateway.kind === 'istio' ? 'istio' : undefined,
            ),
          ],
          load_balancing_weight: { value: count },
          priority: 0,
        },
      ],
    });
  }
  return tiers;
}

/** Weights are scaled by this while a ramp blends local and remote endpoints (integer weights, fine shares). */
const RAMP_WEIGHT_SCALE = 100;

/**
 * A ramp (a cluster taking its traffic back, see failback-ramp.ts): the local endpoints join the first
 * remote group's priority, each weighted so that together they get `percent` of it.
 */
function blendRamp(local: LocalityLbEndpoints[], group: Tier[], percent: number): LocalityLbEndpoints[] {
  const remote = group.flatMap((tier) => tier.localities);
  const remoteWeight = remote.reduce((sum, l) => sum + l.lb_endpoints.reduce((s, e) => s + weightOf(e), 0), 0);
  const localCount = local.reduce((sum, l) => sum + l.lb_endpoints.length, 0);
  const share = percent / 100;
  const perEndpoint = Math.max(1, Math.round((share * remoteWeight * RAMP_WEIGHT_SCALE) / ((1 - share) * localCount)));
  const scaled = (l: LocalityLbEndpoints, weight: (e: LbEndpoint) => number): LocalityLbEndpoints => ({
    ...l,
    priority: 0,
    lb_endpoints: l.lb_endpoints.map((e) => ({ ...e, load_balancing_weight: { value: weight(e) } })),
  });
  return [
    ...local.map((l) => scaled(l, () => perEndpoint)),
    ...remote.map((l) => scaled(l, (e) => weightOf(e) * RAMP_WEIGHT_SCALE)),
  ];
}

/**
 * Gives priorities with no gap: local at 0 when present; remotes next, split by region when the service
 * asks for the region ladder. While a ramp runs, local shares priority 0 with the first remote group.
 */
function assignPriorities(
  local: LocalityLbEndpoints[],
  remotes: Tier[],
  regionLadder: boolean,
  rampPercent?: number,
): LocalityLbEndpoints[] {
  const result: LocalityLbEndpoints[] = [];
  let next = 0;
  const groups = (
    regionLadder ? [remotes.filter((t) => t.sameRegion), remotes.filter((t) => !t.sameRegion)] : [remotes]
  ).filter((g) => g.length > 0);
  if (rampPercent !== undefined && local.length > 0 && groups.length > 0) {
    result.push(...blendRamp(local, groups[0], rampPercent));
    next = 1;
    for (const group of groups.slice(1)) {
      for (const tier of group) for (const l of tier.localities) result.push({ ...l, priority: next });
      next++;
    }
    return mergeDuplicateAddresses(result);
  }
  if (local.length > 0) {
    for (const l of local) result.push({ ...l, priority: 0 });
    next = 1;
  }
  for (const group of groups) {
    for (const tier of group) for (const l of tier.localities) result.push({ ...l, priority: next });
    next++;
  }
  return mergeDuplicateAddresses(result);
}

function addressKey(endpoint: LbEndpoint): string {
  const socket = endpoint.endpoint.address.socket_address;
  return `${socket.address}:${socket.port_value}`;
}

const weightOf = (endpoint: LbEndpoint): number => endpoint.load_balancing_weight?.value ?? 1;

/**
 * One address appears once per assignment (gRPC rejects duplicates): a later copy adds its weight to the
 * first. Locality weights are then the sum of their endpoints' weights.
 */
function mergeDuplicateAddresses(localities: LocalityLbEndpoints[]): LocalityLbEndpoints[] {
  const firstByAddress = new Map<string, LbEndpoint>();
  const result: LocalityLbEndpoints[] = [];
  for (const locality of localities) {
    const kept: LbEndpoint[] = [];
    for (const endpoint of locality.lb_endpoints) {
      const first = firstByAddress.get(addressKey(endpoint));
      if (first) {
        first.load_balancing_weight = { value: weightOf(first) + weightOf(endpoint) };
        continue;
      }
      const copy = { ...endpoint };
      firstByAddress.set(addressKey(endpoint), copy);
      kept.push(copy);
    }
    if (kept.length > 0) result.push({ ...locality, lb_endpoints: kept });
  }
  for (const locality of result) {
    locality.load_balancing_weight = { value: locality.lb_endpoints.reduce((sum, e) => sum + weightOf(e), 0) };
  }
  return renumberPriorities(result);
}

/** Dropping an emptied locality may leave a gap; close it. */
function renumberPriorities(localities: LocalityLbEndpoints[]): LocalityLbEndpoints[] {
  const used = [...new Set(localities.map((l) => l.priority))].sort((a, b) => a - b);
  const rank = new Map(used.map((p, index) => [p, index]));
  return localities.map((l) => ({ ...l, priority: rank.get(l.priority) as number }));
}

/** The ramp percent of the client cluster's own ready endpoints, while its cluster takes traffic back. */
function rampOf(client: MeshCluster, selection: EndpointSelection): number | undefined {
  for (const endpoint of endpointsFor(selection.entry, selection.port, selection.subset)) {
    if (endpoint.cluster === client.name && isRoutable(endpoint) && endpoint.rampPercent !== undefined)
      return endpoint.rampPercent;
  }
  return undefined;
}

/** EDS for a sidecar (or proxyless client) in `client`. */
export function sidecarLoadAssignment(
  name: string,
  model: MeshModel,
  client: MeshCluster,
  selection: EndpointSelection,
): LoadAssignment {
  const local = selection.tier === 'remote' ? [] : localLocalities(client, selection);
  const remotes = selection.tier === 'local' ? [] : remoteTiers(model, client, selection);
  const endpoints = assignPriorities(
    local,
    remotes,
    selection.entry.service.failover === 'region',
    selection.tier === undefined ? rampOf(client, selection) : undefined,
  );
  return withPolicy({ cluster_name: name, endpoints }, selection);
}

/** EDS for the gateway of `gatewayCluster`: its own ready endpoints only, so gateways never chain. */
export function gatewayLoadAssignment(
  name: string,
  gatewayCluster: MeshCluster,
  selection: EndpointSelection,
): LoadAssignment {
  return withPolicy({ cluster_name: name, endpoints: localLocalities(gatewayCluster, selection) }, selection);
}

function withPolicy(assignment: LoadAssignment, selection: EndpointSelection): LoadAssignment {
  const factor = selection.entry.service.canary?.overprovisioningPercent;
  if (factor !== undefined) assignment.policy = { overprovisioning_factor: { value: factor } };
  return assignment;
}
