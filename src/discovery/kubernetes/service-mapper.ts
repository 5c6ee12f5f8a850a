// Pure mapping of one cluster's Kubernetes objects into that cluster's shard of the mesh model:
// Services (+ annotations, + ServiceExports) become mesh services; EndpointSlices (+ Pod labels) their
// endpoints. Wrong annotations are reported and the Service keeps its last good settings.
import { isIP } from 'net';
import {
  MeshCluster,
  MeshEndpoint,
  MeshModel,
  MeshService,
  ServiceEntry,
  ServicePort,
  serviceHost,
} from '../../mesh/model';
import { findGatewayService } from './gateway-service';
import { KubeEndpointSlice, KubeService, objectKey } from './kube-objects';
import { meshPortName, protocolOf } from './port-protocol';
import { ServiceSettings, readServiceSettings } from './service-annotations';

export interface ClusterObjects {
  services: Iterable<KubeService>;
  slices: Iterable<KubeEndpointSlice>;
  /** `namespace/name` of every ServiceExport. */
  exports: ReadonlySet<string>;
  /** Pod labels by `namespace/name` (a Map, or a lookup into the Pod reflectors). */
  podLabels: PodLabelLookup;
  /** `topology.kubernetes.io/zone` per Node name: the zone of endpoints whose slice gives none. */
  nodeZones?: ReadonlyMap<string, string>;
}

export interface PodLabelLookup {
  get(key: string): Readonly<Record<string, string>> | undefined;
}

export interface MappingIssue {
  /** `namespace/name` of the Service. */
  object: string;
  message: string;
}

export interface MappedShard {
  model: MeshModel;
  issues: MappingIssue[];
  /** Settings now in force per Service, to pass back as `lastGood` next time. */
  settings: Map<string, ServiceSettings>;
}

export function mapClusterObjects(
  cluster: MeshCluster,
  objects: ClusterObjects,
  lastGood: ReadonlyMap<string, ServiceSettings> = new Map(),
): MappedShard {
  const issues: MappingIssue[] = [];
  const settingsNow = new Map<string, ServiceSettings>();
  const slicesByService = groupSlices(objects.slices);
  const services = new Map<string, ServiceEntry>();
  const kubeServices = [...objects.services];

  for (const kubeService of kubeServices) {
    const key = objectKey(kubeService.meta);
    const mapped = mapService(cluster, kubeService, slicesByService.get(key) ?? [], objects, lastGood.get(key));
    issues.push(...mapped.issues);
    if (mapped.settings) settingsNow.set(key, mapped.settings);
    if (mapped.entry) services.set(serviceHost(mapped.entry.service), mapped.entry);
  }
  return {
    model: { clusters: new Map([[cluster.name, withGateway(cluster, kubeServices, issues)]]), services },
    issues,
    settings: settingsNow,
  };
}

/** One Service's part of the shard: its entry (none if Spillway routes nothing of it), issues, settings now in force. */
export interface ServiceMapping {
  entry?: ServiceEntry;
  issues: MappingIssue[];
  /** To pass back as this Service's last good settings next time (absent: it has none yet). */
  settings?: ServiceSettings;
}

/** Maps one Service with its own EndpointSlices; `previous`: its last good settings. */
export function mapService(
  cluster: MeshCluster,
  kubeService: KubeService,
  slices: readonly KubeEndpointSlice[],
  objects: Pick<ClusterObjects, 'exports' | 'podLabels' | 'nodeZones'>,
  previous: ServiceSettings | undefined,
): ServiceMapping {
  const key = objectKey(kubeService.meta);
  if (kubeService.type === 'ExternalName') return { issues: [] }; // a DNS alias: no endpoints to route to
  const ports = meshPorts(kubeService);
  if (ports.length === 0) return { issues: [] }; // nothing Spillway routes (e.g. only TCP/UDP ports)

  const issues: MappingIssue[] = [];
  const read = readServiceSettings(kubeService.meta.annotations);
  let settings = read.settings;
  if (read.errors.length > 0) {
    if (previous) settings = previous;
    const outcome = previous ? 'keeping its last good settings' : 'using defaults for the wrong annotations';
    for (const error of read.errors) issues.push({ object: key, message: `${error}; ${outcome} until it is fixed` });
  }

  const service: MeshService = {
    name: kubeService.meta.name,
    namespace: kubeService.meta.namespace,
    ports: ports.map(({ mesh }) => mesh),
    exported: settings.exportAnnotation || objects.exports.has(key),
    subsetLabel: settings.subsetLabel,
    failover: settings.failover,
    ...(settings.canary ? { canary: settings.canary } : {}),
    ...(settings.mtlsSidecarPort ? { mtls: true } : {}),
    ...(settings.calls ? { calls: settings.calls } : {}),
  };
  const mapped = mapEndpoints(
    cluster.name,
    ports,
    slices,
    objects.podLabels,
    objects.nodeZones ?? new Map(),
    settings.mtlsSidecarPort,
  );
  const endpoints = withTerminatingFallback(mapped, settings.subsetLabel);
  // Only settings read without errors become "last good" (or stay it).
  const settingsNow = read.errors.length === 0 || previous ? settings : undefined;
  return { entry: { service, endpoints }, issues, ...(settingsNow ? { settings: settingsNow } : {}) };
}

/** A gateway given in config wins; else the annotated gateway Service's address, if any. */
export function withGateway(
  cluster: MeshCluster,
  services: readonly KubeService[],
  issues: MappingIssue[],
): MeshCluster {
  if (cluster.gateway) return cluster;
  const lookup = findGatewayService(services);
  if (lookup.problem) issues.push({ object: lookup.service ?? '?', message: lookup.problem });
  return lookup.found ? { ...cluster, gateway: lookup.found } : cluster;
}

interface PortPair {
  /** The Service port's own name ('' when unnamed): EndpointSlice ports carry the same name. */
  kubeName: string;
  mesh: ServicePort;
}

function meshPorts(service: KubeService): PortPair[] {
  const pairs: PortPair[] = [];
  for (const port of service.ports) {
    const decision = protocolOf(port);
    if ('skip' in decision) continue;
    pairs.push({
      kubeName: port.name,
      mesh: { name: meshPortName(port.name, port.port), port: port.port, protocol: decision.protocol },
    });
  }
  return pairs;
}

export function groupSlices(slices: Iterable<KubeEndpointSlice>): Map<string, KubeEndpointSlice[]> {
  const byService = new Map<string, KubeEndpointSlice[]>();
  for (const slice of slices) {
    const key = objectKey({ namespace: slice.meta.namespace, name: slice.serviceName });
    const list = byService.get(key) ?? [];
    list.push(slice);
    byService.set(key, list);
  }
  return byService;
}

/** An endpoint that is shutting down but still answers (EndpointSlice `serving` and `terminating`). */
const servingTerminating = new WeakSet<MeshEndpoint>();

/**
 * Kubernetes' rule for terminating endpoints (the one kube-proxy applies to traffic policies): a subset
 * with no ready endpoint in this cluster uses its serving-and-terminating ones, so a cluster whose pods
 * are all draining (a rolling update, a node drain) keeps its traffic instead of spilling to another
 * cluster. They count as ready for EDS and the gateway's weight; as soon as one ready endpoint exists,
 * the terminating ones get nothing.
 */
function withTerminatingFallback(endpoints: MeshEndpoint[], subsetLabel: string): MeshEndpoint[] {
  const subsetsWithReady = new Set(
    endpoints
      .filter((endpoint) => endpoint.ready && !endpoint.terminating)
      .map((endpoint) => endpoint.labels[subsetLabel] ?? ''),
  );
  return endpoints.map((endpoint) => {
    if (!servingTerminating.has(endpoint) || subsetsWithReady.has(endpoint.labels[subsetLabel] ?? '')) return endpoint;
    const { terminating: _terminating, ...rest } = endpoint;
    return { ...rest, ready: true };
  });
}

/**
 * One mesh endpoint per address. An address listed twice (two slices during a hand-over) is merged:
 * it is ready when any listing says so; clients reject duplicate addresses.
 */
function mapEndpoints(
  clusterName: string,
  ports: readonly PortPair[],
  slices: readonly KubeEndpointSlice[],
  podLabels: PodLabelLookup,
  nodeZones: ReadonlyMap<string, string>,
  sidecarPort: number | undefined,
): MeshEndpoint[] {
  const byAddress = new Map<string, MeshEndpoint>();
  for (const slice of [...slices].sort((a, b) => (a.meta.name < b.meta.name ? -1 : 1))) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue; // FQDN slices name no address
    const endpointPorts: Record<string, number> = {};
    for (const { kubeName, mesh } of ports) {
      const match = slice.ports.find((port) => port.name === kubeName && port.transport === 'TCP');
      if (match) endpointPorts[mesh.name] = match.port;
    }
    if (Object.keys(endpointPorts).length === 0) continue;
    for (const endpoint of slice.endpoints) {
      if (isIP(endpoint.address) === 0) continue;
      const zone = endpoint.zone ?? (endpoint.nodeName ? nodeZones.get(endpoint.nodeName) : undefined);
      const labels = endpoint.podName
        ? podLabels.get(objectKey({ namespace: slice.meta.namespace, name: endpoint.podName }))
        : undefined;
      const mapped: MeshEndpoint = {
        cluster: clusterName,
        address: endpoint.address,
        ports: { ...endpointPorts },
        labels: { ...(labels ?? {}) },
        ready: endpoint.ready,
        ...(endpoint.terminating ? { terminating: true } : {}),
        ...(zone ? { zone } : {}),
        ...(sidecarPort ? { sidecarPort } : {}),
      };
      const existing = byAddress.get(endpoint.address);
      const merged = existing ? mergeEndpoints(existing, mapped) : mapped;
      if (endpoint.terminating && (endpoint.serving ?? endpoint.ready)) servingTerminating.add(merged);
      else if (existing && servingTerminating.has(existing)) servingTerminating.add(merged);
      byAddress.set(endpoint.address, merged);
    }
  }
  return [...byAddress.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

function mergeEndpoints(first: MeshEndpoint, second: MeshEndpoint): MeshEndpoint {
  const preferred = second.ready && !first.ready ? second : first;
  return { ...preferred, ports: { ...second.ports, ...first.ports, ...preferred.ports } };
}
