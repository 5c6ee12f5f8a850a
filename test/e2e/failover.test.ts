// Transparent cross-cluster failover with real Envoys: a sidecar in east, gateways in west and south,
// backends that answer with their identity, all configured by `spillway serve --mesh FILE`.
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import {
  Backend,
  EnvoyProcess,
  Tally,
  emptyTally,
  mergeTally,
  sendRequests,
  startHttpBackend,
  stopEverything,
  testOutputDir,
  waitFor,
} from '../harness';
import { httpGet } from '../harness/http-get';
import {
  ClusterSpec,
  MeshDocument,
  Topology,
  checkoutService,
  clustersYaml,
  startSidecar,
  startTopology,
} from '../harness/topology';

const HOST = 'checkout.shop.svc.cluster.local';
const CLUSTERS: ClusterSpec[] = [
  { name: 'east', region: 'europe-west1', zone: 'europe-west1-b', gatewayAddress: '127.0.0.2' },
  { name: 'west', region: 'europe-west1', zone: 'europe-west1-c', gatewayAddress: '127.0.0.3' },
  { name: 'south', region: 'us-east1', zone: 'us-east1-a', gatewayAddress: '127.0.0.4' },
];
const EAST = CLUSTERS[0];

interface Backends {
  east: Backend[];
  west: Backend[];
  south: Backend[];
  ledger: Backend;
}

function meshDocument(backends: Backends, gatewayPort: number, eastReady = true): MeshDocument {
  const endpoints = (cluster: string, list: Backend[], ready = true) =>
    list.map((b) => ({ cluster, address: '127.0.0.1', port: b.port, ready }));
  return {
    clusters: clustersYaml(CLUSTERS, gatewayPort),
    services: [
      checkoutService([
        ...endpoints('east', backends.east, eastReady),
        ...endpoints('west', backends.west),
        ...endpoints('south', backends.south),
      ]),
      {
        name: 'ledger',
        namespace: 'shop',
        ports: [{ name: 'http', port: 8080 }],
        endpoints: [{ cluster: 'west', address: '127.0.0.1', port: backends.ledger.port }],
      },
    ],
  };
}

function remoteShare(tally: Tally): number {
  const total = Object.values(tally.byId).reduce((a, b) => a + b, 0);
  const remote = Object.entries(tally.byId)
    .filter(([id]) => !id.startsWith('east'))
    .reduce((a, [, n]) => a + n, 0);
  return total === 0 ? 0 : remote / total;
}

/** How long traffic took to move, in ms from the cause (kill, or mesh file written) to the end of the batch that showed it. */
interface MoveTimes {
  firstRemoteMs: number;
  allRemoteMs: number;
  /** Requests sent until then, and how many failed (what a caller saw). */
  requests: number;
  failures: number;
}

/**
 * Sends batches of 4 requests back to back from `since` until a whole batch (8 in a row) is served
 * remotely without failure; `first` are the first `firstCount` requests' tally (the transition callers see).
 */
async function timeTheMove(
  send: (count: number) => Promise<Tally>,
  since: number,
  timeoutMs: number,
): Promise<MoveTimes & { first: Tally }> {
  const first = emptyTally();
  let firstRemoteMs = Number.NaN;
  let requests = 0;
  let failures = 0;
  let allRemoteRun = 0;
  while (performance.now() - since < timeoutMs) {
    const batch = await send(4);
    const at = performance.now() - since;
    if (requests < 40) mergeTally(first, batch);
    requests += 4;
    failures += batch.failures;
    if (Number.isNaN(firstRemoteMs) && remoteShare(batch) > 0) firstRemoteMs = at;
    allRemoteRun = batch.failures === 0 && remoteShare(batch) === 1 ? allRemoteRun + 4 : 0;
    if (allRemoteRun >= 8) return { firstRemoteMs, allRemoteMs: at, requests, failures, first };
  }
  throw new Error(`traffic did not move within ${timeoutMs} ms`);
}

/** The measured times go to test-output/failover/move-times.json (the README quotes them). */
const moveTimes: Record<string, MoveTimes> = {};
function recordMove(what: string, times: MoveTimes): void {
  moveTimes[what] = {
    firstRemoteMs: Math.round(times.firstRemoteMs),
    allRemoteMs: Math.round(times.allRemoteMs),
    requests: times.requests,
    failures: times.failures,
  };
  fs.writeFileSync(path.join(testOutputDir('failover'), 'move-times.json'), JSON.stringify(moveTimes, null, 2) + '\n');
}

describe('cross-cluster failover through east-west gateways (real Envoy)', () => {
  let backends: Backends;
  let topology: Topology;
  let sidecar: { envoy: EnvoyProcess; url: string };
  const send = (count: number, hostHeader = HOST) =>
    sendRequests({ url: sidecar.url, hostHeader, count, concurrency: 4 });

  beforeAll(async () => {
    const start = (ids: string[]) => Promise.all(ids.map((id) => startHttpBackend({ id })));
    backends = {
      east: await start(['east-1', 'east-2']),
      west: await start(['west-1']),
      south: await start(['south-1', 'south-2', 'south-3']),
      ledger: await startHttpBackend({ id: 'ledger-west-1' }),
    };
    topology = await startTopology({
      name: 'failover',
      clusters: CLUSTERS,
      gatewaysFor: ['west', 'south'],
      mesh: (port) => meshDocument(backends, port),
    });
    sidecar = await startSidecar(topology, EAST, 'sidecar-east-1');
  });
  afterAll(async () => {
    await topology?.stop();
    await stopEverything();
  });

  test('all traffic stays local while east has ready endpoints', async () => {
    const tally = await send(80);
    expect(tally.failures).toBe(0);
    expect(Object.keys(tally.byId).sort()).toEqual(['east-1', 'east-2']);
  });

  test('the service is found by Host in every usual form', async () => {
    for (const host of [
      'checkout',
      'checkout:8080',
      'checkout.shop',
      'checkout.shop:8080',
      'checkout.shop.svc',
      'checkout.shop.svc.cluster.local',
      'checkout.shop.svc.cluster.local:8080',
    ]) {
      const tally = await send(4, host);
      expect(tally.failures).toBe(0);
      expect(Object.keys(tally.byId).every((id) => id.startsWith('east'))).toBe(true);
    }
    expect((await send(2, 'checkout:9999')).statuses['404']).toBe(2);
  });

  test('east backends killed: outlier detection moves traffic to the remote gateways, and back when they recover', async () => {
    await Promise.all(backends.east.map((b) => b.kill('SIGKILL')));
    const moved = await timeTheMove(send, performance.now(), 15_000);
    recordMove('east backends killed (SIGKILL), outlier detection', moved);
    const transition = moved.first;
    const settled = await waitFor(
      async () => {
        const tally = await send(40);
        return tally.failures === 0 && remoteShare(tally) === 1 ? tally : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'all traffic on remote gateways after east died' },
    );
    expect(Object.keys(settled.byId).every((id) => id.startsWith('west') || id.startsWith('south'))).toBe(true);
    // Retries to the next priority hide most of the transition from callers.
    expect(transition.failures).toBeLessThanOrEqual(2);

    await Promise.all(backends.east.map((b) => b.restart()));
    await waitFor(
      async () => {
        const tally = await send(40);
        return tally.failures === 0 && remoteShare(tally) === 0 ? tally : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 300, what: 'traffic back in east after its backends recovered' },
    );
  });

  test('east endpoints marked not ready in the mesh file: EDS moves traffic away at once, and back', async () => {
    const writtenAt = performance.now();
    topology.meshFile.write(meshDocument(backends, topology.gatewayPort, false));
    recordMove('east endpoints marked not ready in the mesh file', await timeTheMove(send, writtenAt, 10_000));
    const remote = await waitFor(
      async () => {
        const tally = await send(40);
        return remoteShare(tally) === 1 ? tally : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'traffic remote after east marked not ready' },
    );
    expect(remote.failures).toBe(0);
    topology.meshFile.write(meshDocument(backends, topology.gatewayPort, true));
    await waitFor(
      async () => {
        const tally = await send(40);
        return tally.failures === 0 && remoteShare(tally) === 0 ? tally : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'traffic local after east ready again' },
    );
  });

  test('remote clusters with 1 and 3 ready endpoints share spilled traffic about 1:3', async () => {
    topology.meshFile.write(meshDocument(backends, topology.gatewayPort, false));
    await waitFor(async () => remoteShare(await send(20)) === 1, {
      timeoutMs: 10_000,
      intervalMs: 200,
      what: 'traffic remote',
    });
    const tally = await send(400);
    expect(tally.failures).toBe(0);
    const west = tally.byId['west-1'] ?? 0;
    const south = (tally.byId['south-1'] ?? 0) + (tally.byId['south-2'] ?? 0) + (tally.byId['south-3'] ?? 0);
    const westShare = west / (west + south);
    // Expected 25%; tolerance +/- 7 points (weighted round robin over gateway weights 1 and 3).
    expect(westShare).toBeGreaterThan(0.18);
    expect(westShare).toBeLessThan(0.32);
    topology.meshFile.write(meshDocument(backends, topology.gatewayPort, true));
    await waitFor(async () => remoteShare(await send(20)) === 0, {
      timeoutMs: 10_000,
      intervalMs: 200,
      what: 'traffic local again',
    });
  });

  test('an unexported service in west is never reachable from east, even with a crafted Host at the gateway', async () => {
    for (const host of ['ledger.shop.svc.cluster.local', 'ledger.shop', 'ledger:8080']) {
      const viaSidecar = await send(3, host);
      expect(viaSidecar.statuses['404']).toBe(3);
    }
    const gatewayUrl = `http://127.0.0.3:${topology.gatewayPort}/`;
    for (const host of ['ledger.shop.svc.cluster.local', 'ledger.shop.svc.cluster.local:8080', 'ledger', '*']) {
      const crafted = await sendRequests({ url: gatewayUrl, hostHeader: host, count: 3 });
      expect(crafted.statuses['404']).toBe(3);
      expect(crafted.byId['ledger-west-1']).toBeUndefined();
    }
    // The exported service is reachable through that gateway, and lands only on west's own endpoints.
    const exported = await sendRequests({ url: gatewayUrl, hostHeader: HOST, count: 10 });
    expect(exported.byId['west-1']).toBe(10);
  });

  test('a broken mesh file changes nothing that is being served', async () => {
    const before = await topology.spillway.adminJson<{
      clients: { nodeId: string; types: Record<string, { sentVersion?: string }> }[];
    }>('/debug/clients');
    const versionsBefore = before.clients.find((c) => c.nodeId === 'sidecar-east-1')?.types;
    topology.meshFile.writeRaw('clusters:\n  - name: east\n    region: [unclosed\nservices: 42\n');
    await waitFor(async () => topology.spillway.logTail(20_000).includes('last good mesh'), {
      timeoutMs: 10_000,
      what: 'rejection logged',
    });
    const tally = await send(40);
    expect(tally.failures).toBe(0);
    expect(remoteShare(tally)).toBe(0);
    const after = await topology.spillway.adminJson<{
      clients: { nodeId: string; types: Record<string, { sentVersion?: string }> }[];
    }>('/debug/clients');
    const versionsAfter = after.clients.find((c) => c.nodeId === 'sidecar-east-1')?.types;
    for (const type of ['CDS', 'EDS', 'LDS', 'RDS'])
      expect(versionsAfter?.[type]?.sentVersion).toBe(versionsBefore?.[type]?.sentVersion);
    const ready = await httpGet(`${topology.spillway.adminUrl}/healthz`);
    expect(ready.status).toBe(200);
    topology.meshFile.write(meshDocument(backends, topology.gatewayPort, true));
  });
});
