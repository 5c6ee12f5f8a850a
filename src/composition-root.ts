// The composition root: builds every part of a running Spillway server and wires them, in one call. Mesh
// sources (the mesh file, or the embedded example, plus any others such as Kubernetes discovery) -> store
// -> control plane (xDS + LRS) -> metrics, drills -> admin server, whose routes get only the narrow
// sources they read. `spillway serve` and `spillway demo` both start it, so the demo runs exactly what
// production runs. Signals and process exit stay with the caller.
import type { Logger } from 'pino';
import { AdminServer } from './admin/admin-server';
import { debugRoutes } from './admin/debug-routes';
import { EMBEDDED_MESH_YAML } from './discovery/embedded-mesh';
import { MeshFileSource, MeshFileSourceOptions } from './discovery/file/file-source';
import { formatMeshErrors, parseMeshText } from './discovery/file/mesh-file';
import { SourceIssue } from './discovery/source-issue';
import { DebounceOptions, DEFAULT_DEBOUNCE } from './mesh/debounce';
import { MeshStore } from './mesh/store';
import { ControlPlane, ControlPlaneOptions } from './control-plane/control-plane';
import { SourceStatus, SpillwayMetrics } from './visibility/metrics';
import { DEFAULT_DRILL_MAX_DURATION_MS, DrillManager } from './drill/drill-manager';
import { DEFAULT_WHAT_IF_MAX_FAILURES, whatIfHandler } from './admin/what-if-route';
import { drillPostHandlers, drillStatusHandler } from './admin/drill-routes';
import { DEFAULT_ADMIN_MAX_BODY_BYTES } from './admin/admin-post';
import { scopeHandler } from './admin/scope-route';

export interface HostPort {
  host: string;
  port: number;
}

/** A running discovery source, as the server sees it: its metrics, its readiness, how to stop it. */
export interface MeshSourceHandle {
  /** For spillway_mesh_reloads, spillway_mesh_rejected and spillway_source_staleness_seconds. */
  statuses(): SourceStatus[];
  /** Has done its first full sync: the replica reports ready (/readyz) only when every source has. */
  synced(): boolean;
  /** What an operator must see about the source (a rejected file): /debug/issues, the page, `spillway status`. */
  issues?(): SourceIssue[];
  stop(): void | Promise<void>;
}

/** Starts a source that feeds `store`; throws ServerStartError for what the user must fix (bad config). */
export type MeshSourceStarter = (store: MeshStore, logger: Logger) => MeshSourceHandle;

export interface SpillwayServerOptions {
  logger: Logger;
  /** Mesh file, hot-reloaded. Without it and without extra sources, the embedded example mesh is served. */
  meshPath?: string;
  /** Settle period and size limit of the mesh file (`--mesh-settle-ms`, `--mesh-max-bytes`). */
  meshFile?: Pick<MeshFileSourceOptions, 'settleMs' | 'limits'>;
  /** More sources (e.g. Kubernetes discovery), started after the mesh file, each owning its store shards. */
  extraSources?: MeshSourceStarter[];
  xds: HostPort;
  admin: HostPort;
  debounce?: DebounceOptions;
  /** TLS/mTLS and per-client limits of the xDS server, as `serve` flags give them. */
  serverOptions?: ControlPlaneOptions['serverOptions'];
  /** Bounds of load reports (`--lrs-*`). */
  lrsLimits?: ControlPlaneOptions['lrsLimits'];
  scope?: ControlPlaneOptions['scope'];
  maxObservedCalls?: ControlPlaneOptions['maxObservedCalls'];
  /** Host names the admin server answers besides loopback and its own address (`--admin-allowed-hosts`). */
  adminAllowedHosts?: readonly string[];
  /** What-if and drills: --admin-token-file's token, --admin-max-body-bytes, --drill-max-duration-s, --what-if-max-failures. */
  predict?: { adminToken?: string; maxBodyBytes?: number; drillMaxDurationMs?: number; whatIfMaxFailures?: number };
}

export interface RunningSpillwayServer {
  readonly controlPlane: ControlPlane;
  readonly store: MeshStore;
  readonly xdsPort: number;
  readonly adminPort: number;
  /** e.g. http://127.0.0.1:15014/ */
  readonly adminUrl: string;
  /** Closes streams (clients reconnect elsewhere), the admin server and every source. */
  stop(graceMs?: number): Promise<void>;
}

/** The server could not start for a reason the user can fix (bad mesh file, busy port); the message says how. */
export class ServerStartError extends Error {}

/** gRPC wants IPv6 hosts in brackets. */
function grpcAddress({ host, port }: HostPort): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1';
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function startMeshFile(
  meshPath: string,
  store: MeshStore,
  logger: Logger,
  settings: SpillwayServerOptions['meshFile'],
): MeshSourceHandle {
  const source = new MeshFileSource({
    path: meshPath,
    store,
    logger: logger.child({ component: 'mesh-file' }),
    ...settings,
  });
  const first = source.start();
  if (!first.ok) {
    source.stop();
    throw new ServerStartError(
      `${formatMeshErrors(meshPath, first.errors)}\n${meshPath} is not a valid mesh file; fix it (spillway validate ${meshPath}) and start again`,
    );
  }
  return {
    statuses: () => [{ name: 'file', ...source.stats }],
    synced: () => true,
    issues: () => source.issues(),
    stop: () => source.stop(),
  };
}

function startEmbeddedMesh(store: MeshStore, logger: Logger): MeshSourceHandle {
  const embedded = parseMeshText(EMBEDDED_MESH_YAML);
  // Not a user error: the embedded text ships with the code and a unit test parses it.
  if (!embedded.ok)
    throw new Error('the embedded mesh is invalid (a bug): ' + formatMeshErrors('embedded', embedded.errors));
  store.setShard('file', embedded.model);
  logger.info(embedded.summary, 'serving the embedded example mesh (use --mesh FILE for yours)');
  return {
    statuses: () => [{ name: 'embedded', reloads: 0, rejected: 0, lastGoodAtMs: Date.now() }],
    synced: () => true,
    stop: () => undefined,
  };
}

async function stopAll(sources: readonly MeshSourceHandle[]): Promise<void> {
  await Promise.all(sources.map(async (source) => source.stop()));
}

/** Starts every source in order; if one fails, the ones already running are stopped before rethrowing. */
async function startSources(options: SpillwayServerOptions, store: MeshStore): Promise<MeshSourceHandle[]> {
  const starters: MeshSourceStarter[] = [];
  if (options.meshPath) {
    const meshPath = options.meshPath;
    starters.push((s, logger) => startMeshFile(meshPath, s, logger, options.meshFile));
  }
  starters.push(...(options.extraSources ?? []));
  if (starters.length === 0) starters.push(startEmbeddedMesh);
  const started: MeshSourceHandle[] = [];
  try {
    for (const start of starters) started.push(start(store, options.logger));
  } catch (error) {
    await stopAll(started);
    store.close();
    throw error;
  }
  return started;
}

export async function startSpillwayServer(options: SpillwayServerOptions): Promise<RunningSpillwayServer> {
  const { logger } = options;
  const store = new MeshStore(options.debounce ?? DEFAULT_DEBOUNCE);
  const sources = await startSources(options, store);
  store.flush();

  const controlPlane = new ControlPlane({
    store,
    logger,
    xdsAddress: grpcAddress(options.xds),
    serverOptions: options.serverOptions,
    lrsLimits: options.lrsLimits,
    scope: options.scope,
    maxObservedCalls: options.maxObservedCalls,
  });
  if (!options.serverOptions?.tls && !isLoopback(options.xds.host)) {
    logger.warn(
      { xds: grpcAddress(options.xds) },
      'xDS is served without TLS on a non-loopback address: any client that can connect gets configuration; use --xds-tls-cert/--xds-tls-key/--xds-client-ca in production',
    );
  }
  let xdsPort: number;
  try {
    xdsPort = await controlPlane.start();
  } catch (error) {
    await stopAll(sources);
    store.close();
    throw new ServerStartError(error instanceof Error ? error.message : String(error));
  }

  const drills = new DrillManager({
    overlay: controlPlane.overlay,
    model: () => store.current(),
    loads: controlPlane.loads,
    logger: logger.child({ component: 'drill' }),
    maxDurationMs: options.predict?.drillMaxDurationMs ?? DEFAULT_DRILL_MAX_DURATION_MS,
  });
  const metrics = new SpillwayMetrics({
    registry: controlPlane.server.registry,
    tracker: controlPlane.tracker,
    loads: controlPlane.loads,
    lrs: controlPlane.lrsStats,
    sources: () => sources.flatMap((source) => source.statuses()),
    rebuilds: () => controlPlane.rebuildStats(),
    drills: () => drills.totals(),
  });
  const adminServer = new AdminServer({
    logger,
    allowedHosts: options.adminAllowedHosts,
    post: {
      handlers: drillPostHandlers(drills),
      token: options.predict?.adminToken,
      maxBodyBytes: options.predict?.maxBodyBytes ?? DEFAULT_ADMIN_MAX_BODY_BYTES,
    },
    handlers: debugRoutes({
      xdsClients: controlPlane.server,
      snapshot: (view) => controlPlane.cache.snapshot(view),
      translationIssues: () => controlPlane.translationIssues(),
      failoverEntries: () => controlPlane.tracker.entries(),
      currentModel: () => store.current(),
      isReady: () => store.version > 0 && sources.every((source) => source.synced()),
      sourceIssues: () => sources.flatMap((source) => source.issues?.() ?? []),
      metrics,
    }),
  });
  adminServer.addRoute(
    '/debug/what-if',
    whatIfHandler({
      model: () => controlPlane.servedModel(),
      loads: controlPlane.loads,
      maxFailures: options.predict?.whatIfMaxFailures ?? DEFAULT_WHAT_IF_MAX_FAILURES,
    }),
  );
  adminServer.addRoute('/debug/drill', drillStatusHandler(drills));
  adminServer.addRoute(
    '/debug/scope',
    scopeHandler({
      observedCalls: controlPlane.observedCalls,
      model: () => store.current(),
      defaultScope: options.scope?.scope ?? 'all',
    }),
  );
  let adminPort: number;
  try {
    adminPort = await adminServer.listen(options.admin.host, options.admin.port);
  } catch (error) {
    await stopAll(sources);
    await controlPlane.stop(0);
    throw new ServerStartError(error instanceof Error ? error.message : String(error));
  }
  const adminUrl = `http://${urlHost(options.admin.host)}:${adminPort}/`;
  logger.info({ admin: adminUrl }, 'admin server listening');

  let stopped: Promise<void> | undefined;
  return {
    controlPlane,
    store,
    xdsPort,
    adminPort,
    adminUrl,
    stop(graceMs = 1_000) {
      stopped ??= (async () => {
        drills.close();
        await Promise.all([stopAll(sources), controlPlane.stop(graceMs), adminServer.close()]);
      })();
      return stopped;
    },
  };
}
