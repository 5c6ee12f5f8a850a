// Istio extension mode: the EnvoyFilters that let istiod-managed sidecars take their endpoints from Spillway.
// istiod keeps listeners, routes, certificates and policy; these patches change only what Istio lacks:
//   1. per exported service port, istiod's own outbound clusters (`outbound|<port>|<subset>|<host>`, the
//      names Spillway also uses) get their EDS from Spillway instead of istiod's ADS, plus Spillway's outlier
//      detection and the subset header its gateways route on; Spillway serves those names per caller cluster
//      (node metadata CLUSTER_ID, which Istio already sets) with local endpoints first and remote gateways
//      weighted by their ready endpoints;
//   2. for a canary, the `<canary>-or-<stable>` aggregate (and, for the locality-first order, its EDS
//      children) is added, and the canary routes go first in istiod's virtual host for the service.
// Every cluster and route comes from Spillway's own builders, so Istio sidecars get what Spillway's own
// sidecars get. Sidecars reach Spillway with Envoy's Google gRPC client (a target URI): Envoy accepts an
// `envoy_grpc` config source only on a cluster defined in the bootstrap, never on one an EnvoyFilter adds.
import { MeshCluster, MeshModel, ServiceEntry, serviceHost } from '../mesh/model';
import { isVisibleFrom, sortedServices, subsetsOf } from '../mesh/rules';
import { CLUSTER_TYPE, XdsTypeUrl } from '../xds/resource-types';
import { ResourceCollector } from '../xds/translate/resource-collector';
import { portClusters } from '../xds/translate/service-clusters';
import { clusterRoute, serviceRoutes } from '../xds/translate/route-builder';
import { outboundClusterName } from '../xds/translate/names';
import { encodeResource } from '../xds/resource/encoded-resource';
import { ResourceMessages } from '../xds/resource/envoy-messages';
import { JsonValue, toProtoJson } from './proto-json';

/** The stat prefix of the sidecars' gRPC channel to Spillway (Envoy's `config.grpc.spillway_xds.*`). */
export const SPILLWAY_XDS_STAT_PREFIX = 'spillway_xds';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'spillway';
export const ENVOY_FILTER_API_VERSION = 'networking.istio.io/v1alpha3';
/**
 * istiod's clusters wait for their first endpoints forever (initial_fetch_timeout 0s). Patched clusters
 * wait this long for Spillway, then start without endpoints: a sidecar that starts while Spillway is down
 * still gets ready for every other service.
 */
export const DEFAULT_INITIAL_FETCH_TIMEOUT_S = 15;
const CLUSTER_MESSAGE = 'envoy.config.cluster.v3.Cluster';
const ROUTE_MESSAGE = 'envoy.config.route.v3.Route';
/** What a MERGE takes from Spillway's cluster: istiod keeps its own load balancer, TLS and metadata. */
const MERGED_CLUSTER_FIELDS = ['outlier_detection', 'common_lb_config', 'typed_extension_protocol_options'] as const;

export interface IstioExtensionOptions {
  /** Spillway's xDS address as the sidecars reach it: an IP or DNS name, and a port. */
  xdsHost: string;
  xdsPort: number;
  /** Namespace of the EnvoyFilters: Istio's root namespace (istio-system) applies them to every sidecar. */
  namespace: string;
  initialFetchTimeoutS?: number;
}

type Json = Record<string, JsonValue>;

export interface ConfigPatch {
  applyTo: 'CLUSTER' | 'HTTP_ROUTE';
  match: Json;
  patch: { operation: 'ADD' | 'MERGE' | 'INSERT_FIRST'; value: Json };
}

export interface EnvoyFilterResource {
  apiVersion: typeof ENVOY_FILTER_API_VERSION;
  kind: 'EnvoyFilter';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: { configPatches: ConfigPatch[] };
}

export interface IstioExtension {
  filters: EnvoyFilterResource[];
  /** What an operator must know: per service, what the patches assume or leave out. */
  notes: string[];
}

interface Recorded {
  typeUrl: XdsTypeUrl;
  name: string;
  message: object;
}

/** Runs Spillway's cluster builders for one service port and keeps the messages (not only the bytes). */
function builtClusters(model: MeshModel, client: MeshCluster, entry: ServiceEntry, portIndex: number) {
  const recorded: Recorded[] = [];
  const out = new ResourceCollector(<T extends XdsTypeUrl>(typeUrl: T, name: string, message: ResourceMessages[T]) => {
    recorded.push({ typeUrl, name, message });
    return encodeResource(typeUrl, name, message);
  });
  const port = entry.service.ports[portIndex];
  if (!port) throw new Error(`no port ${portIndex}`);
  const targets = portClusters(out, model, client, entry, port);
  const clusters = recorded.filter((r) => r.typeUrl === CLUSTER_TYPE) as {
    name: string;
    message: Record<string, unknown>;
  }[];
  return { port, targets, clusters };
}

function spillwayEdsConfig(options: IstioExtensionOptions): Record<string, unknown> {
  return {
    eds_config: {
      api_config_source: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        set_node_on_first_message_only: true,
        grpc_services: [{ google_grpc: { target_uri: targetUri(options), stat_prefix: SPILLWAY_XDS_STAT_PREFIX } }],
      },
      resource_api_version: 'V3',
      initial_fetch_timeout: { seconds: options.initialFetchTimeoutS ?? DEFAULT_INITIAL_FETCH_TIMEOUT_S },
    },
  };
}

/** gRPC target syntax: an IPv6 address goes in brackets. */
function targetUri(options: IstioExtensionOptions): string {
  return options.xdsHost.includes(':')
    ? `[${options.xdsHost}]:${options.xdsPort}`
    : `${options.xdsHost}:${options.xdsPort}`;
}

function filterName(entry: ServiceEntry): string {
  return `spillway-${entry.service.name}-${entry.service.namespace}`.slice(0, 253);
}

function envoyFilter(
  name: string,
  options: IstioExtensionOptions,
  configPatches: ConfigPatch[],
  service?: string,
): EnvoyFilterResource {
  return {
    apiVersion: ENVOY_FILTER_API_VERSION,
    kind: 'EnvoyFilter',
    metadata: {
      name,
      namespace: options.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      ...(service ? { annotations: { 'spillway.io/service': service } } : {}),
    },
    spec: { configPatches },
  };
}

/** The patches for one exported service; `notes` gets what the operator must know about it. */
function servicePatches(
  model: MeshModel,
  client: MeshCluster,
  entry: ServiceEntry,
  options: IstioExtensionOptions,
  notes: string[],
): ConfigPatch[] {
  const host = serviceHost(entry.service);
  const patches: ConfigPatch[] = [];
  const subsets = subsetsOf(entry);
  const canary = entry.service.canary;
  for (let index = 0; index < entry.service.ports.length; index++) {
    const { port, targets, clusters } = builtClusters(model, client, entry, index);
    // The names istiod generates itself: the service, and each subset a DestinationRule defines.
    const istioNames = new Set([
      outboundClusterName(port.port, host),
      ...subsets.map((subset) => outboundClusterName(port.port, host, subset)),
    ]);
    for (const cluster of clusters) {
      if (istioNames.has(cluster.name)) {
        const value: Record<string, unknown> = { eds_cluster_config: spillwayEdsConfig(options) };
        for (const field of MERGED_CLUSTER_FIELDS)
          if (cluster.message[field] !== undefined) value[field] = cluster.message[field];
        patches.push({
          applyTo: 'CLUSTER',
          match: { context: 'SIDECAR_OUTBOUND', cluster: { name: cluster.name } },
          patch: { operation: 'MERGE', value: toProtoJson(CLUSTER_MESSAGE, value) },
        });
      } else {
        // Clusters only Spillway has (the canary aggregate, locality-first children): added whole, their
        // endpoints from Spillway, their load reports nowhere (istiod serves no LRS).
        const { lrs_server: _lrs, transport_socket: _tls, ...rest } = cluster.message;
        const value = rest.eds_cluster_config ? { ...rest, eds_cluster_config: spillwayEdsConfig(options) } : rest;
        patches.push({
          applyTo: 'CLUSTER',
          match: { context: 'SIDECAR_OUTBOUND' },
          patch: { operation: 'ADD', value: toProtoJson(CLUSTER_MESSAGE, value) },
        });
      }
    }
    if (canary && targets.fallbackCluster) {
      const routes = serviceRoutes(entry, targets.defaultCluster, targets.fallbackCluster, clusterRoute);
      // INSERT_FIRST prepends: the last patch ends up first, so insert in reverse to keep Spillway's order.
      for (const route of [...routes].reverse()) {
        patches.push({
          applyTo: 'HTTP_ROUTE',
          match: {
            context: 'SIDECAR_OUTBOUND',
            routeConfiguration: { portNumber: port.port, vhost: { name: `${host}:${port.port}` } },
          },
          patch: { operation: 'INSERT_FIRST', value: toProtoJson(ROUTE_MESSAGE, route) },
        });
      }
    }
  }
  if (canary) {
    notes.push(
      `${host}: the canary needs a DestinationRule defining subsets ${canary.canary} and ${canary.stable} (by label ${entry.service.subsetLabel}); Spillway's canary routes go before the routes of any VirtualService for this host`,
    );
    if (canary.order === 'locality-first')
      notes.push(`${host}: the locality-first canary children are added without Istio's mTLS (plaintext)`);
  }
  return patches;
}

/**
 * The EnvoyFilters for a mesh: one per exported service (named spillway-<name>-<namespace>), in a stable order so re-rendering an unchanged mesh changes nothing.
 */
export function istioEnvoyFilters(model: MeshModel, options: IstioExtensionOptions): IstioExtension {
  const notes: string[] = [];
  const filters: EnvoyFilterResource[] = [];
  const client = [...model.clusters.values()].sort((a, b) => a.name.localeCompare(b.name))[0];
  if (!client) return { filters, notes };
  for (const entry of sortedServices(model)) {
    if (!entry.service.exported) continue;
    // A service no cluster can see has nothing to serve (it has no endpoints anywhere).
    if (![...model.clusters.keys()].some((cluster) => isVisibleFrom(entry, cluster))) continue;
    try {
      filters.push(
        envoyFilter(
          filterName(entry),
          options,
          servicePatches(model, client, entry, options, notes),
          serviceHost(entry.service),
        ),
      );
    } catch (error) {
      notes.push(`${serviceHost(entry.service)}: skipped: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { filters, notes };
}
