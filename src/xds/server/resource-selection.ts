// Which resources of a snapshot one subscription covers, sorted by name. Clients with the same interned
// names share the result (the snapshot memoizes it per name set); EDS names the view lacks get an empty
// assignment, proxyless targets it lacks an unknown-target listener.
import { EncodedResource } from '../resource/encoded-resource';
import { Snapshot, byName } from '../cache/snapshot';
import { XdsTypeUrl } from '../resource-types';
import { EmptyResources } from './empty-resources';
import { Subscription } from './subscription';

export function selectResources(
  typeUrl: XdsTypeUrl,
  sub: Subscription,
  snapshot: Snapshot,
  empties: EmptyResources,
): readonly EncodedResource[] {
  // The common case (Envoy's CDS and LDS) shares one sorted array per snapshot across all clients.
  if (sub.isWildcard && sub.names.size === 0) return snapshot.wildcardResources(typeUrl);
  return snapshot.selection(typeUrl, sub.isWildcard, sub.nameSet, () => {
    const selected: EncodedResource[] = sub.isWildcard ? [...snapshot.wildcardResources(typeUrl)] : [];
    const all = snapshot.resources(typeUrl);
    const groupsAdded = new Set<string>();
    for (const name of sub.names) {
      const resource = all.get(name);
      if (resource?.group !== undefined) {
        // Named one of a group: the whole group comes (members it also named are pushed here, not below).
        if (!groupsAdded.has(resource.group)) {
          groupsAdded.add(resource.group);
          for (const member of snapshot.groupMembers(typeUrl, resource.group))
            if (!(member.inWildcard && sub.isWildcard)) selected.push(member);
        }
      } else if (resource) {
        if (!(resource.inWildcard && sub.isWildcard)) selected.push(resource);
      } else {
        const empty = empties.for(typeUrl, name, sub.nameSet);
        if (empty) selected.push(empty);
      }
    }
    return selected.sort(byName);
  });
}
