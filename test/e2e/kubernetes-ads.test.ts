// Kubernetes discovery end to end, judged by what Spillway SERVES: two REAL API servers (east, west),
// the whole serve pipeline (startSpillwayServer with the Kubernetes source as an extra source), and a raw
// ADS client posing as a sidecar in east that reads EDS for checkout. West is not in the clusters file:
// it comes from a remote Secret in east's spillway-system namespace, and its gateway from an annotated
// LoadBalancer Service in west. Nodes give zones to endpoints whose slices name none.
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import { parseClustersText } from '../../src/discovery/kubernetes/clusters-file';
import { ClusterStats } from '../../src/discovery/kubernetes/cluster-watch';
import { KubernetesSource } from '../../src/discovery/kubernetes/kubernetes-source';
import { RunningSpillwayServer, startSpillwayServer } from '../../src/composition-root';
import { ENDPOINT_TYPE } from '../../src/xds/resource-types';
import { waitFor } from '../harness';
import { httpGet } from '../harness/http-get';
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
const SECRETS_NAMESPACE = 'spillway-system';

interface LogLine {
  level: number;
  msg: string;
}

let east: KubeApiServer;
let west: KubeApiServer;
let source: KubernetesSource;
let server: RunningSpillwayServer;
let ads: RawAdsClient;
/** The newest EDS response, summarized. */
let served: string[] = [];
const logs: LogLine[] = [];

function target(api: KubeApiServer): KubeTarget {
  return { url: api.url, token: api.token, caFile: api.caFile };
}

// ---------------------------------------------------------------------------------------------------
// Objects

const SERVICES = (namespace: string) => `/api/v1/namespaces/${namespace}/services`;
const SLICES = (namespace: string) => `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
const SECRETS = `/api/v1/namespaces/${SECRETS_NAMESPACE}/secrets`;

function checkoutService(exported: boolean): object {
  return {
    metadata: { name: 'checkout', annotations: { 'spillway.io/export': String(exported) } },
    spec: { ports: [{ name: 'http', port: 8080 }] },
  };
}

interface SliceEndpoint {
  ip: string;
  ready?: boolean;
  zone?: string;
  node?: string;
}

function sliceEndpoints(endpoints: SliceEndpoint[]): object[] {
  return endpoints.map((endpoint) => ({
    addresses: [endpoint.ip],
    conditions: { ready: endpoint.ready ?? true },
    ...(endpoint.zone ? { zone: endpoint.zone } : {}),
    ...(endpoint.node ? { nodeName: endpoint.node } : {}),
  }));
}

function checkoutSlice(endpoints: SliceEndpoint[]): object {
  return {
    metadata: { name: 'checkout-a', labels: { 'kubernetes.io/service-name': 'checkout' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 18080 }],
    endpoints: sliceEndpoints(endpoints),
  };
}

function node(name: string, zone: string): object {
  return {
    metadata: {
      name,
      labels: { 'topology.kubernetes.io/zone': zone, 'topology.kubernetes.io/region': 'europe-west1' },
    },
  };
}

function remoteSecret(cluster: string, kubeconfig: string | undefined, annotations: Record<string, string>): object {
  return {
    metadata: { name: `spillway-remote-${cluster}`, labels: { 'spillway.io/cluster': cluster }, annotations },
    type: 'Opaque',
    data:
      kubeconfig === undefined
        ? { other: Buffer.from('x').toString('base64') }
        : { kubeconfig: Buffer.from(kubeconfig).toString('base64') },
  };
}

const WEST_PLACE = { 'spillway.io/region': 'europe-west1', 'spillway.io/zone': 'europe-west1-c' };

// ---------------------------------------------------------------------------------------------------
// What the sidecar is served

interface DecodedLocality {
  locality?: { zone?: string; sub_zone?: string };
  priority?: number;
  load_balancing_weight?: { value?: number };
  lb_endpoints?: {
    endpoint?: { address?: { socket_address?: { address?: string; port_value?: number } } };
    load_balancing_weight?: { value?: number };
  }[];
}

/** `P<priority> <cluster>/<zone> <ip>:<port> w<weight>` per endpoint, sorted: easy to read in a failure. */
function summarize(response: RawResponse): string[] {
  const assignment = response.resources.find((resource) => resource.name === EDS_NAME)?.message as
    { endpoints?: DecodedLocality[] } | undefined;
  const lines: string[] = [];
  for (const locality of assignment?.endpoints ?? []) {
    for (const lb of locality.lb_endpoints ?? []) {
      const socket = lb.endpoint?.address?.socket_address;
      lines.push(
        `P${locality.priority ?? 0} ${locality.locality?.sub_zone}/${locality.locality?.zone} ${socket?.address}:${socket?.port_value} w${lb.load_balancing_weight?.value ?? 1}`,
      );
    }
  }
  return lines.sort();
}

/** Reads (and ACKs) EDS pushes until the served endpoints are `expected`. */
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
      continue; // timed out: the loop reports what was served last
    }
    ads.ackSotw(response, undefined, [EDS_NAME]);
    served = summarize(response);
  }
}

function stats(cluster: string): ClusterStats | undefined {
  return source.stats.find((entry) => entry.cluster === cluster);
}

async function metric(name: string, labels: string): Promise<number | undefined> {
  const body = (await httpGet(new URL('/metrics', server.adminUrl).href)).body;
  const line = body.split('\n').find((text) => text.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

// ---------------------------------------------------------------------------------------------------

beforeAll(async () => {
  [east, west] = await Promise.all([
    startKubeApiServer({ name: 'ads-east' }),
    startKubeApiServer({ name: 'ads-west' }),
  ]);
  for (const api of [east, west])
    await kubeCall(target(api), 'POST', '/api/v1/namespaces', { metadata: { name: 'shop' } });
  await kubeCall(target(east), 'POST', '/api/v1/namespaces', { metadata: { name: SECRETS_NAMESPACE } });

  // East: two endpoints; the second has no zone but runs on Node e1 in zone europe-west1-x.
  const eastApi = target(east);
  await kubeCall(eastApi, 'POST', '/api/v1/nodes', node('e1', 'europe-west1-x'));
  await kubeCall(eastApi, 'POST', SERVICES('shop'), checkoutService(true));
  await kubeCall(
    eastApi,
    'POST',
    SLICES('shop'),
    checkoutSlice([
      { ip: '10.1.0.1', zone: 'europe-west1-b' },
      { ip: '10.1.0.2', node: 'e1' },
    ]),
  );

  // West: three ready endpoints and its east-west gateway, a LoadBalancer Service annotated as such.
  const westApi = target(west);
  await kubeCall(westApi, 'POST', '/api/v1/nodes', node('w1', 'europe-west1-c'));
  await kubeCall(westApi, 'POST', SERVICES('shop'), checkoutService(true));
  await kubeCall(
    westApi,
    'POST',
    SLICES('shop'),
    checkoutSlice([{ ip: '10.2.0.1', node: 'w1' }, { ip: '10.2.0.2' }, { ip: '10.2.0.3' }]),
  );
  await kubeCall(westApi, 'POST', SERVICES('shop'), {
    metadata: { name: 'eastwest-gateway', annotations: { 'spillway.io/gateway': 'true' } },
    spec: {
      type: 'LoadBalancer',
      ports: [
        { name: 'status', port: 15021 },
        { name: 'tls', port: 15443 },
      ],
    },
  });
  await kubeCall(westApi, 'PATCH', `${SERVICES('shop')}/eastwest-gateway/status`, {
    status: { loadBalancer: { ingress: [{ ip: '127.0.0.3' }] } },
  });

  // West joins through a remote Secret in east; a Secret without a kubeconfig is reported and ignored.
  await kubeCall(
    eastApi,
    'POST',
    SECRETS,
    remoteSecret('west', fs.readFileSync(west.kubeconfigPath, 'utf8'), WEST_PLACE),
  );
  await kubeCall(eastApi, 'POST', SECRETS, remoteSecret('broken', undefined, WEST_PLACE));

  const dir = testOutputDir('kubernetes-ads-e2e');
  const parsed = parseClustersText(
    [
      `remoteSecrets: { cluster: east, namespace: ${SECRETS_NAMESPACE} }`,
      'clusters:',
      '  - name: east',
      '    region: europe-west1',
      '    zone: europe-west1-b',
      '    gateway: 127.0.0.2:15443',
      `    kubeconfig: ${east.kubeconfigPath}`,
      '',
    ].join('\n'),
    dir,
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const logFile = path.join(dir, 'spillway.log');
  fs.writeFileSync(logFile, '');
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        logs.push(JSON.parse(line) as LogLine);
        fs.appendFileSync(logFile, line);
      },
    },
  );
  server = await startSpillwayServer({
    logger,
    xds: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    debounce: { quietMs: 10, maxDelayMs: 50 },
    extraSources: [
      (store, sourceLogger) => {
        source = new KubernetesSource({
          clusters: parsed.clusters,
          ...(parsed.remoteSecrets ? { remoteSecrets: parsed.remoteSecrets } : {}),
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
  await waitFor(async () => source.allSynced() && stats('west')?.synced === true, {
    timeoutMs: WAIT_MS,
    what: 'east, the remote Secrets and west to sync',
  });
  ads = new RawAdsClient(`127.0.0.1:${server.xdsPort}`, 'sotw');
  ads.sendSotw({ typeUrl: ENDPOINT_TYPE, node: SIDECAR, resourceNames: [EDS_NAME] });
}, 120_000);

afterAll(async () => {
  ads?.close();
  await server?.stop(0);
  await stopAllKubeApiServers();
});

describe('Kubernetes discovery, as served over ADS', () => {
  test('east endpoints at priority 0 (zone from the Node when the slice has none), west gateway from its Service at priority 1, weight = ready count', async () => {
    await untilServed(
      [
        'P0 east/europe-west1-b 10.1.0.1:18080 w1',
        'P0 east/europe-west1-x 10.1.0.2:18080 w1',
        'P1 west/europe-west1-c 127.0.0.3:15443 w3',
      ],
      'east endpoints and the west gateway',
    );
    expect(server.store.current().clusters.get('west')).toEqual({
      name: 'west',
      region: 'europe-west1',
      zone: 'europe-west1-c',
      gateway: { address: '127.0.0.3', port: 15443 },
    });
    const westEndpoints = server.store
      .current()
      .services.get('checkout.shop.svc.cluster.local')
      ?.endpoints.filter((endpoint) => endpoint.cluster === 'west');
    expect(westEndpoints?.find((endpoint) => endpoint.address === '10.2.0.1')?.zone).toBe('europe-west1-c'); // from Node w1
    expect(
      logs.some(
        (line) =>
          line.level >= 50 &&
          line.msg.includes('Secret spillway-system/spillway-remote-broken: has no data key "kubeconfig"'),
      ),
    ).toBe(true);
    expect(stats('broken')).toBeUndefined();
    expect(source.remoteSecretsStats).toEqual({ synced: true, clusters: 1, rejected: 1 });
  });

  test('east scaled to zero: the west gateway moves up to priority 0; readiness changes its weight; unexporting removes it', async () => {
    await kubeCall(target(east), 'PATCH', `${SLICES('shop')}/checkout-a`, { endpoints: [] });
    await untilServed(['P0 west/europe-west1-c 127.0.0.3:15443 w3'], 'only the west gateway at priority 0');

    await kubeCall(target(west), 'PATCH', `${SLICES('shop')}/checkout-a`, {
      endpoints: sliceEndpoints([
        { ip: '10.2.0.1', node: 'w1' },
        { ip: '10.2.0.2', ready: false },
        { ip: '10.2.0.3', ready: false },
      ]),
    });
    await untilServed(
      ['P0 west/europe-west1-c 127.0.0.3:15443 w1'],
      'the gateway weighted by the one ready west endpoint',
    );

    await kubeCall(target(west), 'PATCH', `${SERVICES('shop')}/checkout`, {
      metadata: { annotations: { 'spillway.io/export': 'false' } },
    });
    await untilServed([], 'nothing: west no longer exports checkout');

    await kubeCall(target(west), 'PATCH', `${SERVICES('shop')}/checkout`, {
      metadata: { annotations: { 'spillway.io/export': 'true' } },
    });
    await kubeCall(target(east), 'PATCH', `${SLICES('shop')}/checkout-a`, {
      endpoints: sliceEndpoints([{ ip: '10.1.0.1', zone: 'europe-west1-b' }]),
    });
    await untilServed(
      ['P0 east/europe-west1-b 10.1.0.1:18080 w1', 'P1 west/europe-west1-c 127.0.0.3:15443 w1'],
      'east back, west exported again',
    );
  });

  test('west API server down: west stays served, marked stale, staleness grows; after the restart a change converges', async () => {
    await west.stopApiServer();
    await waitFor(async () => stats('west')?.stale === true, { timeoutMs: WAIT_MS, what: 'west to be marked stale' });
    const down = stats('west') as ClusterStats;
    expect(down).toMatchObject({ synced: true, connected: false, stale: true });
    expect(down.staleSinceMs).toBe(down.lastSyncAtMs);
    const firstStaleness = (await metric('spillway_source_staleness_seconds', 'source="kubernetes/west"')) as number;
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const laterStaleness = (await metric('spillway_source_staleness_seconds', 'source="kubernetes/west"')) as number;
    expect(laterStaleness).toBeGreaterThan(firstStaleness + 1);
    expect(stats('east')?.stale).toBe(false);
    await ads.expectNothing(300); // nothing withdrawn while west is unreachable
    expect(served).toEqual(['P0 east/europe-west1-b 10.1.0.1:18080 w1', 'P1 west/europe-west1-c 127.0.0.3:15443 w1']);

    await west.startApiServer();
    await waitFor(async () => stats('west')?.connected === true, { timeoutMs: WAIT_MS, what: 'west to reconnect' });
    expect(stats('west')).toMatchObject({ stale: false });
    expect(stats('west')?.staleSinceMs).toBeUndefined();
    await kubeCall(target(west), 'PATCH', `${SLICES('shop')}/checkout-a`, {
      endpoints: sliceEndpoints([{ ip: '10.2.0.1' }, { ip: '10.2.0.2' }]),
    });
    await untilServed(
      ['P0 east/europe-west1-b 10.1.0.1:18080 w1', 'P1 west/europe-west1-c 127.0.0.3:15443 w2'],
      'the change made after the restart',
    );
    expect(await metric('spillway_source_staleness_seconds', 'source="kubernetes/west"')).toBeLessThan(1);
  });

  test('the remote Secret: a changed gateway annotation restarts the watch; deleting the Secret removes west everywhere', async () => {
    await kubeCall(target(east), 'PATCH', `${SECRETS}/spillway-remote-west`, {
      metadata: { annotations: { 'spillway.io/gateway': '127.0.0.4:15443' } },
    });
    await untilServed(
      ['P0 east/europe-west1-b 10.1.0.1:18080 w1', 'P1 west/europe-west1-c 127.0.0.4:15443 w2'],
      'the gateway from the Secret (it wins over the Service)',
    );

    await kubeCall(target(east), 'DELETE', `${SECRETS}/spillway-remote-west`);
    await untilServed(['P0 east/europe-west1-b 10.1.0.1:18080 w1'], 'east only: west is gone');
    expect(server.store.current().clusters.has('west')).toBe(false);
    expect(stats('west')).toBeUndefined();
    expect(
      server.store
        .current()
        .services.get('checkout.shop.svc.cluster.local')
        ?.endpoints.map((endpoint) => endpoint.cluster),
    ).toEqual(['east']);
    expect(await metric('spillway_source_staleness_seconds', 'source="kubernetes/west"')).toBeUndefined();
  });
});
