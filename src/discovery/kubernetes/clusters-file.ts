// The clusters file: which Kubernetes clusters to watch, where they sit (region, zone), their east-west
// gateway, and how to reach each API server. Errors carry the path and line, like the mesh file's:
//
//   namespaces: [shop]                    # optional: watch only these (default: all namespaces)
//   clusters:
//     - name: east                        # the mesh cluster name (CLUSTER_ID of its proxies)
//       region: europe-west1
//       zone: europe-west1-b
//       gateway: 10.0.0.2:15443           # optional: how other clusters reach this one
//       kubeconfig: east.kubeconfig       # relative to this file; `context:` picks a context
//     - name: west
//       region: europe-west1
//       zone: europe-west1-c
//       apiServer: https://10.1.0.1:6443  # or explicit settings
//       tokenFile: /var/run/secrets/west/token
//       caFile: /var/run/secrets/west/ca.crt
//     - name: local
//       region: us-east1
//       zone: us-east1-a
//       inCluster: true                   # the cluster Spillway runs in (its service account)
//   remoteSecrets:                        # optional: more clusters from Secrets (see remote-secrets.ts)
//     cluster: local                      # the listed cluster whose API holds the Secrets
//     namespace: spillway-system
import { readFileSync } from 'fs';
import { isIP } from 'net';
import { dirname, isAbsolute, resolve } from 'path';
import { LineCounter, parseDocument } from 'yaml';
import { GatewayAddress, MeshCluster } from '../../mesh/model';
import { MeshFileError } from '../file/mesh-file';
import { AccessSettings } from './api-access';

export interface KubeClusterConfig {
  cluster: MeshCluster;
  access: AccessSettings;
  /** Namespaces to watch; undefined: all. */
  namespaces?: string[];
}

/** Where remote-cluster Secrets live: a namespace in the API server of one listed cluster. */
export interface RemoteSecretsConfig {
  /** Name of a cluster of the clusters file (usually the one Spillway runs in). */
  cluster: string;
  namespace: string;
}

export type ClustersParseResult = { ok: true; clusters: KubeClusterConfig[]; remoteSecrets?: RemoteSecretsConfig } | { ok: false; errors: MeshFileError[] };

const TOP_KEYS = ['clusters', 'namespaces', 'remoteSecrets'];
const REMOTE_SECRETS_KEYS = ['cluster', 'namespace'];
const CLUSTER_KEYS = ['name', 'region', 'zone', 'gateway', 'kubeconfig', 'context', 'apiServer', 'tokenFile', 'caFile', 'insecureSkipTlsVerify', 'inCluster', 'namespaces'];
const ACCESS_KEYS = ['kubeconfig', 'apiServer', 'inCluster'];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const MIN_PORT = 1;
const MAX_PORT = 65_535;

type Segment = string | number;

export function loadClustersFile(path: string): ClustersParseResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, errors: [{ path: '', message: `cannot read the clusters file: ${(error as Error).message}` }] };
  }
  return parseClustersText(text, dirname(resolve(path)));
}

/** `baseDir` resolves relative kubeconfig, tokenFile and caFile paths (the clusters file's folder). */
export function parseClustersText(text: string, baseDir: string): ClustersParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return { ok: false, errors: doc.errors.map((error) => ({ path: '', line: lineCounter.linePos(error.pos[0]).line, message: error.message })) };
  }
  const errors: MeshFileError[] = [];
  /** The line of the deepest node of `segments` that exists (a missing key points at its parent). */
  const lineOf = (segments: Segment[]): number => {
    for (let depth = segments.length; depth >= 0; depth--) {
      const node = depth === 0 ? doc.contents : doc.getIn(segments.slice(0, depth), true);
      const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
      if (range) return lineCounter.linePos(range[0]).line;
    }
    return 1;
  };
  const report = (segments: Segment[], message: string): undefined => {
    errors.push({ path: formatPath(segments), line: lineOf(segments), message });
    return undefined;
  };
  const check = new Checks(report);

  const root: unknown = doc.toJS();
  if (root === null || root === undefined) return { ok: false, errors: [{ path: '', line: 1, message: 'the clusters file is empty; it needs `clusters:`' }] };
  const top = check.mapping(root, [], TOP_KEYS);
  if (!top) return { ok: false, errors };
  const defaultNamespaces = top.namespaces === undefined ? undefined : check.namespaces(top.namespaces, ['namespaces']);
  const list = check.list(top.clusters, ['clusters']);
  if (list && list.length === 0) report(['clusters'], 'needs at least one cluster');
  const clusters: KubeClusterConfig[] = [];
  const seen = new Map<string, string>();
  (list ?? []).forEach((item, index) => {
    // Duplicates are checked on the raw name, so a cluster with other errors still claims its name.
    const name = (item as { name?: unknown } | null)?.name;
    if (typeof name === 'string') {
      const first = seen.get(name);
      if (first !== undefined) report(['clusters', index, 'name'], `duplicate cluster name "${name}" (first at ${first})`);
      else seen.set(name, formatPath(['clusters', index]));
    }
    const config = readCluster(check, item, ['clusters', index], baseDir, defaultNamespaces);
    if (config) clusters.push(config);
  });
  const remoteSecrets = top.remoteSecrets === undefined ? undefined : readRemoteSecrets(check, top.remoteSecrets, [...seen.keys()]);
  if (errors.length > 0) return { ok: false, errors: errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)) };
  return { ok: true, clusters, ...(remoteSecrets ? { remoteSecrets } : {}) };
}

function readRemoteSecrets(check: Checks, value: unknown, clusterNames: string[]): RemoteSecretsConfig | undefined {
  const at = ['remoteSecrets'];
  const fields = check.mapping(value, at, REMOTE_SECRETS_KEYS);
  if (!fields) return undefined;
  const cluster = check.dnsLabel(fields.cluster, [...at, 'cluster']);
  const namespace = check.dnsLabel(fields.namespace, [...at, 'namespace']);
  if (cluster !== undefined && !clusterNames.includes(cluster)) {
    return check.report([...at, 'cluster'], `"${cluster}" is not a cluster of this file (${clusterNames.join(', ') || 'none'}); name the cluster whose API server holds the Secrets`);
  }
  return cluster !== undefined && namespace !== undefined ? { cluster, namespace } : undefined;
}

function readCluster(check: Checks, item: unknown, at: Segment[], baseDir: string, defaultNamespaces: string[] | undefined): KubeClusterConfig | undefined {
  const fields = check.mapping(item, at, CLUSTER_KEYS);
  if (!fields) return undefined;
  const name = check.dnsLabel(fields.name, [...at, 'name']);
  const region = check.string(fields.region, [...at, 'region']);
  const zone = check.string(fields.zone, [...at, 'zone']);
  const gateway = fields.gateway === undefined ? undefined : check.gateway(fields.gateway, [...at, 'gateway']);
  const namespaces = fields.namespaces === undefined ? defaultNamespaces : check.namespaces(fields.namespaces, [...at, 'namespaces']);
  const access = readAccess(check, fields, at, baseDir);
  if (name === undefined || region === undefined || zone === undefined || access === undefined) return undefined;
  if ((fields.gateway !== undefined && !gateway) || (fields.namespaces !== undefined && !namespaces)) return undefined;
  return { cluster: { name, region, zone, ...(gateway ? { gateway } : {}) }, access, ...(namespaces ? { namespaces } : {}) };
}

/** Exactly one way to reach the API server; options that belong to another way are errors, not ignored. */
function readAccess(check: Checks, fields: Record<string, unknown>, at: Segment[], baseDir: string): AccessSettings | undefined {
  const given = ACCESS_KEYS.filter((key) => fields[key] !== undefined && fields[key] !== false);
  if (given.length !== 1) {
    return check.report(at, given.length === 0 ? 'needs one of kubeconfig, apiServer or inCluster: true' : `give only one of ${given.join(', ')}`);
  }
  const absolute = (value: string) => (isAbsolute(value) ? value : resolve(baseDir, value));
  const misplaced = (keys: string[], owner: string) => {
    for (const key of keys) if (fields[key] !== undefined) check.report([...at, key], `only applies with ${owner}`);
  };
  if (given[0] === 'kubeconfig') {
    misplaced(['tokenFile', 'caFile', 'insecureSkipTlsVerify'], 'apiServer (a kubeconfig carries its own)');
    const path = check.string(fields.kubeconfig, [...at, 'kubeconfig']);
    const context = fields.context === undefined ? undefined : check.string(fields.context, [...at, 'context']);
    if (path === undefined || (fields.context !== undefined && context === undefined)) return undefined;
    return { kind: 'kubeconfig', path: absolute(path), ...(context ? { context } : {}) };
  }
  misplaced(['context'], 'kubeconfig');
  if (given[0] === 'inCluster') {
    misplaced(['tokenFile', 'caFile', 'insecureSkipTlsVerify'], 'apiServer');
    return fields.inCluster === true ? { kind: 'in-cluster' } : check.report([...at, 'inCluster'], 'must be true or false');
  }
  const apiServer = check.url(fields.apiServer, [...at, 'apiServer']);
  const tokenFile = fields.tokenFile === undefined ? undefined : check.string(fields.tokenFile, [...at, 'tokenFile']);
  const caFile = fields.caFile === undefined ? undefined : check.string(fields.caFile, [...at, 'caFile']);
  const insecure = fields.insecureSkipTlsVerify === undefined ? false : check.boolean(fields.insecureSkipTlsVerify, [...at, 'insecureSkipTlsVerify']);
  if (apiServer === undefined || insecure === undefined) return undefined;
  if ((fields.tokenFile !== undefined && tokenFile === undefined) || (fields.caFile !== undefined && caFile === undefined)) return undefined;
  return {
    kind: 'direct',
    apiServer,
    insecureSkipTlsVerify: insecure,
    ...(tokenFile ? { tokenFile: absolute(tokenFile) } : {}),
    ...(caFile ? { caFile: absolute(caFile) } : {}),
  };
}

/** Checks on plain values; each reports at its own path and returns undefined when wrong. */
class Checks {
  constructor(readonly report: (at: Segment[], message: string) => undefined) {}

  mapping(value: unknown, at: Segment[], known: string[]): Record<string, unknown> | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return this.report(at, `must be a mapping with keys ${known.join(', ')}; got ${describe(value)}`);
    const fields = value as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      if (!known.includes(key)) this.report([...at, key], `unknown key "${key}" (allowed: ${known.join(', ')})`);
    }
    return fields;
  }

  list(value: unknown, at: Segment[]): unknown[] | undefined {
    if (value === undefined || value === null) return this.report(at, 'is required');
    return Array.isArray(value) ? value : this.report(at, `must be a list, got ${describe(value)}`);
  }

  string(value: unknown, at: Segment[]): string | undefined {
    if (value === undefined || value === null) return this.report(at, 'is required');
    if (typeof value !== 'string' || value.trim() === '') return this.report(at, `must be a non-empty string, got ${describe(value)}`);
    return value;
  }

  boolean(value: unknown, at: Segment[]): boolean | undefined {
    return typeof value === 'boolean' ? value : this.report(at, `must be true or false, got ${describe(value)}`);
  }

  dnsLabel(value: unknown, at: Segment[]): string | undefined {
    const text = this.string(value, at);
    if (text !== undefined && !DNS_LABEL.test(text)) return this.report(at, `"${text}" is not a DNS label (lowercase letters, digits and '-')`);
    return text;
  }

  namespaces(value: unknown, at: Segment[]): string[] | undefined {
    const list = this.list(value, at);
    if (!list) return undefined;
    if (list.length === 0) return this.report(at, 'must name at least one namespace (leave it out to watch all)');
    const names = list.map((item, index) => this.dnsLabel(item, [...at, index]));
    return names.every((name): name is string => name !== undefined) ? [...new Set(names)] : undefined;
  }

  url(value: unknown, at: Segment[]): string | undefined {
    const text = this.string(value, at);
    if (text === undefined) return undefined;
    try {
      const url = new URL(text);
      if (url.protocol === 'https:' || url.protocol === 'http:') return text;
    } catch {
      // reported below
    }
    return this.report(at, `"${text}" is not an http(s) URL like https://10.0.0.1:6443`);
  }

  gateway(value: unknown, at: Segment[]): GatewayAddress | undefined {
    const text = this.string(value, at);
    if (text === undefined) return undefined;
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
    const host = match?.[1] ?? match?.[2];
    const port = Number(match?.[3]);
    if (!host || !isIP(host)) return this.report(at, `"${text}" is not IP:PORT (the gateway is reached by IP; IPv6 in brackets: [::1]:15443)`);
    if (!Number.isInteger(port) || port < MIN_PORT || port > MAX_PORT) return this.report(at, `port must be in ${MIN_PORT}..${MAX_PORT}`);
    return { address: host, port };
  }
}

function formatPath(segments: Segment[]): string {
  return segments.reduce<string>((path, segment) => (typeof segment === 'number' ? `${path}[${segment}]` : path ? `${path}.${segment}` : segment), '');
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `"${value}" (a string)`;
  return `${String(value)} (a ${typeof value})`;
}
