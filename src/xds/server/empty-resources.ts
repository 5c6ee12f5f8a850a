// An EDS name the client asks for but the view does not have is answered with an empty
// ClusterLoadAssignment, so the cluster finishes warming (with no hosts) instead of waiting for a timeout.
import { EncodedResource, encodeResource } from '../cache/resource';
import { ENDPOINT_TYPE, XdsTypeUrl } from '../resource-types';

const MAX_CACHED_EMPTY_RESOURCES = 10_000;
const cache = new Map<string, EncodedResource>();

export function emptyResourceFor(typeUrl: XdsTypeUrl, name: string): EncodedResource | undefined {
  if (typeUrl !== ENDPOINT_TYPE) return undefined;
  let resource = cache.get(name);
  if (!resource) {
    if (cache.size >= MAX_CACHED_EMPTY_RESOURCES) cache.clear();
    resource = encodeResource(ENDPOINT_TYPE, name, { cluster_name: name, endpoints: [] });
    cache.set(name, resource);
  }
  return resource;
}
