// Every cluster (and its endpoints) a sidecar needs for one service port: the plain service, one per
// subset, and for a canary the aggregate that falls back from canary to stable in the configured order.
import { MeshCluster, MeshModel, ServiceEntry, ServicePort, serviceHost } from '../../mesh/model';
import { subsetsOf } from '../../mesh/rules';
import { ResourceCollector } from './resource-collector';
import { DEFAULT_TLS_DIR, grpcUpstreamTlsSocket, sniFor, upstreamTlsSocket } from './mtls';
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../resource-types';
import { aggregateCluster, edsCluster, fallbackChild, withSubsetHeader } from './cluster-builder';
import { EndpointSelection, sidecarLoadAssignment } from './endpoint-builder';
import { Cluster } from '../resource/envoy-messages';
import { grpcOutlierDetection } from './outlier-detection';
import { fallbackClusterName, outboundClusterName } from './names';

export interface PortClusters {
  /** The cluster plain traffic goes to: the stable subset for a canary service, else the whole service. */
  defaultCluster: string;
  /** The canary-with-fallback aggregate, when the service has a canary. */
  fallbackCluster?: string;
  /** Every cluster of the port a route may name: the plain one, each subset's, the aggregate. */
  routable: string[];
}

interface PortContext {
  model: MeshModel;
  client: MeshCluster;
  /** Certificates of the calling proxy (mTLS services only). */
  tlsDir: string;
  proxyless: boolean;
}

function addEdsPair(
  out: ResourceCollector,
  name: string,
  cluster: Cluster,
  context: PortContext,
  selection: EndpointSelection,
): void {
  const { model, client, tlsDir } = context;
  // The scope keeps proxyless views apart from Envoy's, so gRPC-only ejection never reaches an Envoy.
  if (context.proxyless)
    cluster = { ...cluster, outlier_detection: grpcOutlierDetection(selection.entry.service.outlier) };
  if (selection.entry.service.mtls) {
    // The SNI names the subset the caller wants, so a gateway can pass the connection through unopened.
    const sni = sniFor(selection.port.port, serviceHost(selection.entry.service), selection.subset);
    cluster = {
      ...cluster,
      transport_socket: context.proxyless ? grpcUpstreamTlsSocket() : upstreamTlsSocket(sni, tlsDir),
    };
  }
  out.add(CLUSTER_TYPE, name, cluster);
  out.add(ENDPOINT_TYPE, name, sidecarLoadAssignment(name, model, client, selection));
}

function subsetCluster(name: string, entry: ServiceEntry, port: ServicePort, child: boolean): Cluster {
  const cluster = withSubsetHeader(edsCluster(name, entry.service, port), port);
  return child ? fallbackChild(cluster) : cluster;
}

/** Beyond this many subsets, standby aggregates (one per ordered pair) would cost more than they save. */
export const MAX_STANDBY_SUBSETS = 4;

/**
 * Proxyless views only: an aggregate `<a>-or-<b>` for every ordered pair of subsets that is not the
 * configured canary, named by a route that never matches (see warmRoute). grpc-go builds a balancer for
 * every cluster routes name; a cluster named for the first time fails calls in the instant before its
 * balancer exists, so a canary added later switches to an aggregate gRPC already has.
 */
function addStandbyAggregates(
  out: ResourceCollector,
  entry: ServiceEntry,
  port: ServicePort,
  subsets: readonly string[],
): string[] {
  if (subsets.length > MAX_STANDBY_SUBSETS) return [];
  const host = serviceHost(entry.service);
  const canary = entry.service.canary;
  const names: string[] = [];
  for (const first of subsets) {
    for (const second of subsets) {
      if (first === second || (canary?.canary === first && canary.stable === second)) continue;
      const name = fallbackClusterName(port.port, host, first, second);
      const children = [outboundClusterName(port.port, host, first), outboundClusterName(port.port, host, second)];
      out.add(CLUSTER_TYPE, name, withSubsetHeader(aggregateCluster(name, children), port));
      names.push(name);
    }
  }
  return names;
}

/** Adds the clusters and endpoints of one service port to `out`; returns where its routes point. */
export function portClusters(
  out: ResourceCollector,
  model: MeshModel,
  client: MeshCluster,
  entry: ServiceEntry,
  port: ServicePort,
  tlsDir: string = DEFAULT_TLS_DIR,
  proxyless = false,
): PortClusters {
  const context: PortContext = { model, client, tlsDir, proxyless };
  const host = serviceHost(entry.service);
  const plainName = outboundClusterName(port.port, host);
  addEdsPair(out, plainName, withSubsetHeader(edsCluster(plainName, entry.service, port), port), context, {
    entry,
    port,
  });
  const canary = entry.service.canary;
  const routable = [plainName];
  const subsets = subsetsOf(entry);
  for (const subset of subsets) {
    const name = outboundClusterName(port.port, host, subset);
    routable.push(name);
    const isChild =
      canary !== undefined &&
      (subset === canary.canary || subset === canary.stable) &&
      canary.order === 'version-first';
    addEdsPair(out, name, subsetCluster(name, entry, port, isChild), context, { entry, port, subset });
  }
  if (proxyless) routable.push(...addStandbyAggregates(out, entry, port, subsets));
  if (!canary) return { defaultCluster: plainName, routable };

  const fallbackName = fallbackClusterName(port.port, host, canary.canary, canary.stable);
  let children: string[];
  if (canary.order === 'version-first') {
    children = [
      outboundClusterName(port.port, host, canary.canary),
      outboundClusterName(port.port, host, canary.stable),
    ];
  } else {
    // locality-first: canary local, stable local, canary remote, stable remote, each its own child.
    children = [];
    for (const tier of ['local', 'remote'] as const) {
      for (const subset of [canary.canary, canary.stable]) {
        const name = outboundClusterName(port.port, host, `${subset}~${tier}`);
        children.push(name);
        addEdsPair(out, name, subsetCluster(name, entry, port, true), context, { entry, port, subset, tier });
      }
    }
  }
  out.add(CLUSTER_TYPE, fallbackName, withSubsetHeader(aggregateCluster(fallbackName, children), port));
  routable.push(fallbackName);
  return {
    defaultCluster: outboundClusterName(port.port, host, canary.stable),
    fallbackCluster: fallbackName,
    routable,
  };
}
