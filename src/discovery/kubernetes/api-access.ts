// How to reach and authenticate to one cluster's API server: from a kubeconfig, from explicit
// apiServer/tokenFile/caFile settings, or from inside a Pod. Errors say what to fix, never just "invalid".
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'fs';
import { dirname, isAbsolute, resolve, sep } from 'path';
import { parse as parseYaml } from 'yaml';
import {
  DEFAULT_EXEC_LIMITS,
  EXEC_API_VERSIONS,
  ExecApiVersion,
  ExecCredentialSource,
  ExecLimits,
  ExecPluginConfig,
  ExecPlugins,
} from './exec-credential';
import { JsonObject, JsonReader } from './json-reader';

/**
 * A bearer token: a file is read again at every connection (projected service-account tokens rotate on
 * disk); an exec plugin's token is cached until it expires or is refused.
 */
export type TokenSource =
  { kind: 'inline'; token: string } | { kind: 'file'; path: string } | { kind: 'exec'; plugin: ExecCredentialSource };

/** A kubeconfig larger than this is refused (it is read again whenever it changes). */
export const MAX_KUBECONFIG_BYTES = 1024 * 1024;

export interface AccessOptions {
  /** Bounds on exec credential plugins (kubeconfig files only: Secrets may not run commands). */
  exec?: ExecLimits;
  /** Plugins shared with other watches of the same source (one run, one token per kubeconfig user). */
  plugins?: ExecPlugins;
}

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

export function resolveAccess(settings: AccessSettings, options: AccessOptions = {}): AccessResult {
  try {
    switch (settings.kind) {
      case 'kubeconfig':
        return loadKubeconfig(settings.path, settings.context, options.exec ?? DEFAULT_EXEC_LIMITS, options.plugins);
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
        return parseKubeconfig(settings.text, settings.origin, process.cwd(), undefined, 'refuse-exec');
    }
  } catch (error) {
    return { ok: false, error: errorText(error) };
  }
}

/** Reads the token now (an exec plugin runs when its cached token expired); throws saying what failed. */
export async function readToken(source: TokenSource): Promise<string> {
  if (source.kind === 'inline') return source.token;
  if (source.kind === 'exec') return source.plugin.token();
  try {
    return readFileSync(source.path, 'utf8').trim();
  } catch (error) {
    throw new Error(`cannot read the token file ${source.path}: ${errorText(error)}`);
  }
}

function inClusterAccess(): AccessResult {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port)
    return {
      ok: false,
      error:
        'inCluster: KUBERNETES_SERVICE_HOST/PORT are not set: Spillway is not running in a Pod; give a kubeconfig instead',
    };
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
 * The subset of kubeconfig that a control plane uses: server, CA, token, client certificate, or an exec
 * credential plugin. auth-provider plugins (long deprecated) are refused with a hint.
 */
export function loadKubeconfig(
  path: string,
  contextName?: string,
  execLimits: ExecLimits = DEFAULT_EXEC_LIMITS,
  plugins?: ExecPlugins,
): AccessResult {
  const read = readKubeconfigText(path);
  if (!read.ok) return read;
  return parseKubeconfig(read.text, path, dirname(path), contextName, execLimits, plugins);
}

/** The file's text, refused past MAX_KUBECONFIG_BYTES (a kubeconfig is a few kilobytes). */
export function readKubeconfigText(path: string): { ok: true; text: string } | { ok: false; error: string } {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    // Sized by the file (read again every few seconds), one byte over to notice one that grew past the bound.
    const buffer = Buffer.alloc(Math.min(fstatSync(fd).size, MAX_KUBECONFIG_BYTES) + 1);
    let length = 0;
    for (let read = -1; read !== 0 && length < buffer.length; length += read)
      read = readSync(fd, buffer, length, buffer.length - length, null);
    if (length > MAX_KUBECONFIG_BYTES)
      return {
        ok: false,
        error: `kubeconfig ${path} is larger than ${MAX_KUBECONFIG_BYTES} bytes; is it the right file?`,
      };
    if (length === buffer.length)
      return { ok: false, error: `kubeconfig ${path} grew while it was read; write it by rename` };
    return { ok: true, text: buffer.subarray(0, length).toString('utf8') };
  } catch (error) {
    return { ok: false, error: `cannot read kubeconfig ${path}: ${errorText(error)}` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * `name` (a path, or "Secret ns/name") is quoted in errors; `base` resolves relative file references.
 * `exec`: the limits for an exec plugin, or 'refuse-exec' where whoever wrote the kubeconfig must not run
 * commands in Spillway's process (a remote Secret).
 */
export function parseKubeconfig(
  text: string,
  name: string,
  base: string,
  contextName?: string,
  exec: ExecLimits | 'refuse-exec' = DEFAULT_EXEC_LIMITS,
  plugins?: ExecPlugins,
): AccessResult {
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
  if (!root || !chosen)
    return {
      ok: false,
      error: `kubeconfig ${path}: ${r.errors[0] ?? 'no current-context; set `context:` for this cluster in the clusters file'}`,
    };
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
  if (user['auth-provider'] !== undefined) {
    return {
      ok: false,
      error: `kubeconfig ${path} (user "${userName}"): auth-provider plugins are not supported; use an exec plugin, a service-account token (token or tokenFile) or a client certificate`,
    };
  }
  if (user.exec !== undefined && exec === 'refuse-exec') {
    return {
      ok: false,
      error: `kubeconfig ${path} (user "${userName}"): exec credential plugins are refused here (whoever writes it could run commands in Spillway); use a service-account token or a client certificate, or list the cluster in the clusters file with a kubeconfig file`,
    };
  }
  const server = r.string(cluster.server, `clusters[${clusterName}].cluster.server`);
  const ca =
    data(cluster['certificate-authority-data'], 'certificate-authority-data') ??
    file(cluster['certificate-authority'], 'certificate-authority');
  const tlsServerName = r.optionalString(cluster['tls-server-name'], 'tls-server-name');
  const insecureSkipTlsVerify =
    r.optionalBoolean(cluster['insecure-skip-tls-verify'], 'insecure-skip-tls-verify') ?? false;
  const clientCert =
    data(user['client-certificate-data'], 'client-certificate-data') ??
    file(user['client-certificate'], 'client-certificate');
  const clientKey = data(user['client-key-data'], 'client-key-data') ?? file(user['client-key'], 'client-key');
  const inlineToken = r.optionalString(user.token, 'token');
  const tokenFile = r.optionalString(user.tokenFile, 'tokenFile');
  const origin = `kubeconfig ${path} (context ${chosen})`;
  const plugin =
    user.exec !== undefined && exec !== 'refuse-exec' && server
      ? readExecPlugin(r, user.exec, {
          base,
          origin: `kubeconfig ${path} (user ${userName})`,
          cluster,
          server,
          ca,
          limits: exec,
          plugins,
        })
      : undefined;
  if (!server || r.errors.length > 0) return { ok: false, error: `kubeconfig ${path}: ${r.errors.join('; ')}` };
  const token: TokenSource | undefined = inlineToken
    ? { kind: 'inline', token: inlineToken }
    : tokenFile
      ? { kind: 'file', path: isAbsolute(tokenFile) ? tokenFile : resolve(base, tokenFile) }
      : plugin
        ? { kind: 'exec', plugin }
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
      origin,
    },
  };
}

interface ExecContext {
  base: string;
  origin: string;
  cluster: JsonObject;
  server: string;
  ca: Buffer | undefined;
  limits: ExecLimits;
  plugins: ExecPlugins | undefined;
}

/** `users[].user.exec` as client-go reads it; the plugin never runs interactively (no terminal here). */
function readExecPlugin(r: JsonReader, value: unknown, context: ExecContext): ExecCredentialSource | undefined {
  const exec = r.object(value, 'user.exec');
  if (!exec) return undefined;
  const apiVersion = r.string(exec.apiVersion, 'user.exec.apiVersion');
  const command = r.string(exec.command, 'user.exec.command');
  if (apiVersion !== undefined && !(EXEC_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    r.fail('user.exec.apiVersion', `"${apiVersion}" is not supported; use ${EXEC_API_VERSIONS.join(' or ')}`);
  }
  const args = r.list(exec.args, 'user.exec.args').map((arg, index) => r.string(arg, `user.exec.args[${index}]`) ?? '');
  const env: Record<string, string> = {};
  r.list(exec.env, 'user.exec.env').forEach((entry, index) => {
    const item = r.object(entry, `user.exec.env[${index}]`);
    const name = item ? r.string(item.name, `user.exec.env[${index}].name`) : undefined;
    if (item && name) env[name] = r.optionalString(item.value, `user.exec.env[${index}].value`) ?? '';
  });
  const mode = r.optionalString(exec.interactiveMode, 'user.exec.interactiveMode');
  if (mode === 'Always')
    r.fail(
      'user.exec.interactiveMode',
      'Always needs a terminal, which a control plane has not; use a plugin that runs with Never or IfAvailable',
    );
  else if (mode !== undefined && mode !== 'Never' && mode !== 'IfAvailable')
    r.fail('user.exec.interactiveMode', `"${mode}" is not Never, IfAvailable or Always`);
  const installHint = r.optionalString(exec.installHint, 'user.exec.installHint');
  const provideClusterInfo = r.optionalBoolean(exec.provideClusterInfo, 'user.exec.provideClusterInfo') ?? false;
  if (!command || !apiVersion || r.errors.length > 0) return undefined;
  // client-go resolves a command with a path separator against the kubeconfig's folder; a bare name uses PATH.
  const resolved = command.includes(sep) && !isAbsolute(command) ? resolve(context.base, command) : command;
  const config: ExecPluginConfig = {
    apiVersion: apiVersion as ExecApiVersion,
    command: resolved,
    args,
    env,
    ...(installHint ? { installHint } : {}),
    ...(provideClusterInfo ? { clusterInfo: execClusterInfo(context) } : {}),
    origin: context.origin,
  };
  return context.plugins
    ? context.plugins.source(config, context.limits)
    : new ExecCredentialSource(config, context.limits);
}

/** `spec.cluster` of KUBERNETES_EXEC_INFO (client-go's field names), with the exec extension as `config`. */
function execClusterInfo(context: ExecContext): Record<string, unknown> {
  const { cluster } = context;
  const extensions = Array.isArray(cluster.extensions) ? (cluster.extensions as unknown[]) : [];
  const execExtension = extensions.find(
    (entry) => (entry as { name?: unknown } | null)?.name === 'client.authentication.k8s.io/exec',
  ) as { extension?: unknown } | undefined;
  return {
    server: context.server,
    ...(typeof cluster['tls-server-name'] === 'string' ? { 'tls-server-name': cluster['tls-server-name'] } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { 'insecure-skip-tls-verify': true } : {}),
    ...(context.ca ? { 'certificate-authority-data': context.ca.toString('base64') } : {}),
    ...(typeof cluster['proxy-url'] === 'string' ? { 'proxy-url': cluster['proxy-url'] } : {}),
    ...(execExtension?.extension !== undefined ? { config: execExtension.extension } : {}),
  };
}

/** kubeconfig lists are `[{name, <field>: {...}}]`; returns the `<field>` object of the named entry. */
function namedEntry(
  r: JsonReader,
  root: JsonObject,
  list: string,
  field: string,
  name: string,
): JsonObject | undefined {
  for (const item of r.list(root[list], list)) {
    if (r.isObject(item) && item.name === name) return r.object(item[field], `${list}[${name}].${field}`);
  }
  return r.fail(list, `has no entry named "${name}"`);
}

/** What a client is built from: equal fingerprints need no new connection (an exec plugin by its settings). */
export function accessFingerprint(access: ApiServerAccess): string {
  const token = access.token;
  const tokenPart = token === undefined ? null : token.kind === 'exec' ? { exec: token.plugin.config } : token;
  return JSON.stringify([
    access.server,
    access.ca?.toString('base64'),
    access.insecureSkipTlsVerify,
    access.tlsServerName,
    access.clientCert?.toString('base64'),
    access.clientKey?.toString('base64'),
    tokenPart,
  ]);
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export function errorText(error: unknown): string {
  return typeof (error as { message?: unknown } | null)?.message === 'string'
    ? (error as { message: string }).message
    : String(error);
}
