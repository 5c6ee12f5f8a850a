// A sidecar's (or proxyless gRPC client's) whole view: for every service it may call, clusters, endpoints,
// a route in the outbound table, and an API listener per port.
import { MeshModel, ServiceEntry, serviceHost } from '../../mesh/model';
import { isVisibleFrom, sortedServices } from '../../mesh/rules';
import { EncodedResource } from '../cache/resource';
import { ResourceCollector } from './resource-collector';
import { addInboundListener } from './inbound-translator';
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

/** A route for proxyless gRPC clients: they match on an empty prefix and retry by their own policy. */
function grpcRoute(cluster: string): Route {
  return { match: { prefix: '' }, route: { cluster } };
}

/** Everything one service contributes; throws on a bad service (the caller skips it and reports why). */
function translateService(out: ResourceCollector, model: MeshModel, view: ClientView, entry: ServiceEntry): RouteTarget[] {
  const client = model.clusters.get(view.clusterId);
  if (!client) throw new Error(`unknown client cluster "${view.clusterId}"`);
  const host = serviceHost(entry.service);
  const routeTargets: RouteTarget[] = [];
  for (const port of entry.service.ports) {
    const clusters = portClusters(out, model, client, entry, port, view.tlsDir, view.proxyless);
    routeTargets.push({ entry, port, routes: serviceRoutes(entry, clusters.defaultCluster, clusters.fallbackCluster, clusterRoute) });
    const listenerName = apiListenerName(host, port.port);
    const inlineRoutes = {
      name: listenerName,
      virtual_hosts: [{ name: listenerName, domains: ['*'], routes: serviceRoutes(entry, clusters.defaultCluster, clusters.fallbackCluster, grpcRoute) }],
    };
    out.add(LISTENER_TYPE, listenerName, apiListener(listenerName, inlineRoutes), { inWildcard: false });
  }
  return routeTargets;
}

export function translateSidecarView(model: MeshModel, view: ClientView, out: ResourceCollector = new ResourceCollector()): ViewTranslation {
  const issues: TranslationIssue[] = [];
  const routeTargets: RouteTarget[] = [];
  for (const entry of sortedServices(model)) {
    if (!isVisibleFrom(entry, view.clusterId)) continue;
    const scratch = out.scratch();
    try {
      routeTargets.push(...translateService(scratch, model, view, entry));
      out.absorb(scratch);
    } catch (error) {
      issues.push({ service: serviceHost(entry.service), message: error instanceof Error ? error.message : String(error) });
    }
  }
  addInboundListener(out, model, view);
  out.add(ROUTE_TYPE, SIDECAR_OUTBOUND_ROUTE, outboundRouteConfiguration(SIDECAR_OUTBOUND_ROUTE, routeTargets));
  out.add(LISTENER_TYPE, SIDECAR_OUTBOUND_LISTENER, httpListener(SIDECAR_OUTBOUND_LISTENER, view.outboundAddress, view.outboundPort, SIDECAR_OUTBOUND_ROUTE, 'outbound'));
  return { resources: out.resources, issues };
}
