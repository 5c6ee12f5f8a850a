// What a very big mesh file costs `spillway serve` (a real process): when it is ready, when a sidecar has
// its first full configuration, how long a one-port change takes to reach it, how long /healthz answers
// take meanwhile (liveness probes restart a replica that stalls), and peak RSS. Used by a test (smaller
// mesh, asserted) and by `npm run bench:big-mesh` (50,000 services, figures for docs/OPERATIONS.md).
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { CLUSTER_TYPE, LISTENER_TYPE } from '../../src/xds/resource-types';
import { LightAdsClient, carriesName } from './light-client';
import { bigMeshYaml, changedClusterName } from './mesh-text';

export interface BigMeshOptions {
  services: number;
  /** Extra `spillway serve` flags. */
  extraArgs?: string[];
  /** Where the mesh file and the server's log go. */
  dir?: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface BigMeshFigures {
  services: number;
  meshBytes: number;
  readyAfterMs: number;
  firstConfigAfterMs: number;
  clustersServed: number;
  changeReachedClientAfterMs: number;
  /** Slowest /healthz answer from start to the first configuration, and during the change. */
  maxHealthzMsAtStart: number;
  maxHealthzMsDuringChange: number;
  peakRssMiB: number;
}

const PROBE_INTERVAL_MS = 100;

function rssMiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function get(url: string, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = http.get(url, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode));
    });
    request.on('error', () => resolve(undefined));
    request.setTimeout(timeoutMs, () => {
      request.destroy();
      resolve(undefined);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = http.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export async function measureBigMesh(options: BigMeshOptions): Promise<BigMeshFigures> {
  const log = options.log ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 300_000;
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'spillway-big-mesh-'));
  fs.mkdirSync(dir, { recursive: true });
  const meshPath = path.join(dir, 'mesh.yaml');
  const text = bigMeshYaml(options.services);
  fs.writeFileSync(meshPath, text);
  const [xdsPort, adminPort] = [await freePort(), await freePort()];
  const admin = `http://127.0.0.1:${adminPort}`;
  const logFd = fs.openSync(path.join(dir, 'spillway.log'), 'w');
  const main = path.join(__dirname, '..', '..', 'src', 'cli', 'main.js');
  const startedAt = Date.now();
  // BIG_MESH_NODE_ARGS (e.g. "--cpu-prof") profiles the server; BIG_MESH_STOP_SIGNAL=TERM lets it write the profile.
  const nodeArgs = (process.env.BIG_MESH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      main,
      'serve',
      '--mesh',
      meshPath,
      '--xds',
      `127.0.0.1:${xdsPort}`,
      '--admin',
      `127.0.0.1:${adminPort}`,
      '--log-level',
      'info',
      ...(options.extraArgs ?? []),
    ],
    {
      stdio: ['ignore', logFd, logFd],
    },
  );
  fs.closeSync(logFd);
  let peakRss = 0;
  let maxHealthz = 0;
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const sentAt = Date.now();
      const status = await get(`${admin}/healthz`, timeoutMs);
      if (status === 200) maxHealthz = Math.max(maxHealthz, Date.now() - sentAt);
      peakRss = Math.max(peakRss, rssMiB(child.pid as number));
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
  })();
  let client: LightAdsClient | undefined;
  try {
    const deadline = startedAt + timeoutMs;
    while ((await get(`${admin}/readyz`, 5_000)) !== 200) {
      if (child.exitCode !== null) throw new Error(`spillway exited with ${child.exitCode}; see ${dir}/spillway.log`);
      if (Date.now() > deadline) throw new Error('spillway not ready in time');
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
    const readyAfterMs = Date.now() - startedAt;
    log(`ready after ${readyAfterMs} ms`);
    client = new LightAdsClient(`127.0.0.1:${xdsPort}`);
    const node = { id: 'big-mesh-probe', metadata: { CLUSTER_ID: 'east' } };
    client.send(CLUSTER_TYPE, { node });
    client.send(LISTENER_TYPE, { node });
    let clusters = await client.next(CLUSTER_TYPE, timeoutMs);
    const firstConfigAfterMs = Date.now() - startedAt;
    const maxHealthzMsAtStart = maxHealthz;
    log(`first CDS after ${firstConfigAfterMs} ms: ${clusters.resources.length} clusters`);
    await client.next(LISTENER_TYPE, timeoutMs);
    maxHealthz = 0;
    const changedAt = Date.now();
    // Written as the docs say: a new file renamed over the old one.
    fs.writeFileSync(`${meshPath}.tmp`, bigMeshYaml(options.services, true));
    fs.renameSync(`${meshPath}.tmp`, meshPath);
    do clusters = await client.next(CLUSTER_TYPE, timeoutMs);
    while (!carriesName(clusters, changedClusterName(true)));
    const changeReachedClientAfterMs = Date.now() - changedAt;
    log(
      `change reached the client after ${changeReachedClientAfterMs} ms (slowest /healthz meanwhile ${maxHealthz} ms)`,
    );
    return {
      services: options.services,
      meshBytes: Buffer.byteLength(text),
      readyAfterMs,
      firstConfigAfterMs,
      clustersServed: clusters.resources.length,
      changeReachedClientAfterMs,
      maxHealthzMsAtStart,
      maxHealthzMsDuringChange: maxHealthz,
      peakRssMiB: Math.round(peakRss),
    };
  } finally {
    probing = false;
    client?.close();
    child.kill(process.env.BIG_MESH_STOP_SIGNAL === 'TERM' ? 'SIGTERM' : 'SIGKILL');
    if (process.env.BIG_MESH_STOP_SIGNAL === 'TERM') await new Promise((resolve) => child.once('exit', resolve));
    await prober;
  }
}
