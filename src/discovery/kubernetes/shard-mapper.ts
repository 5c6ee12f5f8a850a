// Maps a cluster's objects to its shard again after every change, re-doing only the Services whose
// inputs changed. Reflectors replace an object when it changes and keep it otherwise, so "same inputs"
// is a comparison of references: the Service, its EndpointSlices, the labels of the Pods they name, its
// export and last good settings. In a 5,000-Service cluster one EndpointSlice change then re-maps one
// Service instead of all of them. An entry whose content did not change keeps its identity, so an event
// that changes nothing routable publishes nothing.
import { MeshCluster, ServiceEntry, serviceHost } from '../../mesh/model';
import { KubeEndpointSlice, KubeService, objectKey } from './kube-objects';
import { ServiceSettings } from './service-annotations';
import { ClusterObjects, MappedShard, MappingIssue, ServiceMapping, groupSlices, mapService, withGateway } from './service-mapper';

interface CachedService {
  service: KubeService;
  slices: readonly KubeEndpointSlice[];
  /** `namespace/name` of the Pods its slices name, and their labels when it was mapped. */
  podKeys: readonly string[];
  podLabels: readonly (Readonly<Record<string, string>> | undefined)[];
  exported: boolean;
  previous: ServiceSettings | undefined;
  mapping: ServiceMapping;
  /** The entry's content, to keep the old entry when a re-map gives the same. */
  text: string;
}

export interface IncrementalShard extends MappedShard {
  /** Anything routable differs from the last shard (services, endpoints, the cluster and its gateway). */
  changed: boolean;
}

export class IncrementalShardMapper {
  private cache = new Map<string, CachedService>();
  private nodeZonesText = '';
  private clusterText = '';
  private hosts: string[] = [];

  /** Services re-mapped by the last call (for tests and debug logs). */
  remapped = 0;

  map(cluster: MeshCluster, objects: ClusterObjects, lastGood: ReadonlyMap<string, ServiceSettings>): IncrementalShard {
    const nodeZonesText = JSON.stringify([...(objects.nodeZones ?? new Map<string, string>())].sort());
    // Zones of endpoints come from Nodes: a Node change may touch any Service.
    if (nodeZonesText !== this.nodeZonesText) this.cache.clear();
    this.nodeZonesText = nodeZonesText;

    const slicesByService = groupSlices(objects.slices);
    const issues: MappingIssue[] = [];
    const settings = new Map<string, ServiceSettings>();
    const services = new Map<string, ServiceEntry>();
    const next = new Map<string, CachedService>();
    const kubeServices = [...objects.services];
    let changed = false;
    this.remapped = 0;
    for (const service of kubeServices) {
      const key = objectKey(service.meta);
      const slices = slicesByService.get(key) ?? NO_SLICES;
      const exported = objects.exports.has(key);
      const previous = lastGood.get(key);
      const cached = this.cache.get(key);
      let entry: CachedService;
      if (cached && sameInputs(cached, service, slices, exported, previous, objects.podLabels)) {
        entry = cached;
      } else {
        this.remapped++;
        const podKeys = podKeysOf(slices);
        const inputs = { service, slices, podKeys, podLabels: podKeys.map((podKey) => objects.podLabels.get(podKey)), exported, previous };
        const mapping = mapService(cluster, service, slices, objects, inputs.previous);
        const text = JSON.stringify(mapping.entry ?? null);
        // Same content as before: keep the old entry object, so nothing downstream sees a change.
        const kept = cached && cached.text === text ? { ...mapping, ...(cached.mapping.entry ? { entry: cached.mapping.entry } : {}) } : mapping;
        entry = { ...inputs, mapping: kept, text };
      }
      next.set(key, entry);
      issues.push(...entry.mapping.issues);
      if (entry.mapping.settings) settings.set(key, entry.mapping.settings);
      if (entry.mapping.entry) {
        const host = serviceHost(entry.mapping.entry.service);
        services.set(host, entry.mapping.entry);
        if (entry.mapping.entry !== cached?.mapping.entry) changed = true;
      }
    }
    this.cache = next;
    const hosts = [...services.keys()];
    if (hosts.length !== this.hosts.length || hosts.some((host, index) => host !== this.hosts[index])) changed = true;
    this.hosts = hosts;
    const meshCluster = withGateway(cluster, kubeServices, issues);
    const clusterText = JSON.stringify(meshCluster);
    if (clusterText !== this.clusterText) changed = true;
    this.clusterText = clusterText;
    return { model: { clusters: new Map([[cluster.name, meshCluster]]), services }, issues, settings, changed };
  }
}

const NO_SLICES: readonly KubeEndpointSlice[] = [];

/** Cheapest checks first: most Services of a big cluster are unchanged at every rebuild. */
function sameInputs(
  cached: CachedService,
  service: KubeService,
  slices: readonly KubeEndpointSlice[],
  exported: boolean,
  previous: ServiceSettings | undefined,
  podLabels: ClusterObjects['podLabels'],
): boolean {
  return (
    cached.service === service &&
    cached.exported === exported &&
    // The caller passes back the settings this mapper gave last time: equal unless they changed since.
    (cached.mapping.settings ?? cached.previous) === previous &&
    sameItems(cached.slices, slices) &&
    cached.podKeys.every((podKey, index) => podLabels.get(podKey) === cached.podLabels[index])
  );
}

function podKeysOf(slices: readonly KubeEndpointSlice[]): string[] {
  const keys: string[] = [];
  for (const slice of slices) {
    for (const endpoint of slice.endpoints) if (endpoint.podName) keys.push(objectKey({ namespace: slice.meta.namespace, name: endpoint.podName }));
  }
  return keys;
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}
