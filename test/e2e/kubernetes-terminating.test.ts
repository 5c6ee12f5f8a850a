// Terminating endpoints through the whole serve pipeline, against two REAL API servers: EndpointSlices are
// written with the `ready`, `serving` and `terminating` conditions a kubelet and the EndpointSlice
// controller set during a rolling update or a drain, and the test reads what a sidecar in east is served
// (EDS priorities). Kubernetes' rule, per cluster: serving-and-terminating endpoints are used only when
// no ready one exists, so a cluster whose pods are all draining keeps its traffic instead of spilling.
import * as fs from 'fs';
import pino from 'pino';
import { parseClustersText } from '../../src/discovery/kubernetes/clusters-file';
import { KubernetesSource } from '../../src/discovery/kubernetes/kubernetes-source';
import { RunningSpillwayServer, startSpillwayServer } from '../../src/composition-root';
import { ENDPOINT_TYPE } from '../../src/xds/resource-types';
import { waitFor } from '../harness';
import {
  KubeApiServer,
  KubeTarget,
  kubeCall,
  startKubeApiServer,
  stopAllKubeApiServers,
} from '../harness/kube-apiserver';
import { testOutputDir } from '../harness/output';
import { RawAdsClient, RawNode, RawResponse } from '../harness/raw-ads-client';

jest.setTimeout(60_000);

const WAIT_MS = 20_000;
const TIMING = {
  watchTimeoutMinSeconds: 5,
  watchTimeoutMaxSeconds: 8,
  backoffMinMs: 200,
  backoffMaxMs: 1_000,
  absentRecheckMs: 2_000,
};
const EDS_NAME = 'outbound|8080||checkout.shop.svc.cluster.local';
const SIDECAR: RawNode = {
  id: 'sidecar~10.1.0.50~checkout-client.shop~shop.svc.cluster.local',
  metadata: { CLUSTER_ID: 'east' },
};
const SLICES = '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices';

interface Conditions {
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}
const READY: Conditions = { ready: true, serving: true, terminating: false };
const DRAINING: Conditions = { ready: false, serving: true, terminating: true };
const GONE: Conditions = { ready: false, serving: false, terminating: true };

let east: KubeApiServer;
let west: KubeApiServer;
let source: KubernetesSource;
let server: RunningSpillwayServer;
let ads: RawAdsClient;
let served: string[] = [];

const target = (api: KubeApiServer): KubeTarget => ({ url: api.url, token: api.token, caFile: api.caFile });

function sliceEndpoints(endpoints: [string, Conditions][]): object[] {
  return endpoints.map(([ip, conditions]) => ({ addresses: [ip], conditions }));
}

async function setSlice(api: KubeApiServer, endpoints: [string, Conditions][]): Promise<void> {
  await kubeCall(target(api), 'PATCH', `${SLICES}/checkout-a`, { endpoints: sliceEndpoints(endpoints) });
}

interface DecodedLocality {
  locality?: { zone?: string; sub_zone?: string };
  priority?: number;
  lb_endpoints?: {
    endpoint?: { address?: { socket_address?: { address?: string; port_value?: number } } };
    load_balancing_weight?: { value?: number };
  }[];
}

/** `P<priority> <cluster> <ip>:<port> w<weight>` per endpoint, sorted. */
function summarize(response: RawResponse): string[] {
  const assignment = response.resources.find((resource) => resource.name === EDS_NAME)?.message as
    { endpoints?: DecodedLocality[] } | undefined;
  const lines: string[] = [];
  for (const locality of assignment?.endpoints ?? []) {
    for (const lb of locality.lb_endpoints ?? []) {
      const socket = lb.endpoint?.address?.socket_address;
      lines.push(
        `P${locality.priority ?? 0} ${locality.locality?.sub_zone} ${socket?.address}:${socket?.port_value} w${lb.load_balancing_weight?.value ?? 1}`,
      );
    }
  }
  return lines.sort();
}

async function untilServed(expected: string[], what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (JSON.stringify(served) !== JSON.stringify(expected)) {
    const left = deadline - Date.now();
    if (left <= 0)
      throw new Error(
        `EDS never served ${what}:\n  want ${JSON.stringify(expected)}\n  got  ${JSON.stringify(served)}`,
      );
    let response: RawResponse;
    try {
      response = await ads.next(left, ENDPOINT_TYPE);
    } catch {
      continue;
    }
    ads.ackSotw(response, undefined, [EDS_NAME]);
    served = summarize(response);
  }
}

beforeAll(async () => {
  [east, west] = await Promise.all([
    startKubeApiServer({ name: 'terminating-east' }),
    startKubeApiServer({ name: 'terminating-west' }),
  ]);
  for (const api of [east, west]) {
    await kubeCall(target(api), 'POST', '/api/v1/namespaces', { metadata: { name: 'shop' } });
    await kubeCall(target(api), 'POST', '/api/v1/namespaces/shop/services', {
      metadata: { name: 'checkout', annotations: { 'spillway.io/export': 'true' } },
      spec: { ports: [{ name: 'http', port: 8080 }] },
    });
    await kubeCall(target(api), 'POST', SLICES, {
      metadata: { name: 'checkout-a', labels: { 'kubernetes.io/service-name': 'checkout' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 18080 }],
      endpoints: [],
    });
  }
  await setSlice(east, [
    ['10.1.0.1', READY],
    ['10.1.0.2', READY],
  ]);
  await setSlice(west, [['10.2.0.1', READY]]);

  const dir = testOutputDir('kubernetes-terminating-e2e');
  const parsed = parseClustersText(
    [
      'clusters:',
      `  - { name: east, region: europe-west1, zone: europe-west1-b, gateway: "127.0.0.2:15443", kubeconfig: ${east.kubeconfigPath} }`,
      `  - { name: west, region: europe-west1, zone: europe-west1-c, gateway: "127.0.0.3:15443", kubeconfig: ${west.kubeconfigPath} }`,
      '',
    ].join('\n'),
    dir,
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const logFile = `${dir}/spillway.log`;
  fs.writeFileSync(logFile, '');
  const logger = pino({ level: 'debug' }, { write: (line: string) => fs.appendFileSync(logFile, line) });
  server = await startSpillwayServer({
    logger,
    xds: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    debounce: { quietMs: 10, maxDelayMs: 50 },
    extraSources: [
      (store, sourceLogger) => {
        source = new KubernetesSource({
          clusters: parsed.clusters,
          store,
          logger: sourceLogger,
          timing: TIMING,
          rebuildDelayMs: 20,
          accessRetryMs: 300,
        });
        source.start();
        return { statuses: () => source.sourceStatuses(), synced: () => source.allSynced(), stop: () => source.stop() };
      },
    ],
  });
  await waitFor(async () => source.allSynced(), { timeoutMs: WAIT_MS, what: 'east and west to sync' });
  ads = new RawAdsClient(`127.0.0.1:${server.xdsPort}`, 'sotw');
  ads.sendSotw({ typeUrl: ENDPOINT_TYPE, node: SIDECAR, resourceNames: [EDS_NAME] });
}, 120_000);

afterAll(async () => {
  ads?.close();
  await server?.stop(0);
  await stopAllKubeApiServers();
});

describe('terminating endpoints, as served over ADS', () => {
  test('every east pod draining (terminating, still serving): east keeps its traffic at priority 0, nothing spills', async () => {
    await untilServed(
      ['P0 east 10.1.0.1:18080 w1', 'P0 east 10.1.0.2:18080 w1', 'P1 west 127.0.0.3:15443 w1'],
      'east ready, west behind its gateway',
    );
    await setSlice(east, [
      ['10.1.0.1', DRAINING],
      ['10.1.0.2', DRAINING],
    ]);
    await untilServed(
      ['P0 east 10.1.0.1:18080 w1', 'P0 east 10.1.0.2:18080 w1', 'P1 west 127.0.0.3:15443 w1'],
      'the draining east pods still at priority 0',
    );
  });

  test('a new ready pod takes over from the draining ones at once', async () => {
    await setSlice(east, [
      ['10.1.0.1', DRAINING],
      ['10.1.0.2', DRAINING],
      ['10.1.0.3', READY],
    ]);
    await untilServed(['P0 east 10.1.0.3:18080 w1', 'P1 west 127.0.0.3:15443 w1'], 'only the ready east pod');
  });

  test('pods that stopped serving spill to west; a draining pod is used again only while nothing is ready', async () => {
    await setSlice(east, [
      ['10.1.0.1', GONE],
      ['10.1.0.2', GONE],
    ]);
    await untilServed(['P0 west 127.0.0.3:15443 w1'], 'west only: east stopped serving');
    await setSlice(east, [
      ['10.1.0.1', GONE],
      ['10.1.0.2', DRAINING],
    ]);
    await untilServed(['P0 east 10.1.0.2:18080 w1', 'P1 west 127.0.0.3:15443 w1'], 'the one still-serving east pod');
  });

  test("the remote cluster's draining pods still count for its gateway's weight", async () => {
    await setSlice(west, [
      ['10.2.0.1', DRAINING],
      ['10.2.0.2', DRAINING],
    ]);
    await untilServed(
      ['P0 east 10.1.0.2:18080 w1', 'P1 west 127.0.0.3:15443 w2'],
      'west gateway weighted by its 2 serving pods',
    );
    await setSlice(west, [
      ['10.2.0.1', DRAINING],
      ['10.2.0.2', DRAINING],
      ['10.2.0.3', READY],
    ]);
    await untilServed(
      ['P0 east 10.1.0.2:18080 w1', 'P1 west 127.0.0.3:15443 w1'],
      'west gateway weighted by its 1 ready pod',
    );
  });
});
