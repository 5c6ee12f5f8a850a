// Reads a mesh file (YAML, or JSON, which is YAML) into a MeshModel. Every error is collected, each with
// the path and line it is about, so one run of `spillway validate` lists everything there is to fix
// (the located reading is src/config-validation/, shared with the clusters file).
// Limits (aliases, services, endpoints per service, listed errors) are in mesh-limits.ts. Service items are
// read one by one and joined by mesh-assembly.ts, so a part of a file can be read alone and joined with
// parts read before (incremental-mesh-parser.ts) with the same result.
import { isIP } from 'net';
import { cannotRead, readMeshFileBytes } from './mesh-file-reader';
import { readClusterGateway } from '../cluster-gateway';
import { CallSite, MeshParts, ServiceItem, ServiceList, assembleMesh } from './mesh-assembly';
import { CALL_HOST_FORMS, MAX_CALLS, MAX_CALLS_BYTES, callHost } from '../../mesh/calls';
import { DEFAULT_MESH_FILE_LIMITS, MAX_ENDPOINTS_PER_SERVICE, MAX_SERVICES, MeshFileLimits } from './mesh-limits';
import { splitHostPort } from '../../net/host-port';
import { ConfigError, formatConfigError, formatConfigErrors } from '../../config-validation/config-error';
import { At, Fields, YamlChecker as Checker, openYaml } from '../../config-validation/yaml-checker';
import { MAX_PORT, MIN_PORT, didYouMean, isLabelKey } from '../../config-validation/value-rules';
import { DEFAULT_SUBSET_LABEL } from '../../mesh/defaults';
import {
  CanaryConfig,
  FailoverMode,
  GRPC_RETRY_CODES,
  GrpcRetryCode,
  GatewayAddress,
  MeshCluster,
  MeshEndpoint,
  MeshModel,
  MeshService,
  OutlierTuning,
  PortProtocol,
  ServiceEntry,
  ServicePort,
} from '../../mesh/model';

/** An error of a mesh file: where (path, line) and what. */
export type MeshFileError = ConfigError;

export interface MeshSummary {
  clusters: number;
  services: number;
  endpoints: number;
}

export type MeshParseResult =
  { ok: true; model: MeshModel; summary: MeshSummary } | { ok: false; errors: MeshFileError[] };

/** Below 100% a fully healthy priority would already spill traffic: surely a mistake. */
const MIN_OVERPROVISIONING_PERCENT = 100;
const MAX_OVERPROVISIONING_PERCENT = 10_000;

const TOP_KEYS = ['clusters', 'services', 'mtls'] as const;
const CLUSTER_KEYS = ['name', 'region', 'zone', 'gateway', 'gatewayKind'] as const;
/** Longest slow start window a service may ask for (an hour). */
const MAX_SLOW_START_WINDOW_MS = 3_600_000;
const SERVICE_KEYS = [
  'name',
  'namespace',
  'ports',
  'export',
  'failover',
  'outlierDetection',
  'subsets',
  'canary',
  'mtls',
  'grpcRetryOn',
  'calls',
  'slowStartWindowMs',
  'endpoints',
] as const;
const PORT_KEYS = ['name', 'port', 'protocol'] as const;
const OUTLIER_KEYS = ['consecutive5xx', 'intervalMs', 'baseEjectionTimeMs', 'maxEjectionPercent'] as const;
const SUBSETS_KEYS = ['label'] as const;
const CANARY_KEYS = ['stable', 'canary', 'weight', 'header', 'order', 'overprovisioningPercent'] as const;
const HEADER_KEYS = ['name', 'exact'] as const;
const ENDPOINT_KEYS = [
  'cluster',
  'address',
  'port',
  'ports',
  'zone',
  'labels',
  'ready',
  'terminating',
  'sidecarPort',
] as const;
const PROTOCOLS: readonly PortProtocol[] = ['http', 'http2', 'grpc'];
const FAILOVER_MODES: readonly FailoverMode[] = ['cluster', 'region'];
const CANARY_ORDERS: readonly CanaryConfig['order'][] = ['version-first', 'locality-first'];

export function parseMeshText(text: string): MeshParseResult {
  try {
    return assembleMesh(readMeshParts(text));
  } catch (error) {
    // The parser and the walks recurse once per nesting level: a hostile file can exhaust the stack.
    if (error instanceof RangeError)
      return {
        ok: false,
        errors: [
          {
            path: '',
            line: 1,
            message: `the file is nested too deeply to read (${error.message}); a mesh file needs about 7 levels`,
          },
        ],
      };
    throw error;
  }
}

/**
 * Parses and checks everything but the rules across services (assembleMesh applies those). Item paths are
 * numbered from `serviceIndexOffset`, for a text holding a slice of a bigger file's services list.
 * May throw RangeError on a too deeply nested text (parseMeshText reports it).
 */
export function readMeshParts(text: string, serviceIndexOffset = 0): MeshParts {
  const opened = openYaml(text);
  if (!opened.ok) return { kind: 'refused', errors: opened.errors };
  const checker = opened.checker;
  const read = readMesh(checker, opened.root, serviceIndexOffset);
  return { kind: 'read', checked: checker.found, ...read };
}

/** Reads (regular files only, within the size limit, strict UTF-8) and parses a mesh file. */
export function loadMeshFile(path: string, limits: MeshFileLimits = DEFAULT_MESH_FILE_LIMITS): MeshParseResult {
  const read = readMeshFileBytes(path, limits);
  if (read.kind === 'refused') return { ok: false, errors: [read.error] };
  // Only a file being written right now changes under the reader: say so rather than guess.
  if (read.kind === 'changing')
    return {
      ok: false,
      errors: [
        { path: '', message: 'the file changed while it was read; run again once it is written (write it by rename)' },
      ],
    };
  return parseMeshText(read.text);
}

/** The error for a mesh file that cannot be read (missing, deleted, no permission). */
export const unreadableFileError = cannotRead;

/** One line per error, `FILE:LINE: PATH: MESSAGE`, the form editors and terminals turn into links. */
export const formatMeshErrors = formatConfigErrors;
export const formatMeshError = formatConfigError;

// ---------------------------------------------------------------------------------------------------
// Mesh structure: clusters, services, ports, endpoints. Each reader reports its own errors and returns
// undefined when its part is unusable; the model is only built when there are no errors at all.

interface MeshRead {
  clusters?: Map<string, MeshCluster>;
  services?: ServiceList;
}

function readMesh(c: Checker, root: At, serviceIndexOffset: number): MeshRead {
  if (root.node === null || root.node === undefined)
    return c.report(root, 'the mesh file is empty; it needs at least `clusters:`') ?? {};
  const top = c.fields(root, TOP_KEYS);
  if (!top) return {};
  const clusters = readClusters(c, top.required('clusters'));
  const servicesAt = top.optional('services');
  // `mtls: true` at the top is the mesh-wide default; a service may override it.
  const meshMtls = c.optionalBoolean(top.optional('mtls')) ?? false;
  const services = servicesAt ? readServices(c, servicesAt, clusters, meshMtls, serviceIndexOffset) : undefined;
  return { clusters: clusters.valid, ...(services ? { services } : {}) };
}

interface ClusterSet {
  valid: Map<string, MeshCluster>;
  /** Every well-formed cluster name, even of clusters with other errors, so endpoints do not cascade errors. */
  names: Set<string>;
}

function readClusters(c: Checker, at: At | undefined): ClusterSet {
  const set: ClusterSet = { valid: new Map(), names: new Set() };
  const firstAt = new Map<string, string>();
  const items = c.items(at);
  // Valid YAML, but serving it would remove every proxy's whole configuration at once.
  if (at && items?.length === 0)
    c.report(at, 'the mesh needs at least one cluster: with none, every proxy would be sent an empty configuration');
  for (const item of items ?? []) {
    const f = c.fields(item, CLUSTER_KEYS);
    if (!f) continue;
    const nameAt = f.required('name');
    const name = c.dnsLabel(nameAt);
    if (name !== undefined && nameAt) {
      const first = firstAt.get(name);
      if (first !== undefined) c.report(nameAt, `duplicate cluster name "${name}" (first defined at ${first})`);
      else firstAt.set(name, item.path);
      set.names.add(name);
    }
    const region = c.nonEmptyString(f.required('region'));
    const zone = c.nonEmptyString(f.required('zone'));
    const gateway = readClusterGateway(c, f, (at) => readGateway(c, at), 'HOST:PORT');
    if (name === undefined || region === undefined || zone === undefined || !gateway.ok) continue;
    if (!set.valid.has(name))
      set.valid.set(name, { name, region, zone, ...(gateway.gateway ? { gateway: gateway.gateway } : {}) });
  }
  return set;
}

function readGateway(c: Checker, at: At): GatewayAddress | undefined {
  const text = c.string(at);
  if (text === undefined) return undefined;
  const hostPort = splitHostPort(text);
  if (!hostPort) return c.report(at, `"${text}" is not HOST:PORT (IPv6 in brackets: [::1]:15443)`);
  if (!isIP(hostPort.host))
    return c.report(at, `"${hostPort.host}" is not an IP address (the gateway is reached by IP, not by name)`);
  const port = Number(hostPort.port);
  if (!/^\d+$/.test(hostPort.port) || port < MIN_PORT || port > MAX_PORT)
    return c.report(at, `port "${hostPort.port}" must be a number in ${MIN_PORT}..${MAX_PORT}`);
  return { address: hostPort.host, port };
}

/** Each item alone: the rules across items (duplicates, the count limit) are mesh-assembly.ts's. */
function readServices(c: Checker, at: At, clusters: ClusterSet, meshMtls: boolean, indexOffset: number): ServiceList {
  const items = c.items(at, indexOffset) ?? [];
  if (items.length > MAX_SERVICES) return { at, count: items.length, items: [] };
  return {
    at,
    count: items.length,
    items: items.map((item) => readServiceItem(c.forItem(), item, clusters, meshMtls)),
  };
}

function readServiceItem(c: Checker, at: At, clusters: ClusterSet, meshMtls: boolean): ServiceItem {
  const item: ServiceItem = { path: at.path, line: at.line, errors: c.found.errors, unlisted: 0, errorsBeforeKey: 0 };
  const entry = readService(c, at, clusters, meshMtls, item);
  item.unlisted = c.found.unlisted;
  return entry ? { ...item, entry } : item;
}

/** Fills in `item.key` and where a duplicate of it would be reported. */
function readService(
  c: Checker,
  at: At,
  clusters: ClusterSet,
  meshMtls: boolean,
  item: ServiceItem,
): ServiceEntry | undefined {
  const f = c.fields(at, SERVICE_KEYS);
  if (!f) return undefined;
  const nameAt = f.required('name');
  const name = c.dnsLabel(nameAt);
  const namespace = c.dnsLabel(f.required('namespace'));
  item.errorsBeforeKey = c.found.reported;
  if (name !== undefined && namespace !== undefined && nameAt) {
    item.key = `${name}.${namespace}`;
    item.nameLine = nameAt.line;
  }
  const ports = readPorts(c, f.required('ports'));
  const exported = c.optionalBoolean(f.optional('export')) ?? false;
  const failover = c.optionalOneOf(f.optional('failover'), FAILOVER_MODES) ?? 'cluster';
  const outlierAt = f.optional('outlierDetection');
  const outlier = outlierAt ? readOutlier(c, outlierAt) : undefined;
  const subsetsAt = f.optional('subsets');
  const subsetLabel = subsetsAt ? readSubsetLabel(c, subsetsAt) : DEFAULT_SUBSET_LABEL;
  const canaryAt = f.optional('canary');
  const canary = canaryAt ? readCanary(c, canaryAt) : undefined;
  const mtls = c.optionalBoolean(f.optional('mtls')) ?? meshMtls;
  const retryAt = f.optional('grpcRetryOn');
  const grpcRetryOn = retryAt ? readGrpcRetryOn(c, retryAt) : undefined;
  const callsAt = f.optional('calls');
  const calls = callsAt ? readCalls(c, callsAt, item) : undefined;
  const slowStartWindowMs = c.optionalInteger(f.optional('slowStartWindowMs'), 1_000, MAX_SLOW_START_WINDOW_MS);
  const endpoints: MeshEndpoint[] = [];
  const seen = new Map<string, string>();
  const endpointsAt = f.optional('endpoints');
  let endpointItems = c.items(endpointsAt) ?? [];
  if (endpointsAt && endpointItems.length > MAX_ENDPOINTS_PER_SERVICE) {
    c.report(
      endpointsAt,
      `${endpointItems.length} endpoints, more than the ${MAX_ENDPOINTS_PER_SERVICE} a service may have (a built-in limit, see docs/OPERATIONS.md)`,
    );
    endpointItems = [];
  }
  for (const item of endpointItems) {
    const endpoint = readEndpoint(c, item, { clusters, ports, seen, mtls });
    if (endpoint) endpoints.push(endpoint);
  }
  if (name === undefined || namespace === undefined || subsetLabel === undefined) return undefined;
  const service: MeshService = {
    name,
    namespace,
    ports: ports.valid,
    exported,
    subsetLabel,
    failover,
    ...(mtls ? { mtls } : {}),
    ...(canary ? { canary } : {}),
    ...(outlier ? { outlier } : {}),
    ...(grpcRetryOn ? { grpcRetryOn } : {}),
    ...(calls ? { calls } : {}),
    ...(slowStartWindowMs !== undefined ? { slowStartWindowMs } : {}),
  };
  return { service, endpoints };
}

/**
 * `calls: [ledger.shop, payments.billing]`: the services this workload's sidecars are given. Each host is
 * kept with where it was written, so the assembly reports one no service defines at its own line.
 */
function readCalls(c: Checker, at: At, item: ServiceItem): string[] | undefined {
  const items = c.items(at);
  if (!items) return undefined;
  if (items.length > MAX_CALLS)
    return c.report(
      at,
      `names ${items.length} services, more than the ${MAX_CALLS} a calls list may name (a built-in limit, see docs/OPERATIONS.md)`,
    );
  const hosts = new Set<string>();
  const sites: CallSite[] = [];
  let bytes = 0;
  for (const [index, callAt] of items.entries()) {
    const text = c.string(callAt);
    if (text === undefined) continue;
    bytes += Buffer.byteLength(text, 'utf8');
    const host = callHost(text);
    if (host === undefined) {
      c.report(callAt, `"${text.slice(0, 100)}" is not a service host (${CALL_HOST_FORMS})`);
      continue;
    }
    hosts.add(host);
    sites.push({ host, index, lineOffset: callAt.line - item.line });
  }
  if (bytes > MAX_CALLS_BYTES)
    return c.report(
      at,
      `is ${bytes} bytes, more than the ${MAX_CALLS_BYTES} a calls list may have (a built-in limit, see docs/OPERATIONS.md)`,
    );
  item.calls = sites;
  return [...hosts].sort();
}

/** `grpcRetryOn: [unavailable, resource-exhausted]`: the statuses proxyless clients retry on. */
function readGrpcRetryOn(c: Checker, at: At): GrpcRetryCode[] | undefined {
  const items = c.items(at);
  if (!items) return undefined;
  if (items.length === 0)
    return c.report(at, 'names no status; list at least one, or leave grpcRetryOn out for the default [unavailable]');
  const codes = new Set<GrpcRetryCode>();
  for (const item of items) {
    const code = c.optionalOneOf(item, GRPC_RETRY_CODES);
    if (code) codes.add(code);
  }
  return codes.size > 0 ? [...codes].sort() : undefined;
}

interface PortSet {
  valid: ServicePort[];
  /** Every well-formed port name, even of ports with other errors, so endpoints do not cascade errors. */
  names: string[];
}

function readPorts(c: Checker, at: At | undefined): PortSet {
  const set: PortSet = { valid: [], names: [] };
  const items = c.items(at);
  if (at && items?.length === 0) c.report(at, 'a service needs at least one port');
  const nameAt = new Map<string, string>();
  const numberAt = new Map<number, string>();
  for (const item of items ?? []) {
    const f = c.fields(item, PORT_KEYS);
    if (!f) continue;
    const nameField = f.required('name');
    const name = c.dnsLabel(nameField);
    if (name !== undefined && nameField) {
      const first = nameAt.get(name);
      if (first !== undefined) c.report(nameField, `duplicate port name "${name}" (first at ${first})`);
      else nameAt.set(name, item.path);
      set.names.push(name);
    }
    const numberField = f.required('port');
    const port = c.integer(numberField, MIN_PORT, MAX_PORT);
    if (port !== undefined && numberField) {
      const first = numberAt.get(port);
      if (first !== undefined) c.report(numberField, `duplicate port ${port} (first at ${first})`);
      else numberAt.set(port, item.path);
    }
    const protocolAt = f.optional('protocol');
    const protocol = protocolAt
      ? c.oneOf(protocolAt, PROTOCOLS)
      : name !== undefined
        ? protocolFromName(name)
        : undefined;
    if (name !== undefined && port !== undefined && protocol !== undefined) set.valid.push({ name, port, protocol });
  }
  return set;
}

/** Istio's convention: a port named `grpc*` or `http2*` speaks that protocol unless told otherwise. */
function protocolFromName(name: string): PortProtocol {
  if (name.startsWith('grpc')) return 'grpc';
  if (name.startsWith('http2')) return 'http2';
  return 'http';
}

function readOutlier(c: Checker, at: At): OutlierTuning | undefined {
  const f = c.fields(at, OUTLIER_KEYS);
  if (!f) return undefined;
  const tuning: OutlierTuning = {};
  const consecutive5xx = c.optionalInteger(f.optional('consecutive5xx'), 1);
  const intervalMs = c.optionalInteger(f.optional('intervalMs'), 1);
  const baseEjectionTimeMs = c.optionalInteger(f.optional('baseEjectionTimeMs'), 1);
  const maxEjectionPercent = c.optionalInteger(f.optional('maxEjectionPercent'), 0, 100);
  if (consecutive5xx !== undefined) tuning.consecutive5xx = consecutive5xx;
  if (intervalMs !== undefined) tuning.intervalMs = intervalMs;
  if (baseEjectionTimeMs !== undefined) tuning.baseEjectionTimeMs = baseEjectionTimeMs;
  if (maxEjectionPercent !== undefined) tuning.maxEjectionPercent = maxEjectionPercent;
  return tuning;
}

function readSubsetLabel(c: Checker, at: At): string | undefined {
  const f = c.fields(at, SUBSETS_KEYS);
  if (!f) return undefined;
  const labelAt = f.optional('label');
  return labelAt ? c.labelKey(labelAt) : DEFAULT_SUBSET_LABEL;
}

function readCanary(c: Checker, at: At): CanaryConfig | undefined {
  const f = c.fields(at, CANARY_KEYS);
  if (!f) return undefined;
  const stable = c.labelValue(f.required('stable'));
  const canaryAt = f.required('canary');
  const canary = c.labelValue(canaryAt);
  if (canaryAt && stable !== undefined && canary === stable)
    c.report(canaryAt, `the canary subset must differ from the stable one ("${stable}")`);
  const weight = c.optionalInteger(f.optional('weight'), 0, 100);
  const headerAt = f.optional('header');
  const header = headerAt ? readHeaderMatch(c, headerAt) : undefined;
  const order = c.optionalOneOf(f.optional('order'), CANARY_ORDERS) ?? 'version-first';
  const overprovisioningPercent = c.optionalInteger(
    f.optional('overprovisioningPercent'),
    MIN_OVERPROVISIONING_PERCENT,
    MAX_OVERPROVISIONING_PERCENT,
  );
  if (stable === undefined || canary === undefined || (headerAt && !header)) return undefined;
  return {
    stable,
    canary,
    // No weight: only requests with the header reach the canary.
    weight: weight ?? 0,
    order,
    ...(header ? { header } : {}),
    ...(overprovisioningPercent !== undefined ? { overprovisioningPercent } : {}),
  };
}

function readHeaderMatch(c: Checker, at: At): CanaryConfig['header'] {
  const f = c.fields(at, HEADER_KEYS);
  if (!f) return undefined;
  const nameAt = f.required('name');
  const name = c.string(nameAt);
  const exact = c.string(f.required('exact'));
  if (name !== undefined && nameAt && !/^:?[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name))
    return c.report(nameAt, `"${name}" is not an HTTP header name`);
  if (name === undefined || exact === undefined) return undefined;
  // HTTP header names are case-insensitive and Envoy matches them lowercased.
  return { name: name.toLowerCase(), exact };
}

interface EndpointContext {
  clusters: ClusterSet;
  ports: PortSet;
  /** `cluster address:port` -> path of the endpoint that first used it. */
  seen: Map<string, string>;
  /** An mTLS service's endpoints must say where their sidecar terminates mTLS. */
  mtls: boolean;
}

function readEndpoint(c: Checker, at: At, context: EndpointContext): MeshEndpoint | undefined {
  const f = c.fields(at, ENDPOINT_KEYS);
  if (!f) return undefined;
  const clusterAt = f.required('cluster');
  let cluster = c.string(clusterAt);
  if (cluster !== undefined && clusterAt && !context.clusters.names.has(cluster)) {
    const known = [...context.clusters.names].join(', ') || 'none';
    cluster = c.report(clusterAt, `unknown cluster "${cluster}" (known: ${known})`);
  }
  const addressAt = f.required('address');
  let address = c.string(addressAt);
  if (address !== undefined && addressAt && !isIP(address))
    address = c.report(addressAt, `"${address}" is not an IP address`);
  const ports = readEndpointPorts(c, at, f, context.ports);
  const zoneAt = f.optional('zone');
  const zone = zoneAt ? c.nonEmptyString(zoneAt) : undefined;
  const labelsAt = f.optional('labels');
  const labels = labelsAt ? readLabels(c, labelsAt) : {};
  const ready = c.optionalBoolean(f.optional('ready')) ?? true;
  const terminating = c.optionalBoolean(f.optional('terminating'));
  const sidecarPortAt = f.optional('sidecarPort');
  const sidecarPort = sidecarPortAt ? c.integer(sidecarPortAt, MIN_PORT, MAX_PORT) : undefined;
  if (context.mtls && !sidecarPortAt)
    c.report(
      at,
      "an mTLS service needs `sidecarPort` on every endpoint (where the workload's sidecar terminates mTLS)",
    );
  if (
    cluster === undefined ||
    address === undefined ||
    ports === undefined ||
    labels === undefined ||
    (zoneAt && zone === undefined)
  )
    return undefined;
  if (isDuplicate(c, at, cluster, address, ports, context.seen)) return undefined;
  return {
    cluster,
    address,
    ports,
    labels,
    ready,
    ...(zone !== undefined ? { zone } : {}),
    ...(terminating !== undefined ? { terminating } : {}),
    ...(sidecarPort !== undefined ? { sidecarPort } : {}),
  };
}

/** Exactly one of `port` (the same number for every service port) or `ports` (a number per port name). */
function readEndpointPorts(c: Checker, at: At, f: Fields, servicePorts: PortSet): Record<string, number> | undefined {
  const singleAt = f.optional('port');
  const perNameAt = f.optional('ports');
  if (singleAt && perNameAt) return c.report(perNameAt, 'give either `port` or `ports`, not both');
  if (singleAt) {
    const port = c.integer(singleAt, MIN_PORT, MAX_PORT);
    if (port === undefined) return undefined;
    return Object.fromEntries(servicePorts.names.map((name) => [name, port]));
  }
  if (!perNameAt)
    return c.report(at, 'needs `port` (one number for every service port) or `ports` (a number per service port name)');
  const entries = c.entries(perNameAt);
  if (!entries) return undefined;
  if (entries.size === 0) return c.report(perNameAt, 'needs at least one service port');
  const ports: Record<string, number> = {};
  let valid = true;
  for (const [name, portAt] of entries) {
    const port = c.integer(portAt, MIN_PORT, MAX_PORT);
    if (!servicePorts.names.includes(name)) {
      const known = servicePorts.names.join(', ') || 'none';
      c.report(
        portAt,
        `unknown service port "${name}"${didYouMean(name, servicePorts.names)} (service ports: ${known})`,
      );
      valid = false;
    } else if (port === undefined) valid = false;
    else ports[name] = port;
  }
  return valid ? ports : undefined;
}

function readLabels(c: Checker, at: At): Record<string, string> | undefined {
  const entries = c.entries(at);
  if (!entries) return undefined;
  const labels: Record<string, string> = {};
  let valid = true;
  for (const [key, valueAt] of entries) {
    const value = c.labelValue(valueAt);
    if (!isLabelKey(key)) {
      c.report(valueAt, `"${key}" is not a label key (like version or app.kubernetes.io/version)`);
      valid = false;
    } else if (value === undefined) valid = false;
    else labels[key] = value;
  }
  return valid ? labels : undefined;
}

function isDuplicate(
  c: Checker,
  at: At,
  cluster: string,
  address: string,
  ports: Record<string, number>,
  seen: Map<string, string>,
): boolean {
  for (const port of new Set(Object.values(ports))) {
    const key = `${cluster} ${formatHostPort(address, port)}`;
    const first = seen.get(key);
    if (first !== undefined) {
      c.report(at, `duplicate endpoint ${key} (same as ${first})`);
      return true;
    }
  }
  for (const port of new Set(Object.values(ports))) seen.set(`${cluster} ${formatHostPort(address, port)}`, at.path);
  return false;
}

function formatHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
