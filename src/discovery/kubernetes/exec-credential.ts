// Kubeconfig exec credential plugins (client-go's `client.authentication.k8s.io` ExecCredential
// protocol), as the default kubeconfigs of EKS, GKE and AKS use them: run the command with the
// kubeconfig's args and env plus KUBERNETES_EXEC_INFO, read an ExecCredential from its stdout, and use
// its token until `expirationTimestamp` (or until the API server answers 401). The plugin is bounded in
// run time and output size: a hung or runaway plugin fails with a message instead of stalling discovery.
import { spawn } from 'child_process';

export const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'] as const;
export type ExecApiVersion = (typeof EXEC_API_VERSIONS)[number];

export interface ExecLimits {
  /** The plugin is killed (and the attempt fails) after this long. */
  timeoutMs: number;
  /** Most bytes read from its stdout (and, quoted in errors, stderr); more fails the attempt. */
  maxOutputBytes: number;
}

export const DEFAULT_EXEC_LIMITS: ExecLimits = { timeoutMs: 30_000, maxOutputBytes: 64 * 1024 };
/** Stderr quoted in an error message. */
const MAX_STDERR_QUOTE_CHARS = 500;

export interface ExecPluginConfig {
  apiVersion: ExecApiVersion;
  /** Absolute when the kubeconfig gave a path; a bare name is looked up in PATH. */
  command: string;
  args: string[];
  env: Record<string, string>;
  installHint?: string;
  /** The `spec.cluster` of KUBERNETES_EXEC_INFO, when the kubeconfig sets provideClusterInfo. */
  clusterInfo?: Record<string, unknown>;
  /** Quoted in errors: "kubeconfig /etc/east.yaml (user eks)". */
  origin: string;
}

interface CachedToken {
  token: string;
  /** undefined: no expiry given; used until a 401. */
  expiresAtMs?: number;
}

/**
 * One plugin's credential: `token()` runs the plugin when nothing valid is cached (one run at a time,
 * shared by concurrent callers); `rejected(token)` forgets a token the API server answered 401 to.
 */
export class ExecCredentialSource {
  private cached?: CachedToken;
  private running?: Promise<CachedToken>;
  /** Plugin runs since start (for tests and stats). */
  runs = 0;

  constructor(
    readonly config: ExecPluginConfig,
    private readonly limits: ExecLimits = DEFAULT_EXEC_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  async token(): Promise<string> {
    const cached = this.cached;
    if (cached && (cached.expiresAtMs === undefined || this.now() < cached.expiresAtMs)) return cached.token;
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    const fresh = await this.running;
    this.cached = fresh;
    return fresh.token;
  }

  /** The API server refused `token` (401): the next `token()` runs the plugin again, unless it already did. */
  rejected(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async run(): Promise<CachedToken> {
    this.runs++;
    const { stdout, stderr } = await runPlugin(this.config, this.limits);
    return parseExecCredential(stdout, this.config, stderr);
  }
}

/** Distinct plugins kept at most (a kubeconfig edited many times leaves its old plugins behind). */
const MAX_SHARED_PLUGINS = 64;

/**
 * The plugins of one Kubernetes source, shared by every watch that uses the same kubeconfig user: a
 * cluster watched for its Services and for its remote Secrets runs its plugin once and caches one token.
 */
export class ExecPlugins {
  private readonly byConfig = new Map<string, ExecCredentialSource>();

  source(config: ExecPluginConfig, limits: ExecLimits): ExecCredentialSource {
    const key = JSON.stringify([config, limits]);
    let source = this.byConfig.get(key);
    if (!source) {
      source = new ExecCredentialSource(config, limits);
      if (this.byConfig.size >= MAX_SHARED_PLUGINS) this.byConfig.delete(this.byConfig.keys().next().value as string);
      this.byConfig.set(key, source);
    }
    return source;
  }
}

/** The KUBERNETES_EXEC_INFO a plugin receives: never interactive (a control plane has no terminal). */
export function execInfo(config: ExecPluginConfig): string {
  return JSON.stringify({
    apiVersion: config.apiVersion,
    kind: 'ExecCredential',
    spec: { interactive: false, ...(config.clusterInfo ? { cluster: config.clusterInfo } : {}) },
  });
}

function runPlugin(config: ExecPluginConfig, limits: ExecLimits): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const what = `exec credential plugin "${config.command}" of ${config.origin}`;
    // A process group of its own: a script's children (which hold its stdout open) die with it.
    const child = spawn(config.command, config.args, {
      env: { ...process.env, ...config.env, KUBERNETES_EXEC_INFO: execInfo(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let settled = false;
    const settle = (error: Error | undefined, output?: { stdout: string; stderr: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else if (output) resolve(output);
    };
    const killAndFail = (message: string): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      child.stdout.destroy();
      child.stderr.destroy();
      settle(new Error(message));
    };
    const timer = setTimeout(
      () => killAndFail(`${what} did not finish within ${limits.timeoutMs}ms (--kube-exec-timeout-ms); it was killed`),
      limits.timeoutMs,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > limits.maxOutputBytes)
        killAndFail(
          `${what} printed more than ${limits.maxOutputBytes} bytes (--kube-exec-max-output-bytes); it was killed`,
        );
      else stdout.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderrBytes < limits.maxOutputBytes) stderr.push(chunk);
      stderrBytes += chunk.length;
    });
    child.on('error', (error) => {
      const hint = config.installHint ? `; ${config.installHint.trim()}` : '';
      settle(new Error(`${what} could not be started: ${errorText(error)}${hint}`));
    });
    child.on('close', (code, signal) => {
      const stderrText = Buffer.concat(stderr).toString('utf8').trim().slice(0, MAX_STDERR_QUOTE_CHARS);
      if (code !== 0) settle(new Error(`${what} exited with ${code ?? signal}${stderrText ? `: ${stderrText}` : ''}`));
      else settle(undefined, { stdout: Buffer.concat(stdout).toString('utf8'), stderr: stderrText });
    });
  });
}

/** Reads the plugin's ExecCredential; only tokens are supported (client certificates from plugins are refused). */
export function parseExecCredential(stdout: string, config: ExecPluginConfig, stderr: string): CachedToken {
  const what = `exec credential plugin "${config.command}" of ${config.origin}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout) as unknown;
  } catch {
    throw new Error(
      `${what} did not print an ExecCredential (JSON) on stdout${stderr ? `; its stderr: ${stderr}` : ''}`,
    );
  }
  const credential = parsed as {
    apiVersion?: unknown;
    kind?: unknown;
    status?: { token?: unknown; expirationTimestamp?: unknown; clientCertificateData?: unknown };
  };
  if (credential.kind !== 'ExecCredential')
    throw new Error(`${what}: printed kind ${JSON.stringify(credential.kind)}, not ExecCredential`);
  if (credential.apiVersion !== config.apiVersion)
    throw new Error(
      `${what}: printed apiVersion ${JSON.stringify(credential.apiVersion)}; the kubeconfig asked for ${config.apiVersion}`,
    );
  const status = credential.status;
  if (typeof status?.token !== 'string' || status.token === '') {
    const certificate =
      typeof status?.clientCertificateData === 'string'
        ? ' (it gave a client certificate: Spillway takes tokens only from plugins)'
        : '';
    throw new Error(`${what}: the ExecCredential has no status.token${certificate}`);
  }
  if (/[\r\n]/.test(status.token)) throw new Error(`${what}: the token contains a line break`);
  if (status.expirationTimestamp === undefined) return { token: status.token };
  const expiresAtMs =
    typeof status.expirationTimestamp === 'string' ? Date.parse(status.expirationTimestamp) : Number.NaN;
  if (Number.isNaN(expiresAtMs))
    throw new Error(
      `${what}: status.expirationTimestamp ${JSON.stringify(status.expirationTimestamp)} is not an RFC 3339 time`,
    );
  // An already-expired token is still used for the request that asked (client-go does too); the next runs the plugin.
  return { token: status.token, expiresAtMs };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
