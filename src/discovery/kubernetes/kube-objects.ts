// The few Kubernetes objects discovery reads, reduced to the fields it uses, and checked on the way in:
// a reader returns the typed object or the list of what is wrong with it (path: problem).
import { JsonObject, JsonReader } from './json-reader';

export interface ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface KubeServicePort {
  /** Empty for the single unnamed port a Service may have. */
  name: string;
  port: number;
  /** TCP, UDP or SCTP. */
  transport: string;
  appProtocol?: string;
}

export interface KubeService {
  meta: ObjectMeta;
  /** ClusterIP, NodePort, LoadBalancer or ExternalName. */
  type: string;
  ports: KubeServicePort[];
  /** `status.loadBalancer.ingress[*].ip`: how a LoadBalancer Service is reached from outside. */
  loadBalancerIPs: string[];
  /** `spec.externalIPs`. */
  externalIPs: string[];
}

export interface KubeSlicePort {
  name: string;
  port: number;
  transport: string;
}

export interface KubeSliceEndpoint {
  address: string;
  ready: boolean;
  terminating: boolean;
  /** Answers requests (set while terminating too); absent: the API says to go by `ready`. */
  serving?: boolean;
  zone?: string;
  /** The Pod behind the endpoint, whose labels name its subset. */
  podName?: string;
  /** The Node it runs on: its topology labels give the zone when the endpoint has none. */
  nodeName?: string;
}

export interface KubeEndpointSlice {
  meta: ObjectMeta;
  /** From the `kubernetes.io/service-name` label: the Service this slice belongs to. */
  serviceName: string;
  addressType: string;
  ports: KubeSlicePort[];
  endpoints: KubeSliceEndpoint[];
}

/** An MCS ServiceExport: its existence exports the Service of the same namespace and name. */
export interface KubeServiceExport {
  meta: ObjectMeta;
}

/** Only a Pod's labels matter (they carry the subset); the Pod is watched as metadata only. */
export interface KubePodLabels {
  meta: ObjectMeta;
}

/** A Node's labels (topology.kubernetes.io/zone, .../region); the Node is watched as metadata only. */
export interface KubeNodeLabels {
  meta: ObjectMeta;
}

/** A Secret: `data` values are still base64, as the API sends them. */
export interface KubeSecret {
  meta: ObjectMeta;
  data: Record<string, string>;
}

export type ReadResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** EndpointSlice v1 keeps the old topology map for endpoints written before `zone` existed. */
const TOPOLOGY_ZONE_LABEL = 'topology.kubernetes.io/zone';
const MIN_PORT = 1;
const MAX_PORT = 65_535;

export function objectKey(meta: Pick<ObjectMeta, 'namespace' | 'name'>): string {
  return `${meta.namespace}/${meta.name}`;
}

/** `namespace/name` of any object, for log lines about an object that could not be read. */
export function describeObject(object: unknown): string {
  const meta = (object as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
  const name = typeof meta?.name === 'string' ? meta.name : '?';
  return typeof meta?.namespace === 'string' ? `${meta.namespace}/${name}` : name;
}

export function readService(object: unknown): ReadResult<KubeService> {
  const r = new JsonReader();
  const root = r.object(object, 'Service');
  const meta = readMeta(r, root);
  const spec = r.object(root?.spec, 'spec', true);
  const type = r.optionalString(spec?.type, 'spec.type') ?? 'ClusterIP';
  const ports: KubeServicePort[] = [];
  r.list(spec?.ports, 'spec.ports').forEach((item, index) => {
    const path = `spec.ports[${index}]`;
    const port = r.object(item, path);
    if (!port) return;
    const number = r.integer(port.port, `${path}.port`, MIN_PORT, MAX_PORT);
    const name = r.optionalString(port.name, `${path}.name`) ?? '';
    const appProtocol = r.optionalString(port.appProtocol, `${path}.appProtocol`);
    const transport = r.optionalString(port.protocol, `${path}.protocol`) ?? 'TCP';
    if (number !== undefined) ports.push({ name, port: number, transport, ...(appProtocol ? { appProtocol } : {}) });
  });
  const externalIPs = r
    .list(spec?.externalIPs, 'spec.externalIPs')
    .filter((ip): ip is string => typeof ip === 'string');
  const status = r.object(root?.status, 'status', true);
  const loadBalancer = r.object(status?.loadBalancer, 'status.loadBalancer', true);
  const loadBalancerIPs: string[] = [];
  for (const ingress of r.list(loadBalancer?.ingress, 'status.loadBalancer.ingress')) {
    const ip = r.isObject(ingress) ? ingress.ip : undefined;
    if (typeof ip === 'string' && ip !== '') loadBalancerIPs.push(ip);
  }
  return finish(r, meta && { meta, type, ports, loadBalancerIPs, externalIPs });
}

export function readEndpointSlice(object: unknown): ReadResult<KubeEndpointSlice> {
  const r = new JsonReader();
  const root = r.object(object, 'EndpointSlice');
  const meta = readMeta(r, root);
  const serviceName = meta?.labels[SERVICE_NAME_LABEL];
  const addressType = r.string(root?.addressType, 'addressType');
  const ports: KubeSlicePort[] = [];
  r.list(root?.ports, 'ports').forEach((item, index) => {
    const path = `ports[${index}]`;
    const port = r.object(item, path);
    // A slice port without a number means "all ports" (only for selector-less services): nothing to route.
    if (port?.port === undefined || port.port === null) return;
    const number = r.integer(port.port, `${path}.port`, MIN_PORT, MAX_PORT);
    const name = r.optionalString(port.name, `${path}.name`) ?? '';
    const transport = r.optionalString(port.protocol, `${path}.protocol`) ?? 'TCP';
    if (number !== undefined) ports.push({ name, port: number, transport });
  });
  const endpoints: KubeSliceEndpoint[] = [];
  r.list(root?.endpoints, 'endpoints').forEach((item, index) => {
    const endpoint = readSliceEndpoint(r, item, `endpoints[${index}]`);
    if (endpoint) endpoints.push(endpoint);
  });
  if (meta && serviceName === undefined)
    r.fail(`metadata.labels["${SERVICE_NAME_LABEL}"]`, 'is missing: the slice names no Service');
  return finish(
    r,
    meta && serviceName && addressType ? { meta, serviceName, addressType, ports, endpoints } : undefined,
  );
}

function readSliceEndpoint(r: JsonReader, item: unknown, path: string): KubeSliceEndpoint | undefined {
  const endpoint = r.object(item, path);
  if (!endpoint) return undefined;
  const addresses = r.list(endpoint.addresses, `${path}.addresses`);
  const address = r.string(addresses[0], `${path}.addresses[0]`);
  const conditions = r.object(endpoint.conditions, `${path}.conditions`, true);
  // The API's rule: an unknown readiness counts as ready; an unknown termination as not terminating.
  const ready = r.optionalBoolean(conditions?.ready, `${path}.conditions.ready`) ?? true;
  const terminating = r.optionalBoolean(conditions?.terminating, `${path}.conditions.terminating`) ?? false;
  const serving = r.optionalBoolean(conditions?.serving, `${path}.conditions.serving`);
  const topology = r.stringMap(endpoint.deprecatedTopology, `${path}.deprecatedTopology`);
  const zone = r.optionalString(endpoint.zone, `${path}.zone`) ?? topology[TOPOLOGY_ZONE_LABEL];
  const targetRef = r.object(endpoint.targetRef, `${path}.targetRef`, true);
  const podName = targetRef?.kind === 'Pod' ? r.optionalString(targetRef.name, `${path}.targetRef.name`) : undefined;
  const nodeName = r.optionalString(endpoint.nodeName, `${path}.nodeName`);
  if (address === undefined) return undefined;
  return {
    address,
    ready,
    terminating,
    ...(serving !== undefined ? { serving } : {}),
    ...(zone ? { zone } : {}),
    ...(podName ? { podName } : {}),
    ...(nodeName ? { nodeName } : {}),
  };
}

export function readServiceExport(object: unknown): ReadResult<KubeServiceExport> {
  const r = new JsonReader();
  const meta = readMeta(r, r.object(object, 'ServiceExport'));
  return finish(r, meta && { meta });
}

export function readPodLabels(object: unknown): ReadResult<KubePodLabels> {
  const r = new JsonReader();
  const meta = readMeta(r, r.object(object, 'Pod'));
  // Annotations are dropped: every Pod is held in memory, and only its labels are ever read.
  return finish(r, meta && { meta: { ...meta, annotations: {} } });
}

export function readNodeLabels(object: unknown): ReadResult<KubeNodeLabels> {
  const r = new JsonReader();
  const meta = readMeta(r, r.object(object, 'Node'), true);
  return finish(r, meta && { meta: { ...meta, annotations: {} } });
}

export function readSecret(object: unknown): ReadResult<KubeSecret> {
  const r = new JsonReader();
  const root = r.object(object, 'Secret');
  const meta = readMeta(r, root);
  const data = r.stringMap(root?.data, 'data');
  return finish(r, meta && { meta, data });
}

/** Nodes are cluster-scoped: their namespace is ''. */
function readMeta(r: JsonReader, root: JsonObject | undefined, clusterScoped = false): ObjectMeta | undefined {
  if (!root) return undefined;
  const metadata = r.object(root.metadata, 'metadata');
  if (!metadata) return undefined;
  const name = r.string(metadata.name, 'metadata.name');
  const namespace = clusterScoped ? '' : r.string(metadata.namespace, 'metadata.namespace');
  const labels = r.stringMap(metadata.labels, 'metadata.labels');
  const annotations = r.stringMap(metadata.annotations, 'metadata.annotations');
  return name && (namespace || clusterScoped) ? { name, namespace: namespace ?? '', labels, annotations } : undefined;
}

function finish<T>(r: JsonReader, value: T | undefined): ReadResult<T> {
  if (r.errors.length > 0 || value === undefined)
    return { ok: false, errors: r.errors.length > 0 ? r.errors : ['unreadable object'] };
  return { ok: true, value };
}
