// Drills with real Envoys: `spillway drill start` makes the served views treat east's checkout endpoints
// as not ready, so real traffic moves to west and south as predicted, comes back at the deadline with no
// failed request, and the outcome (expected vs measured shares, failures from load reports) is reported
// and logged. A restart of Spillway ends a drill (never persisted).
import { spawnSync } from 'child_process';
import * as path from 'path';
import {
  Backend,
  EnvoyProcess,
  Tally,
  emptyTally,
  mergeTally,
  sendRequests,
  sleep,
  startHttpBackend,
  stopEverything,
  waitFor,
} from '../harness';
import { repoRoot } from '../harness/paths';
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
import type { DrillOutcome, ActiveDrill } from '../../src/drill/drill-manager';

const HOST = 'checkout.shop.svc.cluster.local';
const CLUSTERS: ClusterSpec[] = [
  { name: 'east', region: 'europe-west1', zone: 'europe-west1-b', gatewayAddress: '127.0.0.2' },
  { name: 'west', region: 'europe-west1', zone: 'europe-west1-c', gatewayAddress: '127.0.0.3' },
  { name: 'south', region: 'us-east1', zone: 'us-east1-a', gatewayAddress: '127.0.0.4' },
];
const EAST = CLUSTERS[0];
const DRILL_S = 8;

function meshDocument(b: Record<'east' | 'west' | 'south', Backend[]>, gatewayPort: number): MeshDocument {
  const endpoints = (cluster: 'east' | 'west' | 'south') =>
    b[cluster].map((x) => ({ cluster, address: '127.0.0.1', port: x.port }));
  return {
    clusters: clustersYaml(CLUSTERS, gatewayPort),
    services: [checkoutService([...endpoints('east'), ...endpoints('west'), ...endpoints('south')])],
  };
}

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function clusterOf(id: string): string {
  return id.split('-')[0];
}

/** Steady traffic in batches; each batch remembered with its time, so phases can be told apart. */
class Traffic {
  readonly batches: { atMs: number; tally: Tally }[] = [];
  private running = true;
  private loop?: Promise<void>;

  constructor(private readonly url: string) {}

  start(): void {
    this.loop = (async () => {
      while (this.running) {
        const tally = await sendRequests({ url: this.url, hostHeader: HOST, count: 4, concurrency: 2 });
        this.batches.push({ atMs: Date.now(), tally });
        await sleep(20);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  total(fromMs = 0, toMs = Infinity): Tally {
    const total = emptyTally();
    for (const b of this.batches) if (b.atMs >= fromMs && b.atMs <= toMs) mergeTally(total, b.tally);
    return total;
  }

  /** The last batch's answering clusters. */
  lastClusters(): string[] {
    const last = this.batches[this.batches.length - 1];
    return last ? [...new Set(Object.keys(last.tally.byId).map(clusterOf))].sort() : [];
  }
}

describe('drills (real Envoy)', () => {
  let topology: Topology;
  let sidecar: { envoy: EnvoyProcess; url: string };
  let backends: Record<'east' | 'west' | 'south', Backend[]>;
  const drillStatus = () =>
    topology.spillway.adminJson<{ active?: ActiveDrill; outcomes: DrillOutcome[] }>('/debug/drill');

  beforeAll(async () => {
    const start = (ids: string[]) => Promise.all(ids.map((id) => startHttpBackend({ id })));
    backends = {
      east: await start(['east-1', 'east-2']),
      west: await start(['west-1', 'west-2']),
      south: await start(['south-1']),
    };
    topology = await startTopology({
      name: 'drill',
      clusters: CLUSTERS,
      gatewaysFor: ['west', 'south'],
      mesh: (port) => meshDocument(backends, port),
    });
    sidecar = await startSidecar(topology, EAST, 'sidecar-east-drill');
  });
  afterAll(async () => {
    await topology?.stop();
    await stopEverything();
  });

  test(`a ${DRILL_S} s drill moves traffic as predicted and brings it back at the deadline with 0 failed requests`, async () => {
    const traffic = new Traffic(sidecar.url);
    traffic.start();
    try {
      await waitFor(async () => traffic.batches.length > 20, { timeoutMs: 10_000, what: 'traffic flowing' });
      expect(traffic.lastClusters()).toEqual(['east']);
      const started = cli(
        'drill',
        'start',
        '--admin',
        topology.spillway.adminUrl,
        '--cluster',
        'east',
        '--service',
        'checkout.shop',
        '--for',
        `${DRILL_S}s`,
      );
      expect(started.code).toBe(0);
      const startedAt = (await drillStatus()).active?.startedAtMs ?? Number.NaN;
      expect(started.stdout).toContain('DRILL east/checkout.shop: these endpoints are served as not ready');
      expect(started.stdout).toMatch(/east\s+checkout\.shop:8080\s+all\s+east 100%\s+west 67% south 33%/);
      await waitFor(async () => !traffic.lastClusters().includes('east') && traffic.lastClusters().length > 0, {
        timeoutMs: 5_000,
        intervalMs: 50,
        what: 'traffic left east',
      });
      const movedMs = Date.now() - startedAt;
      // Banner in spillway status, and one drill at a time.
      const status = cli('status', '--admin', topology.spillway.adminUrl);
      expect(status.stdout.split('\n')[0]).toMatch(
        /^DRILL east\/checkout\.shop: these endpoints are served as not ready for \d+s more \(started by 127\.0\.0\.1; spillway drill stop ends it\)$/,
      );
      const second = cli('drill', 'start', '--admin', topology.spillway.adminUrl, '--cluster', 'west', '--for', '5s');
      expect(second.code).toBe(1);
      expect(second.stderr).toContain('a drill is already running (east/checkout.shop); one at a time');
      // At the deadline it comes back on its own.
      await waitFor(async () => traffic.lastClusters().join() === 'east', {
        timeoutMs: DRILL_S * 1000 + 5_000,
        intervalMs: 50,
        what: 'traffic back in east after the deadline',
      });
      const backMs = Date.now() - startedAt;
      expect(backMs).toBeGreaterThanOrEqual(DRILL_S * 1000);
      const during = traffic.total(startedAt + 2_000, startedAt + DRILL_S * 1000 - 500);
      const remote = (n: string) =>
        Object.entries(during.byId)
          .filter(([id]) => clusterOf(id) === n)
          .reduce((a, [, c]) => a + c, 0);
      const westShare = remote('west') / (remote('west') + remote('south'));
      expect(Math.abs(westShare - 2 / 3)).toBeLessThan(0.08);
      await sleep(1_000);
      const all = traffic.total();
      expect({ failures: all.failures, errors: all.errors.slice(0, 3) }).toEqual({ failures: 0, errors: [] });
      console.log(
        JSON.stringify({
          movedMs,
          backMs,
          requests: Object.values(all.byId).reduce((a, b) => a + b, 0),
          westShareDuring: westShare,
        }),
      );
    } finally {
      await traffic.stop();
    }
    // The outcome: expected vs measured shares and failures counted from load reports.
    const outcome = await waitFor(async () => (await drillStatus()).outcomes[0], {
      timeoutMs: 15_000,
      intervalMs: 300,
      what: 'drill outcome',
    });
    expect(outcome.failure).toBe('east/checkout.shop');
    expect(outcome.endedBy).toBe('deadline');
    expect(outcome.failedRequests).toBe(0);
    expect(outcome.requests).toBeGreaterThan(100);
    const route = outcome.routes.find((r) => r.clientCluster === 'east' && r.subset === '');
    expect(route?.expected).toEqual({ south: 1 / 3, west: 2 / 3 });
    expect(Math.abs((route?.measured?.west ?? 0) - 2 / 3)).toBeLessThan(0.08);
    expect(outcome.warnings).toEqual([]);
    const printed = cli('drill', 'status', '--admin', topology.spillway.adminUrl);
    expect(printed.stdout).toMatch(
      /^no drill running\n\nDrill 1 \(east\/checkout\.shop\) ended by deadline after \d+s: \d+ requests reported, 0 failed/,
    );
    const log = topology.spillway.logTail(500_000);
    for (const action of ['start', 'end', 'outcome']) expect(log).toContain(`"audit":"drill","action":"${action}"`);
    // The same in Prometheus metrics, for a dashboard: no drill running, one ended by its deadline, none failed.
    const metrics = (await httpGet(`${topology.spillway.adminUrl}/metrics`)).body;
    expect(metrics).toMatch(/^spillway_drill_active 0$/m);
    expect(metrics).toMatch(/^spillway_drills_ended\{by="deadline"\} 1$/m);
    expect(metrics).toMatch(/^spillway_drill_requests\{outcome="failed"\} 0$/m);
    expect(Number(/^spillway_drill_requests\{outcome="ok"\} (\d+)$/m.exec(metrics)?.[1])).toBe(outcome.requests);
  });

  test('drill stop ends it early; a restart of Spillway ends a drill (never persisted)', async () => {
    const send = () => sendRequests({ url: sidecar.url, hostHeader: HOST, count: 8, concurrency: 2 });
    const clustersOf = (t: Tally) => [...new Set(Object.keys(t.byId).map(clusterOf))].sort().join();
    await waitFor(async () => (await drillStatus()).active === undefined, {
      timeoutMs: 10_000,
      intervalMs: 300,
      what: 'no drill running',
    });
    expect(cli('drill', 'start', '--admin', topology.spillway.adminUrl, '--cluster', 'east', '--for', '60s').code).toBe(
      0,
    );
    await waitFor(async () => !clustersOf(await send()).includes('east'), {
      timeoutMs: 5_000,
      intervalMs: 100,
      what: 'traffic left east',
    });
    expect(cli('drill', 'stop', '--admin', topology.spillway.adminUrl).code).toBe(0);
    await waitFor(async () => clustersOf(await send()) === 'east', {
      timeoutMs: 5_000,
      intervalMs: 100,
      what: 'traffic back after stop',
    });
    expect((await drillStatus()).active?.phase).toBe('ending');

    await waitFor(async () => (await drillStatus()).active === undefined, {
      timeoutMs: 10_000,
      intervalMs: 300,
      what: 'stopped drill finished',
    });
    expect(
      cli('drill', 'start', '--admin', topology.spillway.adminUrl, '--cluster', 'east', '--for', '120s').code,
    ).toBe(0);
    await waitFor(async () => !clustersOf(await send()).includes('east'), {
      timeoutMs: 5_000,
      intervalMs: 100,
      what: 'traffic left east',
    });
    await topology.restartSpillway();
    await waitFor(async () => clustersOf(await send()) === 'east', {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: 'traffic back in east after the restart',
    });
    expect((await drillStatus()).active).toBeUndefined();
    expect((await drillStatus()).outcomes).toEqual([]);
  });
});
