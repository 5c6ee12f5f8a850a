// startSpillwayServer, the pipeline `spillway serve` and `spillway demo` share: which mesh it serves, when it
// is ready, what its sources report, and the errors a user can act on.
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import pino from 'pino';
import { parseMeshText } from '../../src/discovery/file/mesh-file';
import { MeshStore } from '../../src/mesh/store';
import {
  MeshSourceHandle,
  RunningSpillwayServer,
  ServerStartError,
  startSpillwayServer,
} from '../../src/composition-root';
import { httpGet } from '../../src/demo/http-get';
import { testOutputDir } from '../harness';

const LOOPBACK_ANY_PORT = { host: '127.0.0.1', port: 0 };
const logger = pino({ level: 'silent' });
const running: RunningSpillwayServer[] = [];

async function start(options: Partial<Parameters<typeof startSpillwayServer>[0]> = {}): Promise<RunningSpillwayServer> {
  const server = await startSpillwayServer({ logger, xds: LOOPBACK_ANY_PORT, admin: LOOPBACK_ANY_PORT, ...options });
  running.push(server);
  return server;
}

async function admin(server: RunningSpillwayServer, pathname: string) {
  return httpGet(new URL(pathname, server.adminUrl).href);
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop(0)));
});

test('without a mesh file or other sources it serves the embedded example mesh, ready at once', async () => {
  const server = await start();
  expect(server.xdsPort).toBeGreaterThan(0);
  expect((await admin(server, '/readyz')).status).toBe(200);
  const mesh = JSON.parse((await admin(server, '/debug/mesh')).body) as { clusters: { name: string }[] };
  expect(mesh.clusters.map((c) => c.name).sort()).toEqual(['east', 'south', 'west']);
  expect((await admin(server, '/metrics')).body).toMatch(/spillway_mesh_reloads\{source="embedded"\} 0/);
});

test('an extra source replaces the embedded mesh, gates readiness until it has synced, and is stopped', async () => {
  let synced = false;
  let stopped = false;
  const only = parseMeshText('clusters:\n  - { name: north, region: r1, zone: z1 }\nservices: []\n');
  if (!only.ok) throw new Error(`test mesh invalid: ${JSON.stringify(only.errors)}`);
  const fake = (store: MeshStore): MeshSourceHandle => {
    store.setShard('fake/north', only.model);
    return {
      statuses: () => [{ name: 'fake', reloads: 3, rejected: 1 }],
      synced: () => synced,
      stop: () => void (stopped = true),
    };
  };
  const server = await start({ extraSources: [fake] });
  const readyz = await admin(server, '/readyz');
  expect(readyz.status).toBe(503);
  synced = true;
  expect((await admin(server, '/readyz')).status).toBe(200);
  const mesh = JSON.parse((await admin(server, '/debug/mesh')).body) as { clusters: { name: string }[] };
  expect(mesh.clusters.map((c) => c.name)).toContain('north');
  expect(mesh.clusters.map((c) => c.name)).not.toContain('south');
  const metrics = (await admin(server, '/metrics')).body;
  expect(metrics).toMatch(/spillway_mesh_reloads\{source="fake"\} 3/);
  expect(metrics).toMatch(/spillway_mesh_rejected\{source="fake"\} 1/);
  await server.stop(0);
  expect(stopped).toBe(true);
});

test('an invalid mesh file is a ServerStartError with its line and what to do', async () => {
  const file = path.join(testOutputDir('composition-root'), 'broken.yaml');
  fs.writeFileSync(file, 'clusters:\n  - name: east\n    region: r\n');
  const error = await start({ meshPath: file }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ServerStartError);
  expect((error as Error).message).toContain(`${file}:`);
  expect((error as Error).message).toContain(`spillway validate ${file}`);
});

test('a busy admin port is a ServerStartError naming it, and the sources and xDS server are stopped', async () => {
  const blocker = http.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  let stopped = false;
  try {
    const error = await start({
      admin: { host: '127.0.0.1', port },
      extraSources: [() => ({ statuses: () => [], synced: () => true, stop: () => void (stopped = true) })],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerStartError);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect((error as Error).message).toContain('--admin');
    expect(stopped).toBe(true);
  } finally {
    blocker.close();
  }
});
