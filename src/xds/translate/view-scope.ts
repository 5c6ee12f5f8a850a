// Which services a sidecar view holds, and how: its workload's declared calls only, every visible service,
// or every visible service with clusters sent only when the proxy asks (on demand). Per-service parts are
// shared by all three (a service translates the same whoever calls it); what differs is the selection,
// and the route table assembled from it, whose memo key therefore carries the selection.
import { MeshModel } from '../../mesh/model';
import { EncodedResource, messageOf } from '../resource/encoded-resource';
import { unpackAny } from '../resource/typed-any';
import { AGGREGATE_CONFIG_TYPE } from './cluster-builder';
import { CLUSTER_TYPE } from '../resource-types';
import { ClientView } from './client-view';
import { declaredCalls } from './workload-identity';

export interface ViewScope {
  /** The services the view may hold; absent: every service visible from the client's cluster. */
  calls?: ReadonlySet<string>;
  /** Clusters are served by name only: the proxy fetches them when a request needs one. */
  onDemand: boolean;
  /** Tells the selection apart in memo keys (empty for the whole mesh). */
  key: string;
}

const callSets = new WeakMap<readonly string[], { set: ReadonlySet<string>; key: string }>();

export function viewScopeOf(model: MeshModel, view: ClientView): ViewScope {
  const calls = declaredCalls(model, view.workload);
  if (calls !== undefined) {
    let known = callSets.get(calls);
    if (!known) {
      known = { set: new Set(calls), key: `calls=${calls.join(',')}` };
      callSets.set(calls, known);
    }
    return { calls: known.set, onDemand: false, key: known.key };
  }
  return { onDemand: view.onDemand === true, key: '' };
}

const namedOnlyParts = new WeakMap<readonly EncodedResource[], readonly EncodedResource[]>();

/**
 * A service's resources for an on-demand view: its clusters leave the wildcard set (the proxy asks for
 * them by name) and carry the service as their group, so asking for one brings every cluster of the
 * service; an aggregate also names the clusters it needs, which the proxy must hold first (delta-stream.ts).
 * Same bytes, same versions; one copy per part.
 */
export function namedOnly(resources: readonly EncodedResource[], service: string): readonly EncodedResource[] {
  let copy = namedOnlyParts.get(resources);
  if (!copy) {
    copy = resources.map((resource) => {
      const cluster = messageOf(resource, CLUSTER_TYPE);
      if (!cluster) return resource;
      const needs = unpackAny(cluster.cluster_type?.typed_config, AGGREGATE_CONFIG_TYPE)?.clusters;
      return { ...resource, inWildcard: false, group: service, ...(needs ? { needs } : {}) };
    });
    namedOnlyParts.set(resources, copy);
  }
  return copy;
}
