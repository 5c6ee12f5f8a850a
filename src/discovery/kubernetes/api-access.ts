// How to reach and authenticate to one cluster's API server: from a kubeconfig, from explicit
// apiServer/tokenFile/caFile settings, or from inside a Pod. Errors say what to fix, never just "invalid".
import { readFileSync } from 'fs';
import { dirname, isAbsolute, resolve } from 'path';
import { parse as parseYaml } from 'yaml';
import { JsonObject, JsonReader } from './json-reader';

/** A bearer token, read again at every connection: projected service-account tokens rotate on disk. */
export type TokenSource = { kind: 'inline'; token: string } | { kind: 'file'; path: string };

export interface ApiServerAccess {
  /** Base URL, e.g. https://127.0.0.1:6443 (no trailing slash). */
  server: string;
  ca?: Buffer;
  insecureSkipTlsVerify: boolean;
  /** Name to check the serving certificate against when it differs from the URL's host. */
  tlsServerName?: string;
  clientCert?: Buffer;
  clientKey?: Buffer;
  token?: TokenSource;
  /** Where these settings came from, quoted in hints: "kubeconfig /etc/east.yaml (context east)". */
  origin: string;
}

/** Explicit settings of a cluster (clusters file); paths are already absolute. */
export type AccessSettings =
  | { kind: 'kubeconfig'; path: string; context?: string }
  | { kind: 'direct'; apiServer: string; tokenFile?: string; caFile?: string; insecureSkipTlsVerify: boolean }
  | { kind: 'in-cluster' }
  /** A kubeconfig held in memory (a remote-cluster Secret); `origin` names where it came from. */
  | { kind: 'kubeconfig-text'; text: string; origin: string };

export type AccessResult = { ok: true; access: ApiServerAccess } | { ok: false; error: string };

/** Where a Pod finds its service account (the same paths client-go's in-cluster config reads). */
export const IN_CLUSTER_TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token';
export const IN_CLUSTER_CA_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';

export function resolveAccess(settings: AccessSettings): AccessResult {
  try {
    switch (settings.kind) {
      case 'kubeconfig':
        return loadKubeconfig(settings.path, settings.context);
      case 'direct':
        return {
          ok: true,
          access: {
            server: trimSlash(settings.apiServer),
            insecureSkipTlsVerify: settings.insecureSkipTlsVerify,
            ...(settings.caFile ? { ca: readFileSync(settings.caFile) } : {}),
            ...(settings.tokenFile ? { token: { kind: 'file', path: settings.tokenFile } } : {}),
            origin: `apiServer ${settings.apiServer}`,
          },
        };
      case 'in-cluster':
        return inClusterAccess();
      case 'kubeconfig-text':
        return parseKubeconfig(settings.text, settings.origin, process.cwd());
    }
  } catch (error) {
    return { ok: false, error: errorText(error) };
  }
}

/** Reads the token now; throws with the file named when it cannot. */
export function readToken(source: TokenSource): string {
  if (source.kind === 'inline') return source.token;
  try {
    return readFileSync(source.path, 'utf8').trim();
  } catch (error) {
    throw new Error(`cannot read the token file ${source.path}: ${errorText(error)}`);
  }
}

function inClusterAccess(): AccessResult {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return { ok: false, error: 'inCluster: KUBERNETES_SERVICE_HOST/PORT are not set: Spillway is not running in a Pod; give a kubeconfig instead' };
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    ok: true,
    access: {
      server: `https://${hostPart}:${port}`,
      ca: readFileSync(IN_CLUSTER_CA_FILE),
      insecureSkipTlsVerify: false,
      token: { kind: 'file', path: IN_CLUSTER_TOKEN_FILE },
      origin: 'the Pod service account (inCluster)',
    },
  };
}

/**
 * The subset of kubeconfig that a control plane uses: server, CA, token or client certificate.
 * exec and auth-provider plugins are refused with a hint instead of failing later with a 401.
 */
export function loadKubeconfig(path: string, contextName?: string): AccessResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { ok: false, error: `cannot read kubeconfig ${path}: ${errorText(error)}` };
  }
  return parseKubeconfig(text, path, dirname(path), contextName);
}

/** `name` (a path, or "Secret ns/name") is quoted in errors; `base` resolves relative file references. */
export function parseKubeconfig(text: string, name: string, base: string, contextName?: string): AccessResult {
  const path = name;
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    return { ok: false, error: `cannot read kubeconfig ${path}: ${errorText(error)}` };
  }
  const r = new JsonReader();
  const root = r.object(document, 'kubeconfig');
  const chosen = contextName ?? r.optionalString(root?.['current-context'], 'current-context');
  if (!root || !chosen) return { ok: false, error: `kubeconfig ${path}: ${r.errors[0] ?? 'no current-context; set `context:` for this cluster in the clusters file'}` };
  const context = namedEntry(r, root, 'contexts', 'context', chosen);
  if (!context) return { ok: false, error: `kubeconfig ${path}: ${r.errors[0] ?? `no context named "${chosen}"`}` };
  const clusterName = r.string(context.cluster, `contexts[${chosen}].context.cluster`);
  const userName = r.optionalString(context.user, `contexts[${chosen}].context.user`);
  const cluster = clusterName ? namedEntry(r, root, 'clusters', 'cluster', clusterName) : undefined;
  const user = userName ? namedEntry(r, root, 'users', 'user', userName) : {};
  if (!cluster || !user) return { ok: false, error: `kubeconfig ${path}: ${r.errors.join('; ')}` };

  const file = (value: unknown, field: string): Buffer | undefined => {
    const name = r.optionalString(value, field);
    return name ? readFileSync(isAbsolute(name) ? name : resolve(base, name)) : undefined;
  };
  const data = (value: unknown, field: string): Buffer | undefined => {
    const text = r.optionalString(value, field);
    return text ? Buffer.from(text, 'base64') : undefined;
  };
  if (user.exec !== undefined || user['auth-provider'] !== undefined) {
    return { ok: false, error: `kubeconfig ${path} (user "${userName}"): exec and auth-provider credential plugins are not supported; use a service-account token (token or tokenFile) or a client certificate` };
  }
  const server = r.string(cluster.server, `clusters[${clusterName}].cluster.server`);
  const ca = data(cluster['certificate-authority-data'], 'certificate-authority-data') ?? file(cluster['certificate-authority'], 'certificate-authority');
  const tlsServerName = r.optionalString(cluster['tls-server-name'], 'tls-server-name');
  const insecureSkipTlsVerify = r.optionalBoolean(cluster['insecure-skip-tls-verify'], 'insecure-skip-tls-verify') ?? false;
  const clientCert = data(user['client-certificate-data'], 'client-certificate-data') ?? file(user['client-certificate'], 'client-certificate');
  const clientKey = data(user['client-key-data'], 'client-key-data') ?? file(user['client-key'], 'client-key');
  const inlineToken = r.optionalString(user.token, 'token');
  const tokenFile = r.optionalString(user.tokenFile, 'tokenFile');
  if (!server || r.errors.length > 0) return { ok: false, error: `kubeconfig ${path}: ${r.errors.join('; ')}` };
  const token: TokenSource | undefined = inlineToken
    ? { kind: 'inline', token: inlineToken }
    : tokenFile
      ? { kind: 'file', path: isAbsolute(tokenFile) ? tokenFile : resolve(base, tokenFile) }
      : undefined;
  return {
    ok: true,
    access: {
      server: trimSlash(server),
      insecureSkipTlsVerify,
      ...(ca ? { ca } : {}),
      ...(tlsServerName ? { tlsServerName } : {}),
      ...(clientCert ? { clientCert } : {}),
      ...(clientKey ? { clientKey } : {}),
      ...(token ? { token } : {}),
      origin: `kubeconfig ${path} (context ${chosen})`,
    },
  };
}

/** kubeconfig lists are `[{name, <field>: {...}}]`; returns the `<field>` object of the named entry. */
function namedEntry(r: JsonReader, root: JsonObject, list: string, field: string, name: string): JsonObject | undefined {
  for (const item of r.list(root[list], list)) {
    if (r.isObject(item) && item.name === name) return r.object(item[field], `${list}[${name}].${field}`);
  }
  return r.fail(list, `has no entry named "${name}"`);
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export function errorText(error: unknown): string {
  return typeof (error as { message?: unknown } | null)?.message === 'string' ? (error as { message: string }).message : String(error);
}
