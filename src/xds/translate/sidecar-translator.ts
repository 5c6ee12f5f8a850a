// A sidecar's (or proxyless gRPC client's) whole view: for every service it may call, clusters, endpoints,
// a route in the outbound table, and an API listener per port.
import { MeshModel, ServiceEntry, serviceHost } from '../../mesh/model';
import { isVisibleFrom, sortedServices } from '../../mesh/rules';
import { EncodedResource, encodeResource } from '../cache/resource';
import { LISTENER_TYPE, ROUTE_TYPE } from '../resource-types';
import { ClientView } from './client-view';
import { apiListener, httpListener } from './listener-builder';
import { SIDECAR_OUTBOUND_LISTENER, SIDECAR_OUTBOUND_ROUTE, apiListenerName } from './names';
import { Route } from './envoy-types';
import { portClusters } from './service-clusters';
import { RouteTarget, clusterRoute, outboundRouteConfiguration, serviceRoutes } from './route-builder';
import { TranslationIssue } from './translation-issues';

export interface ViewTranslation {
  resources: EncodedResource[];
  issues: TranslationIssue[];
}

interface ServiceResources {
  resources: EncodedResource[];
  routeTargets: RouteTarget[];
}

/** A route for proxyless gRPC clients: they match on an empty prefix and retry by their own policy. */
function grpcRoute(cluster: string): Route {
  return { match: { prefix: '' }, route: { cluster } };
}

/** Everything one service contributes; throws on a bad service (the caller skips it and reports why). */
function translateService(model: MeshModel, view: ClientView, entry: ServiceEntry): ServiceResources {
  const client = model.clusters.get(view.clusterId);
  if (!client) throw new Error(`unknown client cluster "${view.clusterId}"`);
  const host = serviceHost(entry.service);
  const resources: EncodedResource[] = [];
  const routeTargets: RouteTarget[] = [];
  for (const port of entry.service.ports) {
    const clusters = portClusters(model, client, entry, port);
    resources.push(...clusters.resources);
    routeTargets.push({ entry, port, routes: serviceRoutes(entry, clusters.defaultCluster, clusters.fallbackCluster, clusterRoute) });
    const listenerName = apiListenerName(host, port.port);
    const inlineRoutes = {
      name: listenerName,
      virtual_hosts: [{ name: listenerName, domains: ['*'], routes: serviceRoutes(entry, clusters.defaultCluster, clusters.fallbackCluster, grpcRoute) }],
    };
    resources.push(encodeResource(LISTENER_TYPE, listenerName, apiListener(listenerName, inlineRoutes), { inWildcard: false }));
  }
  return { resources, routeTargets };
}

export function translateSidecarView(model: MeshModel, view: ClientView): ViewTranslation {
  const resources: EncodedResource[] = [];
  const issues: TranslationIssue[] = [];
  const routeTargets: RouteTarget[] = [];
  for (const entry of sortedServices(model)) {
    if (!isVisibleFrom(entry, view.clusterId)) continue;
    try {
      const translated = translateService(model, view, entry);
      resources.push(...translated.resources);
      routeTargets.push(...translated.routeTargets);
    } catch (error) {
      issues.push({ service: serviceHost(entry.service), message: error instanceof Error ? error.message : String(error) });
    }
  }
  resources.push(encodeResource(ROUTE_TYPE, SIDECAR_OUTBOUND_ROUTE, outboundRouteConfiguration(SIDECAR_OUTBOUND_ROUTE, routeTargets)));
  resources.push(
    encodeResource(
      LISTENER_TYPE,
      SIDECAR_OUTBOUND_LISTENER,
      httpListener(SIDECAR_OUTBOUND_LISTENER, view.outboundAddress, view.outboundPort, SIDECAR_OUTBOUND_ROUTE, 'outbound'),
    ),
  );
  return { resources, issues };
}
