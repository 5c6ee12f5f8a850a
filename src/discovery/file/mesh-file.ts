// Reads a mesh file (YAML, or JSON, which is YAML) into a MeshModel. Every error is collected, each with
// the path and line it is about, so one run of `spillway validate` lists everything there is to fix.
// Validation walks the YAML node tree (not the plain JS value) because only the nodes know their lines.
// Limits (aliases, services, endpoints per service, listed errors) are in mesh-limits.ts. Service items are
// read one by one and joined by mesh-assembly.ts, so a part of a file can be read alone and joined with
// parts read before (incremental-mesh-parser.ts) with the same result.
import { isIP } from 'net';
import { Alias, LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { cannotRead, readMeshFileBytes } from './mesh-file-reader';
import { CallSite, MeshParts, ServiceItem, ServiceList, assembleMesh } from './mesh-assembly';
import { CALL_HOST_FORMS, MAX_CALLS, MAX_CALLS_BYTES, callHost } from '../../mesh/calls';
import { ErrorList, listed } from './mesh-error-list';
import { ALIAS_FREE_NODES, DEFAULT_MESH_FILE_LIMITS, MAX_ENDPOINTS_PER_SERVICE, MAX_SERVICES, MeshFileLimits } from './mesh-limits';
import { AliasReport, resolveAliases } from './yaml-aliases';
import { splitHostPort } from '../../net/host-port';
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

export interface MeshFileError {
  /** Where in the document, e.g. `services[0].endpoints[2].cluster`; empty when about the file as a whole. */
  path: string;
  /** 1-based line; absent when the error is about no line (unreadable file, count of unlisted errors). */
  line?: number;
  message: string;
}

export interface MeshSummary {
  clusters: number;
  services: number;
  endpoints: number;
}

export type MeshParseResult = { ok: true; model: MeshModel; summary: MeshSummary } | { ok: false; errors: MeshFileError[] };

export const DEFAULT_SUBSET_LABEL = 'version';
const MIN_PORT = 1;
const MAX_PORT = 65_535;
/** Below 100% a fully healthy priority would already spill traffic: surely a mistake. */
const MIN_OVERPROVISIONING_PERCENT = 100;
const MAX_OVERPROVISIONING_PERCENT = 10_000;

const TOP_KEYS = ['clusters', 'services', 'mtls'] as const;
const CLUSTER_KEYS = ['name', 'region', 'zone', 'gateway'] as const;
/** Longest slow start window a service may ask for (an hour). */
const MAX_SLOW_START_WINDOW_MS = 3_600_000;
const SERVICE_KEYS = ['name', 'namespace', 'ports', 'export', 'failover', 'outlierDetection', 'subsets', 'canary', 'mtls', 'grpcRetryOn', 'calls', 'slowStartWindowMs', 'endpoints'] as const;
const PORT_KEYS = ['name', 'port', 'protocol'] as const;
const OUTLIER_KEYS = ['consecutive5xx', 'intervalMs', 'baseEjectionTimeMs', 'maxEjectionPercent'] as const;
const SUBSETS_KEYS = ['label'] as const;
const CANARY_KEYS = ['stable', 'canary', 'weight', 'header', 'order', 'overprovisioningPercent'] as const;
const HEADER_KEYS = ['name', 'exact'] as const;
const ENDPOINT_KEYS = ['cluster', 'address', 'port', 'ports', 'zone', 'labels', 'ready', 'terminating', 'sidecarPort'] as const;
const PROTOCOLS: readonly PortProtocol[] = ['http', 'http2', 'grpc'];
const FAILOVER_MODES: readonly FailoverMode[] = ['cluster', 'region'];
const CANARY_ORDERS: readonly CanaryConfig['order'][] = ['version-first', 'locality-first'];

export function parseMeshText(text: string): MeshParseResult {
  try {
    return assembleMesh(readMeshParts(text));
  } catch (error) {
    // The parser and the walks recurse once per nesting level: a hostile file can exhaust the stack.
    if (error instanceof RangeError) return { ok: false, errors: [{ path: '', line: 1, message: `the file is nested too deeply to read (${error.message}); a mesh file needs about 7 levels` }] };
    throw error;
  }
}

/**
 * Parses and checks everything but the rules across services (assembleMesh applies those). Item paths are
 * numbered from `serviceIndexOffset`, for a text holding a slice of a bigger file's services list.
 * May throw RangeError on a too deeply nested text (parseMeshText reports it).
 */
export function readMeshParts(text: string, serviceIndexOffset = 0): MeshParts {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    // The tree of a document with syntax errors is partial: report the syntax, not its consequences.
    return { kind: 'refused', errors: listed(doc.errors.map((error) => ({ path: '', line: lineCounter.linePos(error.pos[0]).line, message: error.message }))) };
  }
  const lines = new Locator(text, lineCounter);
  const aliases = resolveAliases(doc.contents);
  const aliasErrors = checkAliases(aliases, lines);
  if (aliasErrors.length > 0) return { kind: 'refused', errors: listed(aliasErrors) };
  const checker = new Checker(aliases.targets, lines);
  const read = readMesh(checker, checker.at(doc.contents, '', 1), serviceIndexOffset);
  return { kind: 'read', checked: checker.found, ...read };
}

/** Reads (regular files only, within the size limit, strict UTF-8) and parses a mesh file. */
export function loadMeshFile(path: string, limits: MeshFileLimits = DEFAULT_MESH_FILE_LIMITS): MeshParseResult {
  const read = readMeshFileBytes(path, limits);
  if (read.kind === 'refused') return { ok: false, errors: [read.error] };
  // Only a file being written right now changes under the reader: say so rather than guess.
  if (read.kind === 'changing') return { ok: false, errors: [{ path: '', message: 'the file changed while it was read; run again once it is written (write it by rename)' }] };
  return parseMeshText(read.text);
}

/** The error for a mesh file that cannot be read (missing, deleted, no permission). */
export const unreadableFileError = cannotRead;

/** Aliases that point nowhere, into themselves, or blow the document up are refused before any walk. */
function checkAliases(report: AliasReport, lines: Locator): MeshFileError[] {
  const errors: MeshFileError[] = report.undefinedAliases.map((alias) => ({
    path: '',
    line: lines.of(alias) ?? 1,
    message: `alias *${alias.source} has no anchor &${alias.source} before it`,
  }));
  if (report.cyclic) {
    const alias = report.cyclic;
    errors.push({ path: '', line: lines.of(alias) ?? 1, message: `alias *${alias.source} is inside the node anchored &${alias.source}: it would repeat forever` });
  }
  const added = report.expandedNodes - report.writtenNodes;
  const allowed = Math.max(ALIAS_FREE_NODES, report.writtenNodes);
  if (added > allowed) {
    const heaviest = report.heaviest;
    const line = heaviest ? lines.ofAnchor(heaviest.anchor, heaviest.node) : undefined;
    const culprit = heaviest ? `; most come from the ${heaviest.uses} aliases of &${heaviest.anchor} (line ${line ?? '?'}), adding ${heaviest.addedNodes} nodes` : '';
    errors.push({
      path: '',
      line: line ?? 1,
      message:
        `YAML aliases expand this file from ${report.writtenNodes} written nodes to ${report.expandedNodes}${culprit}. ` +
        `Aliases may add at most as many nodes as the file writes out (or ${ALIAS_FREE_NODES}): write the repeated parts out, or generate the file`,
    });
  }
  return errors;
}

/** Lines of YAML nodes, for error messages. */
class Locator {
  constructor(private readonly text: string, private readonly lineCounter: LineCounter) {}

  of(node: unknown): number | undefined {
    const start = startOf(node);
    return start === undefined ? undefined : this.lineCounter.linePos(start).line;
  }

  /** A block node starts on the line below its `&name`: point at the anchor, where a reader looks. */
  ofAnchor(anchor: string, node: unknown): number | undefined {
    const start = startOf(node);
    const at = start === undefined ? -1 : this.text.lastIndexOf(`&${anchor}`, start);
    return at >= 0 ? this.lineCounter.linePos(at).line : this.of(node);
  }
}

function startOf(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null | undefined)?.range?.[0];
}

/** One line per error, `FILE:LINE: PATH: MESSAGE`, the form editors and terminals turn into links. */
export function formatMeshErrors(file: string, errors: readonly MeshFileError[]): string {
  return errors.map((error) => formatMeshError(file, error)).join('\n');
}

export function formatMeshError(file: string, error: MeshFileError): string {
  const where = error.line === undefined ? file : `${file}:${error.line}`;
  return error.path ? `${where}: ${error.path}: ${error.message}` : `${where}: ${error.message}`;
}

// ---------------------------------------------------------------------------------------------------
// Mesh structure: clusters, services, ports, endpoints. Each reader reports its own errors and returns
// undefined when its part is unusable; the model is only built when there are no errors at all.

type MeshRead = { clusters?: Map<string, MeshCluster>; services?: ServiceList };

function readMesh(c: Checker, root: At, serviceIndexOffset: number): MeshRead {
  if (root.node === null || root.node === undefined) return c.report(root, 'the mesh file is empty; it needs at least `clusters:`') ?? {};
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
  if (at && items && items.length === 0) c.report(at, 'the mesh needs at least one cluster: with none, every proxy would be sent an empty configuration');
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
    const gatewayAt = f.optional('gateway');
    const gateway = gatewayAt ? readGateway(c, gatewayAt) : undefined;
    if (name === undefined || region === undefined || zone === undefined || (gatewayAt && !gateway)) continue;
    if (!set.valid.has(name)) set.valid.set(name, { name, region, zone, ...(gateway ? { gateway } : {}) });
  }
  return set;
}

function readGateway(c: Checker, at: At): GatewayAddress | undefined {
  const text = c.string(at);
  if (text === undefined) return undefined;
  const hostPort = splitHostPort(text);
  if (!hostPort) return c.report(at, `"${text}" is not HOST:PORT (IPv6 in brackets: [::1]:15443)`);
  if (!isIP(hostPort.host)) return c.report(at, `"${hostPort.host}" is not an IP address (the gateway is reached by IP, not by name)`);
  const port = Number(hostPort.port);
  if (!/^\d+$/.test(hostPort.port) || port < MIN_PORT || port > MAX_PORT) return c.report(at, `port "${hostPort.port}" must be a number in ${MIN_PORT}..${MAX_PORT}`);
  return { address: hostPort.host, port };
}

/** Each item alone: the rules across items (duplicates, the count limit) are mesh-assembly.ts's. */
function readServices(c: Checker, at: At, clusters: ClusterSet, meshMtls: boolean, indexOffset: number): ServiceList {
  const items = c.items(at, indexOffset) ?? [];
  if (items.length > MAX_SERVICES) return { at, count: items.length, items: [] };
  return { at, count: items.length, items: items.map((item) => readServiceItem(c.forItem(), item, clusters, meshMtls)) };
}

function readServiceItem(c: Checker, at: At, clusters: ClusterSet, meshMtls: boolean): ServiceItem {
  const item: ServiceItem = { path: at.path, line: at.line, errors: c.found.errors, unlisted: 0, errorsBeforeKey: 0 };
  const entry = readService(c, at, clusters, meshMtls, item);
  item.unlisted = c.found.unlisted;
  return entry ? { ...item, entry } : item;
}

/** Fills in `item.key` and where a duplicate of it would be reported. */
function readService(c: Checker, at: At, clusters: ClusterSet, meshMtls: boolean, item: ServiceItem): ServiceEntry | undefined {
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
    c.report(endpointsAt, `${endpointItems.length} endpoints, more than the ${MAX_ENDPOINTS_PER_SERVICE} a service may have (a built-in limit, see docs/OPERATIONS.md)`);
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
  if (items.length > MAX_CALLS) return c.report(at, `names ${items.length} services, more than the ${MAX_CALLS} a calls list may name (a built-in limit, see docs/OPERATIONS.md)`);
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
  if (bytes > MAX_CALLS_BYTES) return c.report(at, `is ${bytes} bytes, more than the ${MAX_CALLS_BYTES} a calls list may have (a built-in limit, see docs/OPERATIONS.md)`);
  item.calls = sites;
  return [...hosts].sort();
}

/** `grpcRetryOn: [unavailable, resource-exhausted]`: the statuses proxyless clients retry on. */
function readGrpcRetryOn(c: Checker, at: At): GrpcRetryCode[] | undefined {
  const items = c.items(at);
  if (!items) return undefined;
  if (items.length === 0) return c.report(at, 'names no status; list at least one, or leave grpcRetryOn out for the default [unavailable]');
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
  if (at && items && items.length === 0) c.report(at, 'a service needs at least one port');
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
    const protocol = protocolAt ? c.oneOf(protocolAt, PROTOCOLS) : name !== undefined ? protocolFromName(name) : undefined;
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
  if (canaryAt && stable !== undefined && canary === stable) c.report(canaryAt, `the canary subset must differ from the stable one ("${stable}")`);
  const weight = c.optionalInteger(f.optional('weight'), 0, 100);
  const headerAt = f.optional('header');
  const header = headerAt ? readHeaderMatch(c, headerAt) : undefined;
  const order = c.optionalOneOf(f.optional('order'), CANARY_ORDERS) ?? 'version-first';
  const overprovisioningPercent = c.optionalInteger(f.optional('overprovisioningPercent'), MIN_OVERPROVISIONING_PERCENT, MAX_OVERPROVISIONING_PERCENT);
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
  if (name !== undefined && nameAt && !/^:?[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) return c.report(nameAt, `"${name}" is not an HTTP header name`);
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
  if (address !== undefined && addressAt && !isIP(address)) address = c.report(addressAt, `"${address}" is not an IP address`);
  const ports = readEndpointPorts(c, at, f, context.ports);
  const zoneAt = f.optional('zone');
  const zone = zoneAt ? c.nonEmptyString(zoneAt) : undefined;
  const labelsAt = f.optional('labels');
  const labels = labelsAt ? readLabels(c, labelsAt) : {};
  const ready = c.optionalBoolean(f.optional('ready')) ?? true;
  const terminating = c.optionalBoolean(f.optional('terminating'));
  const sidecarPortAt = f.optional('sidecarPort');
  const sidecarPort = sidecarPortAt ? c.integer(sidecarPortAt, MIN_PORT, MAX_PORT) : undefined;
  if (context.mtls && !sidecarPortAt) c.report(at, 'an mTLS service needs `sidecarPort` on every endpoint (where the workload\'s sidecar terminates mTLS)');
  if (cluster === undefined || address === undefined || ports === undefined || labels === undefined || (zoneAt && zone === undefined)) return undefined;
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
  if (!perNameAt) return c.report(at, 'needs `port` (one number for every service port) or `ports` (a number per service port name)');
  const entries = c.entries(perNameAt);
  if (!entries) return undefined;
  if (entries.size === 0) return c.report(perNameAt, 'needs at least one service port');
  const ports: Record<string, number> = {};
  let valid = true;
  for (const [name, portAt] of entries) {
    const port = c.integer(portAt, MIN_PORT, MAX_PORT);
    if (!servicePorts.names.includes(name)) {
      const known = servicePorts.names.join(', ') || 'none';
      c.report(portAt, `unknown service port "${name}"${didYouMean(name, servicePorts.names)} (service ports: ${known})`);
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

function isDuplicate(c: Checker, at: At, cluster: string, address: string, ports: Record<string, number>, seen: Map<string, string>): boolean {
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

// ---------------------------------------------------------------------------------------------------
// Typed, located access to YAML nodes. Every check reports at the node's own line and path.

/** A node of the document with where it is. */
interface At {
  node: unknown;
  path: string;
  line: number;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

function isLabelKey(key: string): boolean {
  return LABEL_KEY.test(key);
}

/** The fields of one mapping, after unknown keys were reported. */
class Fields {
  constructor(
    private readonly checker: Checker,
    private readonly owner: At,
    private readonly values: Map<string, At>,
    /** Keys an unknown key was reported as a likely typo of: their absence is that same error. */
    private readonly misspelled: ReadonlySet<string>,
  ) {}

  /** The field, or undefined when absent or explicitly empty (`key:` or `key: null`). */
  optional(key: string): At | undefined {
    const at = this.values.get(key);
    return at && at.node !== null ? at : undefined;
  }

  /** The field, reporting it when absent or empty. */
  required(key: string): At | undefined {
    const at = this.values.get(key);
    if (!at && this.misspelled.has(key)) return undefined;
    if (!at) return this.checker.report({ path: childPath(this.owner.path, key), line: this.owner.line }, `missing required key "${key}"`);
    if (at.node === null) return this.checker.report(at, 'needs a value');
    return at;
  }
}

class Checker {
  readonly found = new ErrorList();

  constructor(
    private readonly aliasTargets: ReadonlyMap<Alias, unknown>,
    private readonly lines: Locator,
  ) {}

  /** A checker of the same document with errors of its own: one service item's. */
  forItem(): Checker {
    return new Checker(this.aliasTargets, this.lines);
  }

  /** Wraps a node (following aliases) with its path and line; empty values (`key:`) become null. */
  at(node: unknown, path: string, fallbackLine: number): At {
    const line = this.lines.of(node) ?? fallbackLine;
    const target = isAlias(node) ? this.aliasTargets.get(node) : node;
    const value = target === undefined || target === null || (isScalar(target) && target.value === null) ? null : target;
    return { node: value, path, line };
  }

  report(where: { path: string; line: number }, message: string): undefined {
    return this.found.report(where, message);
  }

  /** A mapping's entries by string key, any keys allowed (labels, per-port numbers). */
  entries(at: At): Map<string, At> | undefined {
    if (!isMap(at.node)) return this.report(at, `must be a mapping, got ${describe(at.node)}`);
    const entries = new Map<string, At>();
    for (const pair of at.node.items) {
      const keyLine = this.lines.of(pair.key) ?? at.line;
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if (typeof key !== 'string' && typeof key !== 'number') {
        this.report({ path: at.path, line: keyLine }, `keys must be text, got ${describe(pair.key)}`);
        continue;
      }
      const name = String(key);
      // Errors about a field point at its key's line: a block value starts on the lines below.
      entries.set(name, { ...this.at(pair.value, childPath(at.path, name), keyLine), line: keyLine });
    }
    return entries;
  }

  /** A mapping that may only hold `known` keys: a typo must be an error, never silently ignored. */
  fields(at: At, known: readonly string[]): Fields | undefined {
    if (!isMap(at.node)) return this.report(at, `must be a mapping with keys ${known.join(', ')}; got ${describe(at.node)}`);
    const entries = this.entries(at);
    if (!entries) return undefined;
    const misspelled = new Set<string>();
    for (const [key, value] of entries) {
      if (known.includes(key)) continue;
      const suggestion = closest(key, known);
      if (suggestion !== undefined) misspelled.add(suggestion);
      this.report(value, `unknown key "${key}"${suggestion !== undefined ? ` (did you mean "${suggestion}"?)` : ` (allowed: ${known.join(', ')})`}`);
      entries.delete(key);
    }
    return new Fields(this, at, entries, misspelled);
  }

  /** The items of a list, numbered from `indexOffset`; undefined (no error) when `at` is undefined, since the caller reported absence. */
  items(at: At | undefined, indexOffset = 0): At[] | undefined {
    if (!at) return undefined;
    if (!isSeq(at.node)) return this.report(at, `must be a list, got ${describe(at.node)}`);
    return at.node.items.map((item, index) => this.at(item, `${at.path}[${indexOffset + index}]`, at.line));
  }

  string(at: At | undefined): string | undefined {
    if (!at) return undefined;
    if (isScalar(at.node) && typeof at.node.value === 'string') return at.node.value;
    const quoteHint = isScalar(at.node) && at.node.value !== null ? `; quote it if you mean the text: "${String(at.node.value)}"` : '';
    return this.report(at, `must be a string, got ${describe(at.node)}${quoteHint}`);
  }

  nonEmptyString(at: At | undefined): string | undefined {
    const value = this.string(at);
    if (at && value !== undefined && value.trim() === '') return this.report(at, 'must not be empty');
    return value;
  }

  dnsLabel(at: At | undefined): string | undefined {
    const value = this.string(at);
    if (at && value !== undefined && !DNS_LABEL.test(value)) {
      return this.report(at, `"${value}" is not a DNS label (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)`);
    }
    return value;
  }

  labelKey(at: At): string | undefined {
    const value = this.string(at);
    if (value !== undefined && !isLabelKey(value)) return this.report(at, `"${value}" is not a label key (like version or app.kubernetes.io/version)`);
    return value;
  }

  /** Label values name subsets, which appear in Envoy cluster names: Kubernetes label syntax keeps them safe. */
  labelValue(at: At | undefined): string | undefined {
    const value = this.string(at);
    if (at && value !== undefined && !LABEL_VALUE.test(value)) {
      return this.report(at, `"${value}" is not a label value (letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63 characters)`);
    }
    return value;
  }

  integer(at: At | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (!at) return undefined;
    const value = isScalar(at.node) ? at.node.value : undefined;
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
    if (typeof value !== 'number' || !Number.isInteger(value)) return this.report(at, `must be a whole number ${range}, got ${describe(at.node)}`);
    if (value < min || value > max) return this.report(at, `${value} is out of range: must be ${range}`);
    return value;
  }

  optionalInteger(at: At | undefined, min: number, max?: number): number | undefined {
    return at ? this.integer(at, min, max) : undefined;
  }

  optionalBoolean(at: At | undefined): boolean | undefined {
    if (!at) return undefined;
    if (isScalar(at.node) && typeof at.node.value === 'boolean') return at.node.value;
    return this.report(at, `must be true or false, got ${describe(at.node)}`);
  }

  oneOf<T extends string>(at: At, values: readonly T[]): T | undefined {
    const value = this.string(at);
    if (value === undefined) return undefined;
    if ((values as readonly string[]).includes(value)) return value as T;
    return this.report(at, `"${value}" is not one of ${values.join(', ')}${didYouMean(value, values)}`);
  }

  optionalOneOf<T extends string>(at: At | undefined, values: readonly T[]): T | undefined {
    return at ? this.oneOf(at, values) : undefined;
  }
}

function childPath(parent: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return parent ? `${parent}.${key}` : key;
  return `${parent}[${JSON.stringify(key)}]`;
}

function describe(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const value = node.value;
    if (typeof value === 'string') return `"${value}" (a string)`;
    if (value === null) return 'nothing';
    return `${String(value)} (a ${typeof value})`;
  }
  return 'an unsupported value';
}

/** ` (did you mean "x"?)` when a close candidate exists, else empty. */
function didYouMean(word: string, candidates: readonly string[]): string {
  const suggestion = closest(word, candidates);
  return suggestion !== undefined ? ` (did you mean "${suggestion}"?)` : '';
}

/** The candidate a typo most likely meant: same letters in another case, or a few edits away. */
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const close = Math.max(1, Math.floor(word.length / 3));
  return bestDistance <= close ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
