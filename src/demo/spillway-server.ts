// The whole `spillway serve` pipeline in one call: mesh source (file or embedded) -> store -> Spillway
// (xDS + LRS) -> metrics -> admin server. `spillway serve` and `spillway demo` both start it, so the demo
// runs exactly what production runs. Signals and process exit stay with the caller.
import type { Logger } from 'pino';
import { AdminServer } from '../admin/admin-server';
import { debugRoutes } from '../admin/debug-routes';
import { EMBEDDED_MESH_YAML } from '../discovery/embedded-mesh';
import { MeshFileSource } from '../discovery/file/file-source';
import { formatMeshErrors, parseMeshText } from '../discovery/file/mesh-file';
import { DebounceOptions, DEFAULT_DEBOUNCE } from '../mesh/debounce';
import { MeshStore } from '../mesh/store';
import { Spillway } from '../spillway';
import { SpillwayMetrics } from '../visibility/metrics';

export interface HostPort {
  host: string;
  port: number;
}

export interface SpillwayServerOptions {
  logger: Logger;
  /** Mesh file, hot-reloaded; without it the embedded example mesh is served. */
  meshPath?: string;
  xds: HostPort;
  admin: HostPort;
  debounce?: DebounceOptions;
}

export interface RunningSpillwayServer {
  readonly spillway: Spillway;
  readonly store: MeshStore;
  readonly xdsPort: number;
  readonly adminPort: number;
  /** e.g. http://127.0.0.1:15014/ */
  readonly adminUrl: string;
  /** Closes streams (clients reconnect elsewhere), the admin server and the mesh source. */
  stop(graceMs?: number): Promise<void>;
}

/** The server could not start for a reason the user can fix (bad mesh file, busy port); the message says how. */
export class ServerStartError extends Error {}

/** gRPC wants IPv6 hosts in brackets. */
function grpcAddress({ host, port }: HostPort): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function loadMesh(options: SpillwayServerOptions, store: MeshStore): MeshFileSource | undefined {
  const { meshPath, logger } = options;
  if (meshPath) {
    const source = new MeshFileSource({ path: meshPath, store, logger: logger.child({ component: 'mesh-file' }) });
    const first = source.start();
    if (!first.ok) {
      source.stop();
      throw new ServerStartError(
        `${formatMeshErrors(meshPath, first.errors)}\n${meshPath} is not a valid mesh file; fix it (spillway validate ${meshPath}) and start again`,
      );
    }
    return source;
  }
  const embedded = parseMeshText(EMBEDDED_MESH_YAML);
  // Not a user error: the embedded text ships with the code and a unit test parses it.
  if (!embedded.ok) throw new Error('the embedded mesh is invalid (a bug): ' + formatMeshErrors('embedded', embedded.errors));
  store.setShard('file', embedded.model);
  logger.info(embedded.summary, 'serving the embedded example mesh (use --mesh FILE for yours)');
  return undefined;
}

export async function startSpillwayServer(options: SpillwayServerOptions): Promise<RunningSpillwayServer> {
  const { logger } = options;
  const store = new MeshStore(options.debounce ?? DEFAULT_DEBOUNCE);
  const fileSource = loadMesh(options, store);
  store.flush();

  const spillway = new Spillway({ store, logger, xdsAddress: grpcAddress(options.xds) });
  let xdsPort: number;
  try {
    xdsPort = await spillway.start();
  } catch (error) {
    fileSource?.stop();
    store.close();
    throw new ServerStartError(error instanceof Error ? error.message : String(error));
  }

  const metrics = new SpillwayMetrics({
    registry: spillway.server.registry,
    tracker: spillway.tracker,
    loads: spillway.loads,
    sources: () => (fileSource ? [{ name: 'file', ...fileSource.stats }] : [{ name: 'embedded', reloads: 0, rejected: 0, lastGoodAtMs: Date.now() }]),
    rebuilds: () => spillway.stats,
  });
  const adminServer = new AdminServer({
    logger,
    handlers: debugRoutes({ spillway, currentModel: () => store.current(), isReady: () => store.version > 0, metrics }),
  });
  let adminPort: number;
  try {
    adminPort = await adminServer.listen(options.admin.host, options.admin.port);
  } catch (error) {
    fileSource?.stop();
    await spillway.stop(0);
    throw new ServerStartError(error instanceof Error ? error.message : String(error));
  }
  const adminUrl = `http://${urlHost(options.admin.host)}:${adminPort}/`;
  logger.info({ admin: adminUrl }, 'admin server listening');

  let stopped: Promise<void> | undefined;
  return {
    spillway,
    store,
    xdsPort,
    adminPort,
    adminUrl,
    stop(graceMs = 1_000) {
      stopped ??= (async () => {
        fileSource?.stop();
        await Promise.all([spillway.stop(graceMs), adminServer.close()]);
      })();
      return stopped;
    },
  };
}
