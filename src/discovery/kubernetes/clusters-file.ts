// The clusters file: which Kubernetes clusters to watch, where they sit (region, zone), their east-west
// gateway, and how to reach each API server. Read like the mesh file (src/config-validation/): every error
// with its path and line, all of them at once:
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
import { GatewayAddress, MeshCluster } from '../../mesh/model';
import { readClusterGateway } from '../cluster-gateway';
import { splitHostPort } from '../../net/host-port';
import { ConfigError } from '../../config-validation/config-error';
import { At, Fields, Wording, YamlChecker, openYaml } from '../../config-validation/yaml-checker';
import { MAX_PORT, MIN_PORT } from '../../config-validation/value-rules';
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

export type ClustersParseResult =
  | { ok: true; clusters: KubeClusterConfig[]; remoteSecrets?: RemoteSecretsConfig }
  | { ok: false; errors: ConfigError[] };

const TOP_KEYS = ['clusters', 'namespaces', 'remoteSecrets'];
const REMOTE_SECRETS_KEYS = ['cluster', 'namespace'];
const CLUSTER_KEYS = [
  'name',
  'region',
  'zone',
  'gateway',
  'gatewayKind',
  'kubeconfig',
  'context',
  'apiServer',
  'tokenFile',
  'caFile',
  'insecureSkipTlsVerify',
  'inCluster',
  'namespaces',
];
const ACCESS_KEYS = ['kubeconfig', 'apiServer', 'inCluster'];

/** The clusters file's own wording of these two errors, as its users know it. */
const CLUSTERS_FILE_WORDING: Wording = {
  missingKey: () => 'is required',
  dnsLabelRule: "lowercase letters, digits and '-'",
};

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
  try {
    return readClusters(text, baseDir);
  } catch (error) {
    // The parser and the walks recurse once per nesting level: a hostile file can exhaust the stack.
    if (error instanceof RangeError)
      return {
        ok: false,
        errors: [
          {
            path: '',
            line: 1,
            message: `the file is nested too deeply to read (${error.message}); a clusters file needs about 4 levels`,
          },
        ],
      };
    throw error;
  }
}

function readClusters(text: string, baseDir: string): ClustersParseResult {
  const opened = openYaml(text, CLUSTERS_FILE_WORDING);
  if (!opened.ok) return { ok: false, errors: opened.errors };
  const { checker: c, root } = opened;
  if (root.node === null)
    return { ok: false, errors: [{ path: '', line: 1, message: 'the clusters file is empty; it needs `clusters:`' }] };
  const top = c.fields(root, TOP_KEYS);
  if (!top) return { ok: false, errors: c.found.finished() };
  const namespacesAt = top.optional('namespaces');
  const defaultNamespaces = namespacesAt ? readNamespaces(c, namespacesAt) : undefined;
  const listAt = top.required('clusters');
  const items = c.items(listAt);
  if (listAt && items?.length === 0) c.report(listAt, 'needs at least one cluster');
  const clusters: KubeClusterConfig[] = [];
  const seen = new Map<string, string>();
  for (const item of items ?? []) {
    const config = readCluster(c, item, { baseDir, defaultNamespaces, seen });
    if (config) clusters.push(config);
  }
  const remoteAt = top.optional('remoteSecrets');
  const remoteSecrets = remoteAt ? readRemoteSecrets(c, remoteAt, [...seen.keys()]) : undefined;
  if (c.found.reported > 0) return { ok: false, errors: c.found.finished() };
  return { ok: true, clusters, ...(remoteSecrets ? { remoteSecrets } : {}) };
}

function readRemoteSecrets(c: YamlChecker, at: At, clusterNames: string[]): RemoteSecretsConfig | undefined {
  const f = c.fields(at, REMOTE_SECRETS_KEYS);
  if (!f) return undefined;
  const clusterAt = f.required('cluster');
  const cluster = c.dnsLabel(clusterAt);
  const namespace = c.dnsLabel(f.required('namespace'));
  if (clusterAt && cluster !== undefined && !clusterNames.includes(cluster)) {
    return c.report(
      clusterAt,
      `"${cluster}" is not a cluster of this file (${clusterNames.join(', ') || 'none'}); name the cluster whose API server holds the Secrets`,
    );
  }
  return cluster !== undefined && namespace !== undefined ? { cluster, namespace } : undefined;
}

interface ClusterContext {
  baseDir: string;
  defaultNamespaces: string[] | undefined;
  /** Cluster name -> path of the item that first used it. */
  seen: Map<string, string>;
}

function readCluster(c: YamlChecker, at: At, context: ClusterContext): KubeClusterConfig | undefined {
  const f = c.fields(at, CLUSTER_KEYS);
  if (!f) return undefined;
  const nameAt = f.required('name');
  // Duplicates are checked on the raw name, so a cluster with other errors still claims its name.
  const rawName = c.scalar(nameAt);
  if (nameAt && typeof rawName === 'string') {
    const first = context.seen.get(rawName);
    if (first !== undefined) c.report(nameAt, `duplicate cluster name "${rawName}" (first at ${first})`);
    else context.seen.set(rawName, at.path);
  }
  const name = c.dnsLabel(nameAt);
  const region = c.nonEmptyString(f.required('region'));
  const zone = c.nonEmptyString(f.required('zone'));
  const gateway = readClusterGateway(c, f, (gatewayAt) => readGateway(c, gatewayAt), 'IP:PORT');
  const namespacesAt = f.optional('namespaces');
  const namespaces = namespacesAt ? readNamespaces(c, namespacesAt) : context.defaultNamespaces;
  const access = readAccess(c, at, f, context.baseDir);
  if (name === undefined || region === undefined || zone === undefined || access === undefined) return undefined;
  if (!gateway.ok || (namespacesAt && !namespaces)) return undefined;
  return {
    cluster: { name, region, zone, ...(gateway.gateway ? { gateway: gateway.gateway } : {}) },
    access,
    ...(namespaces ? { namespaces } : {}),
  };
}

/** Exactly one way to reach the API server; options that belong to another way are errors, not ignored. */
function readAccess(c: YamlChecker, at: At, f: Fields, baseDir: string): AccessSettings | undefined {
  const given = ACCESS_KEYS.filter((key) => {
    const field = f.optional(key);
    return field !== undefined && c.scalar(field) !== false;
  });
  if (given.length !== 1) {
    return c.report(
      at,
      given.length === 0
        ? 'needs one of kubeconfig, apiServer or inCluster: true'
        : `give only one of ${given.join(', ')}`,
    );
  }
  const absolute = (value: string) => (isAbsolute(value) ? value : resolve(baseDir, value));
  const misplaced = (keys: string[], owner: string) => {
    for (const key of keys) {
      const field = f.optional(key);
      if (field) c.report(field, `only applies with ${owner}`);
    }
  };
  if (given[0] === 'kubeconfig') {
    misplaced(['tokenFile', 'caFile', 'insecureSkipTlsVerify'], 'apiServer (a kubeconfig carries its own)');
    const path = c.nonEmptyString(f.optional('kubeconfig'));
    const contextAt = f.optional('context');
    const context = contextAt ? c.nonEmptyString(contextAt) : undefined;
    if (path === undefined || (contextAt && context === undefined)) return undefined;
    return { kind: 'kubeconfig', path: absolute(path), ...(context ? { context } : {}) };
  }
  misplaced(['context'], 'kubeconfig');
  if (given[0] === 'inCluster') {
    misplaced(['tokenFile', 'caFile', 'insecureSkipTlsVerify'], 'apiServer');
    return c.optionalBoolean(f.optional('inCluster')) ? { kind: 'in-cluster' } : undefined;
  }
  const apiServer = readUrl(c, f.optional('apiServer'));
  const tokenFileAt = f.optional('tokenFile');
  const tokenFile = tokenFileAt ? c.nonEmptyString(tokenFileAt) : undefined;
  const caFileAt = f.optional('caFile');
  const caFile = caFileAt ? c.nonEmptyString(caFileAt) : undefined;
  const insecure = c.optionalBoolean(f.optional('insecureSkipTlsVerify'));
  if (apiServer === undefined || (f.optional('insecureSkipTlsVerify') && insecure === undefined)) return undefined;
  if ((tokenFileAt && tokenFile === undefined) || (caFileAt && caFile === undefined)) return undefined;
  return {
    kind: 'direct',
    apiServer,
    insecureSkipTlsVerify: insecure ?? false,
    ...(tokenFile ? { tokenFile: absolute(tokenFile) } : {}),
    ...(caFile ? { caFile: absolute(caFile) } : {}),
  };
}

function readNamespaces(c: YamlChecker, at: At): string[] | undefined {
  const items = c.items(at);
  if (!items) return undefined;
  if (items.length === 0) return c.report(at, 'must name at least one namespace (leave it out to watch all)');
  const names = items.map((item) => c.dnsLabel(item));
  return names.every((name): name is string => name !== undefined) ? [...new Set(names)] : undefined;
}

function readUrl(c: YamlChecker, at: At | undefined): string | undefined {
  const text = c.nonEmptyString(at);
  if (!at || text === undefined) return undefined;
  try {
    const url = new URL(text);
    if (url.protocol === 'https:' || url.protocol === 'http:') return text;
  } catch {
    // reported below
  }
  return c.report(at, `"${text}" is not an http(s) URL like https://10.0.0.1:6443`);
}

/** The gateway is reached by IP: `10.0.0.2:15443`, `[fd00::2]:15443`. */
function readGateway(c: YamlChecker, at: At): GatewayAddress | undefined {
  const text = c.nonEmptyString(at);
  if (text === undefined) return undefined;
  const parts = splitHostPort(text);
  if (!parts || !isIP(parts.host) || !/^\d+$/.test(parts.port))
    return c.report(at, `"${text}" is not IP:PORT (the gateway is reached by IP; IPv6 in brackets: [::1]:15443)`);
  const port = Number(parts.port);
  if (port < MIN_PORT || port > MAX_PORT) return c.report(at, `port must be in ${MIN_PORT}..${MAX_PORT}`);
  return { address: parts.host, port };
}
