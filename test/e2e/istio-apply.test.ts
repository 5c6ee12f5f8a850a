// `spillway serve --istio-apply` against a real API server holding Istio's real EnvoyFilter CRD: Spillway
// keeps one EnvoyFilter per exported Service in the Istio namespace, owned by label: created at start,
// put back after a hand edit or a deletion, created when a Service gets exported, deleted when it goes;
// stale owned objects are removed, objects it does not own are never touched.
import { waitFor } from '../harness';
import { istioCrd } from '../harness/istiod';
import {
  KubeApiServer,
  KubeTarget,
  kubeCall,
  kubeRequest,
  startKubeApiServer,
  stopAllKubeApiServers,
  storeInEtcd,
  writeClustersFile,
} from '../harness/kube-apiserver';
import { SpillwayProcess, startSpillwayProcess } from '../harness/spillway-process';
import { testOutputDir } from '../harness/output';

jest.setTimeout(90_000);

const SERVICES = '/api/v1/namespaces/shop/services';
const FILTERS = '/apis/networking.istio.io/v1alpha3/namespaces/istio-system/envoyfilters';
const OWNED = { 'app.kubernetes.io/managed-by': 'spillway' };
const XDS_ADDRESS = '10.96.0.15:15010';
const WAIT_MS = 20_000;

interface EnvoyFilterObject {
  metadata: { name: string; resourceVersion: string; labels?: Record<string, string> };
  spec: {
    configPatches: {
      applyTo: string;
      match: { cluster?: { name?: string } };
      patch: { operation: string; value: Record<string, unknown> };
    }[];
  };
}

function service(name: string, annotations: Record<string, string> = {}): object {
  return { metadata: { name, annotations }, spec: { ports: [{ name: 'http', port: 8080 }] } };
}

function slice(name: string): {
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  [field: string]: unknown;
} {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-a`, namespace: 'shop', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 9080 }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
  };
}

function userFilter(name: string, labels: Record<string, string>): object {
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: { name, namespace: 'istio-system', labels },
    spec: {
      configPatches: [
        {
          applyTo: 'CLUSTER',
          match: { context: 'SIDECAR_OUTBOUND' },
          patch: { operation: 'MERGE', value: { connect_timeout: '2s' } },
        },
      ],
    },
  };
}

describe('serve --istio-apply keeps EnvoyFilters applied (real API server, Istio CRD)', () => {
  const dir = testOutputDir(`istio-apply-${process.pid}`);
  let api: KubeApiServer;
  let target: KubeTarget;
  let spillway: SpillwayProcess;

  const filters = async (): Promise<EnvoyFilterObject[]> =>
    ((await kubeCall(target, 'GET', FILTERS)) as { items: EnvoyFilterObject[] }).items;
  const names = async (): Promise<string[]> => (await filters()).map((f) => f.metadata.name).sort();
  const filter = async (name: string): Promise<EnvoyFilterObject | undefined> =>
    (await filters()).find((f) => f.metadata.name === name);
  const namesBecome = (expected: string[], what: string) =>
    waitFor(async () => JSON.stringify(await names()) === JSON.stringify(expected), {
      timeoutMs: WAIT_MS,
      what: `${what} (want ${expected.join(', ')})`,
    });

  beforeAll(async () => {
    api = await startKubeApiServer({ name: 'istio-apply' });
    target = { url: api.url, token: api.token, caFile: api.caFile };
    await kubeCall(
      target,
      'POST',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      istioCrd('envoyfilters.networking.istio.io'),
    );
    await waitFor(async () => (await kubeRequest(target, 'GET', FILTERS)).status === 200 || undefined, {
      timeoutMs: WAIT_MS,
      what: 'the EnvoyFilter CRD to be served',
    });
    for (const namespace of ['shop', 'istio-system'])
      await kubeCall(target, 'POST', '/api/v1/namespaces', { metadata: { name: namespace } });
    await kubeCall(target, 'POST', SERVICES, service('checkout', { 'spillway.io/export': 'true' }));
    await storeInEtcd(api, 'endpointslices', slice('checkout'));
    await kubeCall(target, 'POST', SERVICES, service('ledger'));
    await storeInEtcd(api, 'endpointslices', slice('ledger'));
    // Someone else's EnvoyFilter, and a stale one of Spillway's (its service is long gone).
    await kubeCall(target, 'POST', FILTERS, userFilter('user-timeouts', {}));
    await kubeCall(target, 'POST', FILTERS, userFilter('spillway-old-shop', OWNED));

    const clustersFile = writeClustersFile(dir, api);
    spillway = await startSpillwayProcess({
      name: `istio-apply-${process.pid}`,
      extraArgs: ['--kube-clusters', clustersFile, '--istio-apply', XDS_ADDRESS, '--istio-resync-ms', '1000'],
    });
  }, 120_000);

  afterAll(async () => {
    await spillway?.stop();
    await stopAllKubeApiServers();
  });

  test("one EnvoyFilter per exported Service, accepted by Istio's schema; stale owned ones deleted, others untouched", async () => {
    await namesBecome(
      ['spillway-checkout-shop', 'user-timeouts'],
      'the exported service to get its EnvoyFilter and the stale one to go',
    );
    const checkout = await filter('spillway-checkout-shop');
    expect(checkout?.metadata.labels).toEqual(OWNED);
    const merge = checkout?.spec.configPatches.find(
      (p) => p.match.cluster?.name === 'outbound|8080||checkout.shop.svc.cluster.local',
    );
    expect(merge?.patch.operation).toBe('MERGE');
    expect(JSON.stringify(merge?.patch.value)).toContain(`"target_uri":"${XDS_ADDRESS}"`);
    expect((await filter('user-timeouts'))?.spec.configPatches[0]?.patch.value).toEqual({ connect_timeout: '2s' });
  });

  test('a hand edit is put back, a deleted EnvoyFilter is created again', async () => {
    const before = await filter('spillway-checkout-shop');
    if (!before) throw new Error('spillway-checkout-shop missing');
    await kubeCall(target, 'PUT', `${FILTERS}/spillway-checkout-shop`, { ...before, spec: { configPatches: [] } });
    await waitFor(
      async () => JSON.stringify((await filter('spillway-checkout-shop'))?.spec) === JSON.stringify(before.spec),
      { timeoutMs: WAIT_MS, what: 'the edited EnvoyFilter to be put back' },
    );

    await kubeCall(target, 'DELETE', `${FILTERS}/spillway-checkout-shop`);
    await waitFor(
      async () => JSON.stringify((await filter('spillway-checkout-shop'))?.spec) === JSON.stringify(before.spec),
      { timeoutMs: WAIT_MS, what: 'the deleted EnvoyFilter to come back' },
    );
  });

  test('exporting a Service adds its EnvoyFilter; deleting the Service removes it', async () => {
    await kubeCall(target, 'PATCH', `${SERVICES}/ledger`, {
      metadata: { annotations: { 'spillway.io/export': 'true' } },
    });
    await namesBecome(
      ['spillway-checkout-shop', 'spillway-ledger-shop', 'user-timeouts'],
      'ledger to get its EnvoyFilter once exported',
    );
    await kubeCall(target, 'DELETE', `${SERVICES}/ledger`);
    await namesBecome(['spillway-checkout-shop', 'user-timeouts'], "ledger's EnvoyFilter to go with the Service");
    // Spillway's log says what it changed.
    expect(spillway.logTail(200_000)).toContain('EnvoyFilters in cluster east brought up to date');
  });
});
