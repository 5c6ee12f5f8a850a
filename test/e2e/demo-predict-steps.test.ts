// The demo's what-if and drill steps (src/demo/predict-steps.ts) against the real thing: a real
// `spillway serve`, its admin API, a real Envoy sidecar in east and gateways in west and south, backends
// with the demo's replica counts (east 2, west 2, south 1). Each step runs as the story runs it: act, wait
// until the traffic shows it, then the counted sample decides.
import { Backend, EnvoyProcess, sendRequests, sleep, startHttpBackend, stopEverything } from '../harness';
import {
  ClusterSpec,
  MeshDocument,
  checkoutService,
  clustersYaml,
  startSidecar,
  startTopology,
  Topology,
} from '../harness/topology';
import { adminPredictDriver, predictSteps } from '../../src/demo/predict-steps';
import { StoryCast, StoryDriver, StoryTimings } from '../../src/demo/story';
import { Answer, Sample, tallyAnswers } from '../../src/demo/story-sample';

const HOST = 'checkout.shop.svc.cluster.local';
const CLUSTERS: ClusterSpec[] = [
  { name: 'east', region: 'europe-west1', zone: 'europe-west1-b', gatewayAddress: '127.0.0.2' },
  { name: 'west', region: 'europe-west1', zone: 'europe-west1-c', gatewayAddress: '127.0.0.3' },
  { name: 'south', region: 'us-east1', zone: 'us-east1-a', gatewayAddress: '127.0.0.4' },
];
const TIMINGS: StoryTimings = {
  settleTimeoutMs: 10_000,
  recoverTimeoutMs: 20_000,
  probeIntervalMs: 200,
  liveLineIntervalMs: 2_000,
};
const CAST: StoryCast = {
  client: 'east',
  remotes: [
    { key: 'west', weight: 2 },
    { key: 'south', weight: 1 },
  ],
  stable: 'v1',
  canary: 'v2',
  canaryWeight: 0,
  canaryHeader: { 'x-canary': 'true' },
};

function meshDocument(b: Record<string, Backend[]>, gatewayPort: number): MeshDocument {
  const endpoints = Object.entries(b).flatMap(([cluster, list]) =>
    list.map((x) => ({ cluster, address: '127.0.0.1', port: x.port, labels: { version: 'v1' } })),
  );
  return {
    clusters: clustersYaml(CLUSTERS, gatewayPort),
    services: [
      checkoutService(endpoints, {
        canary: { stable: 'v1', canary: 'v2', weight: 0, header: { name: 'x-canary', exact: 'true' } },
      }),
    ],
  };
}

describe('demo what-if and drill steps (real Envoy, real admin API)', () => {
  let topology: Topology;
  let sidecar: { envoy: EnvoyProcess; url: string };
  const lines: string[] = [];

  beforeAll(async () => {
    const start = (ids: string[]) => Promise.all(ids.map((id) => startHttpBackend({ id })));
    const backends = {
      east: await start(['east-1', 'east-2']),
      west: await start(['west-1', 'west-2']),
      south: await start(['south-1']),
    };
    topology = await startTopology({
      name: 'demo-predict',
      clusters: CLUSTERS,
      gatewaysFor: ['west', 'south'],
      mesh: (port) => meshDocument(backends, port),
    });
    sidecar = await startSidecar(topology, CLUSTERS[0], 'sidecar-east-demo-predict');
  });
  afterAll(async () => {
    await topology?.stop();
    await stopEverything();
  });

  test('what-if predicts 2:1, the drill moves real traffic so, and it comes back at the deadline with 0 failed', async () => {
    const driver: StoryDriver = {
      async send(count: number): Promise<Sample> {
        const tally = await sendRequests({ url: sidecar.url, hostHeader: HOST, count, concurrency: 2 });
        const answers: Answer[] = Object.entries(tally.byId).flatMap(([id, n]) =>
          Array.from({ length: n }, () => ({
            identity: { cluster: id.split('-')[0], service: 'checkout.shop', version: 'v1', port: 0 },
          })),
        );
        for (let i = 0; i < tally.failures; i++) answers.push({ failure: 'failed' });
        return tallyAnswers(answers);
      },
      kill: async () => [],
      restart: async () => [],
      print: (line) => lines.push(line),
      stopping: () => false,
    };
    const steps = predictSteps(CAST, driver, adminPredictDriver(topology.spillway.adminUrl), TIMINGS);
    expect(steps.map((s) => s.title)).toEqual([
      'what if east fails? (spillway what-if --fail east)',
      'drill: east/checkout.shop served as not ready for 10s (spillway drill start)',
      'the drill ends at its deadline',
    ]);
    for (const step of steps) {
      if (step.act) lines.push(await step.act());
      if (step.settle) {
        const started = Date.now();
        for (;;) {
          const reading = await step.settle.probe();
          if (reading.ok) break;
          if (Date.now() - started > step.settle.timeoutMs)
            throw new Error(`${step.settle.what}: not seen (last ${reading.counter})`);
          await sleep(TIMINGS.probeIntervalMs);
        }
      }
      const reading = await step.measure();
      lines.push(reading.counter);
      expect({ step: step.title, ok: reading.ok, counter: reading.counter }).toEqual({
        step: step.title,
        ok: true,
        counter: reading.counter,
      });
    }
    console.log(lines.join('\n'));
    expect(lines[0]).toMatch(/^predicted for east's v1 traffic: west 67% south 33%/);
    expect(lines[lines.length - 1]).toMatch(
      /^east 100% \| west 0% \| south 0% of 40 requests; outcome: \d+ requests reported, 0 failed; expected west 67% south 33%, measured west 6\d% south 3\d%$/,
    );
  });
});
