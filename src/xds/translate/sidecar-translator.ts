// A sidecar's (or proxyless gRPC client's) whole view: for every service it may call, clusters, endpoints,
// a route in the outbound table, and an API listener per port.
import { MeshModel, ServiceEntry, serviceHost } from '../../mesh/model';
import { isVisibleFrom, sortedServices } from '../../mesh/rules';
import { EncodedResource, encodeResource } from '../cache/resource';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../resource-types';
import { ClientView } from './client-view';
import { edsCluster } from './cluster-builder';
import { sidecarLoadAssignment } from './endpoint-builder';
import { apiListener, httpListener } from './listener-builder';
import { SIDECAR_OUTBOUND_LISTENER, SIDECAR_OUTBOUND_ROUTE, apiListenerName, outboundClusterName } from './names';
import { RouteTarget, clusterRoute, outboundRouteConfiguration } from './route-builder';
import { TranslationIssue } from './translation-issues';

export interface ViewTranslation {
  resources: EncodedResource[];
  issues: TranslationIssue[];
}

interface ServiceResources {
  resources: EncodedResource[];
  routeTargets: RouteTarget[];
}

/** Everything one service contributes; throws on a bad service (the caller skips it and reports why). */
function translateService(model: MeshModel, view: ClientView, entry: ServiceEntry): ServiceResources {
  const client = model.clusters.get(view.clusterId);
  if (!client) throw new Error(`unknown client cluster "${view.clusterId}"`);
  const host = serviceHost(entry.service);
  const resources: EncodedResource[] = [];
  const routeTargets: RouteTarget[] = [];
  for (const port of entry.service.ports) {
    const name = outboundClusterName(port.port, host);
    resources.push(encodeResource(CLUSTER_TYPE, name, edsCluster(name, entry.service, port)));
    resources.push(encodeResource(ENDPOINT_TYPE, name, sidecarLoadAssignment(name, model, client, { entry, port })));
    const routes = [clusterRoute(name)];
    routeTargets.push({ entry, port, routes });
    const listenerName = apiListenerName(host, port.port);
    const inlineRoutes = {
      name: listenerName,
      virtual_hosts: [{ name: listenerName, domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: name } }] }],
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
