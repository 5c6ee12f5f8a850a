// A sidecar's (or proxyless gRPC client's) whole view: for every service it may call, clusters, endpoints,
// a route in the outbound table, and an API listener per port.
import { MeshModel, ServiceEntry, serviceHost } from '../../mesh/model';
import { isVisibleFrom, sortedServices } from '../../mesh/rules';
import { EncodedResource } from '../resource/encoded-resource';
import { ResourceCollector } from './resource-collector';
import { addInboundListener } from './inbound-translator';
import { LISTENER_TYPE } from '../resource-types';
import { ClientView } from './client-view';
import { apiListener, httpListener } from './listener-builder';
import { SIDECAR_OUTBOUND_LISTENER, SIDECAR_OUTBOUND_ROUTE, apiListenerName } from './names';
import { Route, RouteConfiguration, VirtualHost } from '../resource/envoy-messages';
import { portClusters } from './service-clusters';
import {
  RouteTarget,
  clusterRoute,
  grpcRetryPolicy,
  routeTableOf,
  serviceRoutes,
  virtualHostOf,
} from './route-builder';
import { TranslationIssue } from './translation-issues';
import { ServicePart, ServiceParts, clustersKeyOf } from './service-parts';
import { Steps, runToEnd } from '../steps';
import { namedOnly, viewScopeOf } from './view-scope';

export interface ViewTranslation {
  resources: EncodedResource[];
  issues: TranslationIssue[];
}

/** A route for proxyless gRPC clients: they match on an empty prefix and retry only as the route says. */
function grpcRoute(cluster: string, retryOn?: readonly string[]): Route {
  return { match: { prefix: '' }, route: { cluster, retry_policy: grpcRetryPolicy(retryOn) } };
}

/**
 * grpc-go fails a call (`unknown cluster selected for RPC`, not retried) when a route starts naming a
 * cluster in the instant before its balancer has that cluster. A route that never matches (a 0% runtime
 * fraction) keeps every cluster of the port named, so switching a canary's weight or header names no new
 * cluster; gRPC builds its balancers from the clusters of all routes, matched or not.
 */
export function warmRoute(routable: readonly string[], routes: readonly Route[]): Route | undefined {
  const named = new Set(
    routes.flatMap((r) =>
      r.route?.cluster ? [r.route.cluster] : (r.route?.weighted_clusters?.clusters ?? []).map((c) => c.name),
    ),
  );
  if (routable.every((name) => named.has(name))) return undefined;
  return {
    name: 'keep-clusters-named',
    match: {
      prefix: '',
      runtime_fraction: { default_value: { numerator: 0, denominator: 'HUNDRED' }, runtime_key: 'spillway.never' },
    },
    route: { weighted_clusters: { clusters: routable.map((name) => ({ name, weight: { value: 1 } })) } },
  };
}

/** Everything one service contributes; throws on a bad service (the caller skips it and reports why). */
function translateService(
  out: ResourceCollector,
  model: MeshModel,
  view: ClientView,
  entry: ServiceEntry,
): RouteTarget[] {
  const client = model.clusters.get(view.clusterId);
  if (!client) throw new Error(`unknown client cluster "${view.clusterId}"`);
  const host = serviceHost(entry.service);
  const routeTargets: RouteTarget[] = [];
  for (const port of entry.service.ports) {
    const clusters = portClusters(out, model, client, entry, port, view.tlsDir, view.proxyless);
    routeTargets.push({
      entry,
      port,
      routes: serviceRoutes(entry, clusters.defaultCluster, clusters.fallbackCluster, clusterRoute),
    });
    const listenerName = apiListenerName(host, port.port);
    const grpcRoutes = serviceRoutes(entry, clusters.defaultCluster, clusters.fallbackCluster, (cluster) =>
      grpcRoute(cluster, entry.service.grpcRetryOn),
    );
    const warm = warmRoute(clusters.routable, grpcRoutes);
    // Last: it never matches, so it shadows nothing.
    if (warm) grpcRoutes.push(warm);
    const inlineRoutes: RouteConfiguration = {
      name: listenerName,
      virtual_hosts: [{ name: listenerName, domains: ['*'], routes: grpcRoutes }],
    };
    out.add(LISTENER_TYPE, listenerName, apiListener(listenerName, inlineRoutes), { inWildcard: false });
  }
  return routeTargets;
}

/** The service's resources and its virtual hosts in the outbound table. */
function servicePart(
  out: ResourceCollector,
  model: MeshModel,
  view: ClientView,
  entry: ServiceEntry,
): ServicePart<VirtualHost[]> {
  const scratch = out.scratch();
  try {
    const routeTargets = translateService(scratch, model, view, entry);
    return { resources: scratch.resources, value: out.prepareVirtualHosts(routeTargets.map(virtualHostOf)) };
  } catch (error) {
    return {
      resources: [],
      issue: { service: serviceHost(entry.service), message: error instanceof Error ? error.message : String(error) },
    };
  }
}

/**
 * What the per-service part of a sidecar view depends on besides the service: every sidecar of a cluster
 * with the same certificate directory and client kind shares it, whatever its listener address or pod.
 */
export function sidecarScope(model: MeshModel, view: ClientView): string {
  return `sidecar|${view.clusterId}|${view.tlsDir ?? ''}|${view.proxyless ? 'grpc' : 'envoy'}|${clustersKeyOf(model)}`;
}

/** The view as steps: one per service, so a big mesh can be translated a slice at a time. */
export function* sidecarViewSteps(
  model: MeshModel,
  view: ClientView,
  out: ResourceCollector,
  parts?: ServiceParts,
): Steps<ViewTranslation> {
  const issues: TranslationIssue[] = [];
  const used: ServicePart<VirtualHost[]>[] = [];
  const scope = sidecarScope(model, view);
  const selection = viewScopeOf(model, view);
  // A scoped view walks only its calls (sorted hosts, as sortedServices orders them), not the whole mesh.
  const entries = selection.calls
    ? [...selection.calls].flatMap((host) => model.services.get(host) ?? [])
    : sortedServices(model);
  for (const entry of entries) {
    if (!isVisibleFrom(entry, view.clusterId)) continue;
    const host = serviceHost(entry.service);
    const part = parts
      ? parts.part(scope, entry, () => servicePart(out, model, view, entry))
      : servicePart(out, model, view, entry);
    if (part.issue) issues.push(part.issue);
    else {
      out.addEncoded(selection.onDemand ? namedOnly(part.resources, host) : part.resources);
      used.push(part);
    }
    yield;
  }
  addInboundListener(out, model, view);
  yield; // the table joins every service's virtual host: a step of its own
  const routeTable = () =>
    out.encodeRouteTable(
      SIDECAR_OUTBOUND_ROUTE,
      routeTableOf(
        SIDECAR_OUTBOUND_ROUTE,
        used.flatMap((p) => p.value ?? []),
      ),
    );
  // Views of one scope that select different services must not take turns replacing one memoised table.
  const tableScope = selection.key === '' ? scope : `${scope}|${selection.key}`;
  out.addEncoded([parts ? parts.assembled(tableScope, SIDECAR_OUTBOUND_ROUTE, used, routeTable) : routeTable()]);
  const listener = httpListener(
    SIDECAR_OUTBOUND_LISTENER,
    view.outboundAddress,
    view.outboundPort,
    SIDECAR_OUTBOUND_ROUTE,
    'outbound',
    selection.onDemand,
  );
  out.add(LISTENER_TYPE, SIDECAR_OUTBOUND_LISTENER, listener);
  return { resources: out.resources, issues };
}

export function translateSidecarView(
  model: MeshModel,
  view: ClientView,
  out: ResourceCollector = new ResourceCollector(),
  parts?: ServiceParts,
): ViewTranslation {
  return runToEnd(sidecarViewSteps(model, view, out, parts));
}
