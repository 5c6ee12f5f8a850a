// Maps a cluster's objects to its shard again after every change, re-doing only the Services whose
// inputs changed. Reflectors replace an object when it changes and keep it otherwise, so "same inputs"
// is a comparison of references: the Service, its EndpointSlices, the labels of the Pods they name, its
// export and last good settings. In a 5,000-Service cluster one EndpointSlice change then re-maps one
// Service instead of all of them. An entry whose content did not change keeps its identity, so an event
// that changes nothing routable publishes nothing.
import { MeshCluster, ServiceEntry, serviceHost } from '../../mesh/model';
import { KubeEndpointSlice, KubeService, objectKey } from './kube-objects';
import { ServiceSettings } from './service-annotations';
import {
  ClusterObjects,
  MappedShard,
  MappingIssue,
  PodLabelLookup,
  ServiceMapping,
  groupSlices,
  mapService,
  withGateway,
} from './service-mapper';

interface CachedService {
  key: string;
  service: KubeService;
  slices: readonly KubeEndpointSlice[];
  /** `namespace/name` of the Pods its slices name, and their labels when it was mapped. */
  podKeys: readonly string[];
  podLabels: readonly (Readonly<Record<string, string>> | undefined)[];
  exported: boolean;
  previous: ServiceSettings | undefined;
  mapping: ServiceMapping;
  /** The host of its entry, if it has one. */
  host?: string;
  /** The entry's content, to keep the old entry when a re-map gives the same. */
  text: string;
}

export interface IncrementalShard extends MappedShard {
  /** Anything routable differs from the last shard (services, endpoints, the cluster and its gateway). */
  changed: boolean;
}

/** What the mapper is given besides the objects: when the Pods last changed, to skip looking at them. */
export interface MapperInputs extends ClusterObjects {
  /** Changes of the Pod copy so far; equal to the last call's: no Pod changed, their labels need no look. */
  podsVersion?: number;
}

const NO_SLICES: readonly KubeEndpointSlice[] = [];

export class IncrementalShardMapper {
  private cache = new Map<string, CachedService>();
  /** The same entries by Service object: an unchanged Service is found without building its key. */
  private byObject = new WeakMap<KubeService, CachedService>();
  private nodeZonesText = '';
  private clusterText = '';
  private hosts: string[] = [];
  private podsVersion?: number;

  /** Services re-mapped by the last call (for tests and debug logs). */
  remapped = 0;

  map(cluster: MeshCluster, objects: MapperInputs, lastGood: ReadonlyMap<string, ServiceSettings>): IncrementalShard {
    const nodeZonesText = JSON.stringify([...(objects.nodeZones ?? new Map<string, string>())].sort());
    // Zones of endpoints come from Nodes: a Node change may touch any Service.
    if (nodeZonesText !== this.nodeZonesText) {
      this.cache.clear();
      this.byObject = new WeakMap();
    }
    this.nodeZonesText = nodeZonesText;
    const podsUnchanged = objects.podsVersion !== undefined && objects.podsVersion === this.podsVersion;
    this.podsVersion = objects.podsVersion;

    const slicesByService = groupSlices(objects.slices);
    const issues: MappingIssue[] = [];
    const settings = new Map<string, ServiceSettings>();
    const services = new Map<string, ServiceEntry>();
    const next = new Map<string, CachedService>();
    const kubeServices = [...objects.services];
    let changed = false;
    this.remapped = 0;
    for (const service of kubeServices) {
      const known = this.byObject.get(service);
      const key = known?.key ?? objectKey(service.meta);
      const slices = slicesByService.get(key) ?? NO_SLICES;
      const exported = objects.exports.has(key);
      const previous = lastGood.get(key);
      const cached = known ?? this.cache.get(key);
      let entry: CachedService;
      if (
        cached &&
        sameInputs(cached, service, slices, exported, previous) &&
        (podsUnchanged || samePodLabels(cached, objects.podLabels))
      ) {
        entry = cached;
      } else {
        this.remapped++;
        entry = this.remap(cluster, objects, { key, service, slices, exported, previous }, cached);
        this.byObject.set(service, entry);
      }
      next.set(key, entry);
      for (const issue of entry.mapping.issues) issues.push(issue);
      if (entry.mapping.settings) settings.set(key, entry.mapping.settings);
      const mapped = entry.mapping.entry;
      if (mapped && entry.host) {
        services.set(entry.host, mapped);
        if (mapped !== cached?.mapping.entry) changed = true;
      }
    }
    this.cache = next;
    if (services.size !== this.hosts.length) changed = true;
    else if (!changed) {
      let index = 0;
      for (const host of services.keys()) if (host !== this.hosts[index++]) changed = true;
    }
    if (changed) this.hosts = [...services.keys()];
    const meshCluster = withGateway(cluster, kubeServices, issues);
    const clusterText = JSON.stringify(meshCluster);
    if (clusterText !== this.clusterText) changed = true;
    this.clusterText = clusterText;
    return { model: { clusters: new Map([[cluster.name, meshCluster]]), services }, issues, settings, changed };
  }

  private remap(
    cluster: MeshCluster,
    objects: MapperInputs,
    inputs: Pick<CachedService, 'key' | 'service' | 'slices' | 'exported' | 'previous'>,
    cached: CachedService | undefined,
  ): CachedService {
    const podKeys = podKeysOf(inputs.slices);
    const podLabels = podKeys.map((podKey) => objects.podLabels.get(podKey));
    const mapping = mapService(cluster, inputs.service, inputs.slices, objects, inputs.previous);
    const text = JSON.stringify(mapping.entry ?? null);
    // Same content as before: keep the old entry object, so nothing downstream sees a change.
    const kept = cached?.text === text && cached.mapping.entry ? { ...mapping, entry: cached.mapping.entry } : mapping;
    return {
      ...inputs,
      podKeys,
      podLabels,
      mapping: kept,
      ...(kept.entry ? { host: serviceHost(kept.entry.service) } : {}),
      text,
    };
  }
}

/** Cheapest checks first: most Services of a big cluster are unchanged at every rebuild. */
function sameInputs(
  cached: CachedService,
  service: KubeService,
  slices: readonly KubeEndpointSlice[],
  exported: boolean,
  previous: ServiceSettings | undefined,
): boolean {
  if (cached.service !== service || cached.exported !== exported) return false;
  // The caller passes back the settings this mapper gave last time: equal unless they changed since.
  if ((cached.mapping.settings ?? cached.previous) !== previous) return false;
  if (cached.slices.length !== slices.length) return false;
  for (let index = 0; index < slices.length; index++) if (cached.slices[index] !== slices[index]) return false;
  return true;
}

function samePodLabels(cached: CachedService, podLabels: PodLabelLookup): boolean {
  for (let index = 0; index < cached.podKeys.length; index++) {
    if (podLabels.get(cached.podKeys[index]) !== cached.podLabels[index]) return false;
  }
  return true;
}

function podKeysOf(slices: readonly KubeEndpointSlice[]): string[] {
  const keys: string[] = [];
  for (const slice of slices) {
    for (const endpoint of slice.endpoints)
      if (endpoint.podName) keys.push(objectKey({ namespace: slice.meta.namespace, name: endpoint.podName }));
  }
  return keys;
}
