// An east-west gateway's view: one listener on the gateway address; routes only to EXPORTED services,
// only to endpoints inside the gateway's own cluster (no gateway-to-gateway chains, so no loops).
// Any other Host gets 404 from Envoy: nothing unexported is reachable, whatever a caller crafts.
import { MeshCluster, MeshModel, ServiceEntry, serviceHost } from '../../mesh/model';
import { sniFor, tcpProxy, tlsInspector } from './mtls';
import { firstPort } from './inbound-translator';
import { isExportedFrom, sortedServices, subsetsOf } from '../../mesh/rules';
import { FilterChain, Route, VirtualHost } from '../resource/envoy-messages';
import { SUBSET_HEADER } from './subset-header';
import { ResourceCollector } from './resource-collector';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE } from '../resource-types';
import { ClientView } from './client-view';
import { edsCluster } from './cluster-builder';
import { gatewayLoadAssignment } from './endpoint-builder';
import { httpListener } from './listener-builder';
import { GATEWAY_LISTENER, GATEWAY_ROUTE, inboundGatewayClusterName } from './names';
import { RouteTarget, clusterRoute, routeTableOf, virtualHostOf } from './route-builder';
import { ViewTranslation } from './sidecar-translator';
import { TranslationIssue } from './translation-issues';
import { ServicePart, ServiceParts, clustersKeyOf } from './service-parts';
import { Steps, runToEnd } from '../steps';

interface GatewayPart {
  virtualHosts: VirtualHost[];
  /** SNI passthrough chains of an mTLS service. */
  chains: FilterChain[];
}

/** Everything one exported service contributes to the gateway; throws on a bad service. */
function translateService(out: ResourceCollector, cluster: MeshCluster, entry: ServiceEntry): GatewayPart {
  const host = serviceHost(entry.service);
  // mTLS services are never routed as plain HTTP here: only passed through, still encrypted.
  if (entry.service.mtls) return { virtualHosts: [], chains: addPassthrough(out, cluster, entry) };
  const targets: RouteTarget[] = [];
  for (const port of entry.service.ports) {
    const routes: Route[] = [];
    // The subset the caller asked for arrives as a header (see subset-header.ts); without one, any.
    for (const subset of subsetsOf(entry)) {
      const name = inboundGatewayClusterName(port.port, host, subset);
      out.add(CLUSTER_TYPE, name, edsCluster(name, entry.service, port));
      out.add(ENDPOINT_TYPE, name, gatewayLoadAssignment(name, cluster, { entry, port, subset }));
      const route = clusterRoute(name);
      routes.push({
        ...route,
        name: `subset-${subset}`,
        match: { ...route.match, headers: [{ name: SUBSET_HEADER, string_match: { exact: subset } }] },
      });
    }
    const name = inboundGatewayClusterName(port.port, host);
    out.add(CLUSTER_TYPE, name, edsCluster(name, entry.service, port));
    out.add(ENDPOINT_TYPE, name, gatewayLoadAssignment(name, cluster, { entry, port }));
    routes.push(clusterRoute(name));
    targets.push({ entry, port, routes });
  }
  return { virtualHosts: out.prepareVirtualHosts(targets.map(virtualHostOf)), chains: [] };
}

function servicePart(out: ResourceCollector, cluster: MeshCluster, entry: ServiceEntry): ServicePart<GatewayPart> {
  const scratch = out.scratch();
  try {
    const value = translateService(scratch, cluster, entry);
    return { resources: scratch.resources, value };
  } catch (error) {
    return {
      resources: [],
      issue: { service: serviceHost(entry.service), message: error instanceof Error ? error.message : String(error) },
    };
  }
}

/** The view as steps: one per service, so a big mesh can be translated a slice at a time. */
export function* gatewayViewSteps(
  model: MeshModel,
  view: ClientView,
  out: ResourceCollector,
  parts?: ServiceParts,
): Steps<ViewTranslation> {
  const cluster = model.clusters.get(view.clusterId);
  const issues: TranslationIssue[] = [];
  if (!cluster?.gateway)
    return { resources: [], issues: [{ service: '*', message: `cluster "${view.clusterId}" has no gateway` }] };
  const scope = `gateway|${view.clusterId}|${clustersKeyOf(model)}`;
  const used: ServicePart<GatewayPart>[] = [];
  for (const entry of sortedServices(model)) {
    if (!isExportedFrom(entry, view.clusterId)) continue;
    const part = parts
      ? parts.part(scope, entry, () => servicePart(out, cluster, entry))
      : servicePart(out, cluster, entry);
    if (part.issue) issues.push(part.issue);
    else {
      out.addEncoded(part.resources);
      used.push(part);
    }
    yield;
  }
  yield; // the table joins every service's virtual host: a step of its own
  const routeTable = () =>
    out.encodeRouteTable(
      GATEWAY_ROUTE,
      routeTableOf(
        GATEWAY_ROUTE,
        used.flatMap((p) => p.value?.virtualHosts ?? []),
      ),
    );
  out.addEncoded([parts ? parts.assembled(scope, GATEWAY_ROUTE, used, routeTable) : routeTable()]);
  const passthroughChains = used.flatMap((p) => p.value?.chains ?? []);
  const listener = httpListener(
    GATEWAY_LISTENER,
    view.outboundAddress || cluster.gateway.address,
    cluster.gateway.port,
    GATEWAY_ROUTE,
    'gateway',
  );
  if (passthroughChains.length > 0) {
    // TLS with a known SNI passes through; plain HTTP goes to the routes; TLS with any other SNI matches
    // no chain and the connection is closed.
    listener.listener_filters = [tlsInspector()];
    listener.filter_chains = [
      ...passthroughChains,
      ...(listener.filter_chains ?? []).map((chain) => ({
        ...chain,
        filter_chain_match: { transport_protocol: 'raw_buffer' },
      })),
    ];
  }
  out.add(LISTENER_TYPE, GATEWAY_LISTENER, listener);
  return { resources: out.resources, issues };
}

export function translateGatewayView(
  model: MeshModel,
  view: ClientView,
  out: ResourceCollector = new ResourceCollector(),
  parts?: ServiceParts,
): ViewTranslation {
  return runToEnd(gatewayViewSteps(model, view, out, parts));
}

/** SNI filter chains (and their clusters) that pass mTLS connections through to this cluster's sidecars. */
function addPassthrough(out: ResourceCollector, cluster: MeshCluster, entry: ServiceEntry): FilterChain[] {
  const host = serviceHost(entry.service);
  const chains: FilterChain[] = [];
  for (const port of entry.service.ports) {
    for (const subset of ['', ...subsetsOf(entry)]) {
      const sni = sniFor(port.port, host, subset);
      out.add(CLUSTER_TYPE, sni, {
        ...edsCluster(sni, entry.service, port),
        typed_extension_protocol_options: undefined,
      });
      out.add(ENDPOINT_TYPE, sni, gatewayLoadAssignment(sni, cluster, { entry, port, subset: subset || undefined }));
      // Proxyless gRPC clients send the bare host as SNI (no port, no subset): the first port's service.
      const serverNames = subset === '' && port === firstPort(entry.service.ports) ? [sni, host] : [sni];
      chains.push({
        filter_chain_match: { server_names: serverNames, transport_protocol: 'tls' },
        filters: [tcpProxy(`passthrough_${port.port}`, sni)],
      });
    }
  }
  return chains;
}
