// Declared dependencies from Kubernetes, end to end: a real API server holds Services checkout, ledger and
// web (annotated `spillway.io/calls: checkout.shop`), `spillway serve --kube-clusters` watches it, and a
// real Envoy sidecar of web (node metadata SERVICE) holds only checkout's clusters and calls it. Editing,
// removing and adding the annotation moves the sidecar's configuration along, on the same stream.
import { Backend, EnvoyProcess, sendRequests, startEnvoy, startHttpBackend, stopEverything, waitFor } from '../harness';
import { answeredBy } from '../harness/tally-shares';
import {
  KubeApiServer,
  KubeTarget,
  kubeCall,
  startKubeApiServer,
  stopAllKubeApiServers,
  storeInEtcd,
  writeClustersFile,
} from '../harness/kube-apiserver';
import { SpillwayProcess, startSpillwayProcess } from '../harness/spillway-process';
import { freePort } from '../harness/ports';
import { testOutputDir } from '../harness/output';

jest.setTimeout(90_000);

const CHECKOUT = 'checkout.shop.svc.cluster.local';
const LEDGER = 'ledger.shop.svc.cluster.local';
const SERVICES = '/api/v1/namespaces/shop/services';

function service(name: string, annotations: Record<string, string> = {}): object {
  return { metadata: { name, annotations }, spec: { ports: [{ name: 'http', port: 8080 }] } };
}

/** Backends listen on loopback, which the API server refuses in a slice: stored in etcd (see storeInEtcd). */
function slice(
  name: string,
  port: number,
): { metadata: { name: string; namespace: string; labels: Record<string, string> }; [field: string]: unknown } {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-a`, namespace: 'shop', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
  };
}

describe('spillway.io/calls with a real API server and a real Envoy sidecar', () => {
  const dir = testOutputDir(`scope-kubernetes-${process.pid}`);
  let api: KubeApiServer;
  let target: KubeTarget;
  let spillway: SpillwayProcess;
  let envoy: EnvoyProcess;
  let url: string;
  const backends: Backend[] = [];

  const outboundClusters = async (): Promise<string[]> =>
    (await envoy.dynamicClusterNames()).filter((name) => name.startsWith('outbound|')).sort();

  beforeAll(async () => {
    api = await startKubeApiServer({ name: 'scope-east' });
    target = { url: api.url, token: api.token, caFile: api.caFile };
    await kubeCall(target, 'POST', '/api/v1/namespaces', { metadata: { name: 'shop' } });
    const checkout = await startHttpBackend({ id: 'checkout-1' });
    const ledger = await startHttpBackend({ id: 'ledger-1' });
    backends.push(checkout, ledger);
    await kubeCall(target, 'POST', SERVICES, service('checkout'));
    await storeInEtcd(api, 'endpointslices', slice('checkout', checkout.port));
    await kubeCall(target, 'POST', SERVICES, service('ledger'));
    await storeInEtcd(api, 'endpointslices', slice('ledger', ledger.port));
    await kubeCall(target, 'POST', SERVICES, service('web', { 'spillway.io/calls': 'checkout.shop' }));
    await storeInEtcd(api, 'endpointslices', slice('web', await freePort()));

    const clustersFile = writeClustersFile(dir, api);
    spillway = await startSpillwayProcess({
      name: `scope-kubernetes-${process.pid}`,
      extraArgs: ['--kube-clusters', clustersFile],
    });

    const outboundPort = await freePort();
    envoy = await startEnvoy({
      nodeId: 'sidecar~127.0.0.1~web-1.shop',
      metadata: { CLUSTER_ID: 'east', OUTBOUND_PORT: String(outboundPort), SERVICE: 'web.shop' },
      locality: { region: 'europe-west1', zone: 'europe-west1-b' },
      xds: { host: '127.0.0.1', port: spillway.xdsPort },
      mode: 'delta',
      logDir: dir,
    });
    await envoy.waitReady();
    url = `http://127.0.0.1:${outboundPort}/`;
  }, 120_000);

  afterAll(async () => {
    await envoy?.stop();
    await spillway?.stop();
    await stopAllKubeApiServers();
    await stopEverything();
  });

  test('the sidecar holds only checkout and calls it; ledger is not routed', async () => {
    expect(await outboundClusters()).toEqual([`outbound|8080||${CHECKOUT}`]);
    const calls = await sendRequests({ url, hostHeader: CHECKOUT, count: 10 });
    expect(calls.failures).toBe(0);
    expect(answeredBy(calls)).toEqual(['checkout-1']);
    expect((await sendRequests({ url, hostHeader: LEDGER, count: 2 })).statuses).toEqual({ '404': 2 });
  });

  test('the annotation edited to ledger.shop: the same sidecar now holds ledger instead, without reconnecting', async () => {
    await kubeCall(target, 'PATCH', `${SERVICES}/web`, {
      metadata: { annotations: { 'spillway.io/calls': 'ledger.shop' } },
    });
    await waitFor(
      async () => JSON.stringify(await outboundClusters()) === JSON.stringify([`outbound|8080||${LEDGER}`]),
      { timeoutMs: 20_000, what: 'the sidecar to hold only ledger' },
    );
    const calls = await sendRequests({ url, hostHeader: LEDGER, count: 10 });
    expect(calls.failures).toBe(0);
    expect(answeredBy(calls)).toEqual(['ledger-1']);
    expect(await envoy.stat('control_plane.connected_state')).toBe(1);
  });

  test('the annotation removed, then added again: the same stream gets the whole mesh, then only checkout', async () => {
    const streamOf = async () =>
      (
        await spillway.adminJson<{ clients: { nodeId: string; streamId: number; view: string }[] }>('/debug/clients')
      ).clients.find((c) => c.nodeId === 'sidecar~127.0.0.1~web-1.shop');
    const before = await streamOf();
    await kubeCall(target, 'PATCH', `${SERVICES}/web`, { metadata: { annotations: { 'spillway.io/calls': null } } });
    const all = [`outbound|8080||${CHECKOUT}`, `outbound|8080||${LEDGER}`, 'outbound|8080||web.shop.svc.cluster.local'];
    await waitFor(async () => JSON.stringify(await outboundClusters()) === JSON.stringify(all), {
      timeoutMs: 20_000,
      what: 'the sidecar to hold every service',
    });
    expect((await sendRequests({ url, hostHeader: CHECKOUT, count: 5 })).failures).toBe(0);

    await kubeCall(target, 'PATCH', `${SERVICES}/web`, {
      metadata: { annotations: { 'spillway.io/calls': 'checkout.shop' } },
    });
    await waitFor(
      async () => JSON.stringify(await outboundClusters()) === JSON.stringify([`outbound|8080||${CHECKOUT}`]),
      { timeoutMs: 20_000, what: 'the sidecar to hold only checkout again' },
    );
    expect((await sendRequests({ url, hostHeader: CHECKOUT, count: 5 })).failures).toBe(0);
    const after = await streamOf();
    expect(after?.streamId).toBe(before?.streamId);
    expect(after?.view).toContain('|wl=web.shop.svc.cluster.local');
  });
});
