// The mTLS inbound listener with real Envoys and real certificates: it names no pod, so a workload sidecar
// that connected before its endpoint existed gets it from an endpoint-only change (mesh file, and
// Kubernetes against a real API server); the hop to the app goes to the address the caller connected to,
// whatever headers the caller sends; and pods of one service whose app ports differ are each reached on
// their own port.
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import pino from 'pino';
import { parseClustersText } from '../../src/discovery/kubernetes/clusters-file';
import { KubernetesSource } from '../../src/discovery/kubernetes/kubernetes-source';
import { RunningSpillwayServer, startSpillwayServer } from '../../src/composition-root';
import { LISTENER_TYPE } from '../../src/xds/resource-types';
import { sniFor } from '../../src/xds/translate/mtls';
import {
  Backend,
  EnvoyProcess,
  freePort,
  sendRequests,
  startEnvoy,
  startHttpBackend,
  stopEverything,
  waitFor,
} from '../harness';
import { Ca, CertFiles, createCa, issue } from '../harness/certs';
import {
  KubeApiServer,
  KubeTarget,
  kubeCall,
  startKubeApiServer,
  stopAllKubeApiServers,
} from '../harness/kube-apiserver';
import { testOutputDir } from '../harness/output';
import { RawAdsClient, RawNode, RawResponse } from '../harness/raw-ads-client';
import { ClusterSpec, MeshDocument, Topology, clustersYaml, startTopology } from '../harness/topology';
import { BACKEND_ID_HEADER } from '../fixtures/backend-protocol';

jest.setTimeout(60_000);

const DIR = testOutputDir('mtls-inbound');
const EAST: ClusterSpec = { name: 'east', region: 'europe-west1', zone: 'europe-west1-b', gatewayAddress: '127.0.0.2' };
const CHECKOUT = 'checkout.shop.svc.cluster.local';
const PAYMENTS = 'payments.shop.svc.cluster.local';
const LEDGER = 'ledger.shop.svc.cluster.local';
/** Two "pods" on their own loopback addresses: their apps and sidecars bind there. */
const POD_1 = '127.0.0.5';
const POD_2 = '127.0.0.6';
const WAIT = { timeoutMs: 20_000, intervalMs: 300 };

function tlsDir(name: string, files: CertFiles, ca: Ca): string {
  const dir = path.join(DIR, 'proxies', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(files.cert, path.join(dir, 'cert.pem'));
  fs.copyFileSync(files.key, path.join(dir, 'key.pem'));
  fs.copyFileSync(ca.cert, path.join(dir, 'ca.pem'));
  return dir;
}

/** One HTTP/1.1 request over mTLS straight to an inbound listener; resolves with the answering backend id. */
function directRequest(
  port: number,
  servername: string,
  files: CertFiles,
  ca: Ca,
  headers: Record<string, string>,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        servername,
        cert: fs.readFileSync(files.cert),
        key: fs.readFileSync(files.key),
        ca: fs.readFileSync(ca.cert),
        rejectUnauthorized: false,
        agent: false,
        headers,
        timeout: 3_000,
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve(`${response.statusCode} ${String(response.headers[BACKEND_ID_HEADER] ?? '')}`),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
    request.end();
  });
}

describe('the mTLS inbound listener names no pod (real Envoy)', () => {
  let meshCa: Ca;
  let topology: Topology;
  let checkoutApp: Backend;
  let decoy: Backend;
  let payments1: Backend;
  let payments2: Backend;
  let ledgerApp: Backend;
  let checkoutSidecarPort: number;
  let podsSidecarPort: number;
  let checkoutSidecar: EnvoyProcess;
  let callerUrl: string;
  let callerFiles: CertFiles;

  const mesh = (gatewayPort: number, checkoutListed: boolean): MeshDocument => ({
    clusters: clustersYaml([EAST], gatewayPort),
    mtls: true,
    services: [
      {
        name: 'checkout',
        namespace: 'shop',
        ports: [{ name: 'http', port: 8080 }],
        endpoints: checkoutListed
          ? [{ cluster: 'east', address: '127.0.0.1', port: checkoutApp.port, sidecarPort: checkoutSidecarPort }]
          : [],
      },
      {
        // Two pods on the same sidecar port whose apps listen on different ports.
        name: 'payments',
        namespace: 'shop',
        ports: [{ name: 'http', port: 8080 }],
        endpoints: [
          { cluster: 'east', address: POD_1, port: payments1.port, sidecarPort: podsSidecarPort },
          { cluster: 'east', address: POD_2, port: payments2.port, sidecarPort: podsSidecarPort },
        ],
      },
      {
        // A second service in POD_1: its chain must still be offered at an address that has chains of its own.
        name: 'ledger',
        namespace: 'shop',
        ports: [{ name: 'http', port: 8080 }],
        endpoints: [{ cluster: 'east', address: POD_1, port: ledgerApp.port, sidecarPort: podsSidecarPort }],
      },
    ],
  });

  async function sidecar(
    nodeId: string,
    dir: string,
    inbound?: { port: number; address: string },
  ): Promise<{ envoy: EnvoyProcess; url: string }> {
    const outboundPort = await freePort();
    const metadata: Record<string, string> = { CLUSTER_ID: 'east', OUTBOUND_PORT: String(outboundPort), TLS_DIR: dir };
    // No INSTANCE_IP: the inbound listener does not need the pod's address.
    if (inbound) Object.assign(metadata, { INBOUND_PORT: String(inbound.port), INBOUND_ADDRESS: inbound.address });
    const envoy = await startEnvoy({
      nodeId,
      metadata,
      xds: { host: '127.0.0.1', port: topology.spillway.xdsPort },
      mode: 'sotw',
      logDir: DIR,
    });
    await envoy.waitReady();
    return { envoy, url: `http://127.0.0.1:${outboundPort}/` };
  }

  beforeAll(async () => {
    meshCa = createCa(path.join(DIR, 'mesh'), 'mesh');
    const identity = (name: string) => issue(meshCa, name, [`URI:spiffe://spillway/cluster/east/ns/shop/sa/${name}`]);
    checkoutApp = await startHttpBackend({ id: 'checkout-1' });
    decoy = await startHttpBackend({ id: 'decoy' });
    payments1 = await startHttpBackend({ id: 'payments-1', host: POD_1 });
    payments2 = await startHttpBackend({ id: 'payments-2', host: POD_2 });
    ledgerApp = await startHttpBackend({ id: 'ledger-1', host: POD_1 });
    checkoutSidecarPort = await freePort();
    podsSidecarPort = await freePort();
    topology = await startTopology({
      name: 'mtls-inbound',
      clusters: [EAST],
      gatewaysFor: [],
      mesh: (port) => mesh(port, false),
    });
    checkoutSidecar = (
      await sidecar('checkout-1-sidecar', tlsDir('checkout-1', identity('checkout-1'), meshCa), {
        port: checkoutSidecarPort,
        address: '127.0.0.1',
      })
    ).envoy;
    await sidecar('pod-1-sidecar', tlsDir('pod-1', identity('pod-1'), meshCa), {
      port: podsSidecarPort,
      address: POD_1,
    });
    await sidecar('pod-2-sidecar', tlsDir('pod-2', identity('pod-2'), meshCa), {
      port: podsSidecarPort,
      address: POD_2,
    });
    callerFiles = identity('caller');
    callerUrl = (await sidecar('caller-east', tlsDir('caller', callerFiles, meshCa))).url;
  }, 90_000);

  afterAll(async () => {
    await topology?.stop();
    await stopEverything();
  });

  test('a sidecar connected before its endpoint existed gets the inbound listener from an endpoint-only change, and mTLS calls reach the app', async () => {
    expect(await checkoutSidecar.listenerNames()).not.toContain('inbound');
    // Only checkout's endpoint list changes (the file is rewritten by rename).
    topology.meshFile.write(mesh(topology.gatewayPort, true));
    const tally = await waitFor(
      async () => {
        const t = await sendRequests({ url: callerUrl, hostHeader: CHECKOUT, count: 10, concurrency: 2 });
        return t.byId['checkout-1'] === 10 ? t : undefined;
      },
      { ...WAIT, what: 'mTLS calls to checkout-1 through its sidecar' },
    );
    expect(tally.failures).toBe(0);
    expect(await checkoutSidecar.listenerNames()).toContain('inbound');
  });

  test('a caller cannot redirect the hop to the app with x-envoy-original-dst-host', async () => {
    const steer = { 'x-envoy-original-dst-host': `127.0.0.1:${decoy.port}` };
    const through = await sendRequests({
      url: callerUrl,
      hostHeader: CHECKOUT,
      count: 6,
      concurrency: 2,
      headers: steer,
    });
    expect(through.byId).toEqual({ 'checkout-1': 6 });
    // Straight to the inbound listener with a valid mesh certificate, the header twice.
    const answers: string[] = [];
    for (const headers of [steer, { ...steer, 'X-Envoy-Original-Dst-Host': `${POD_1}:${ledgerApp.port}` }]) {
      answers.push(
        await directRequest(checkoutSidecarPort, sniFor(8080, CHECKOUT), callerFiles, meshCa, {
          host: CHECKOUT,
          ...headers,
        }),
      );
    }
    expect(answers).toEqual(['200 checkout-1', '200 checkout-1']);
  });

  test('pods of one service whose app ports differ are each reached on their own port; another service of the same pod too', async () => {
    const tally = await waitFor(
      async () => {
        const t = await sendRequests({ url: callerUrl, hostHeader: PAYMENTS, count: 12, concurrency: 2 });
        return t.failures === 0 && (t.byId['payments-1'] ?? 0) > 0 && (t.byId['payments-2'] ?? 0) > 0 ? t : undefined;
      },
      { ...WAIT, what: 'calls reaching both payments pods' },
    );
    expect((tally.byId['payments-1'] ?? 0) + (tally.byId['payments-2'] ?? 0)).toBe(12);
    const ledger = await sendRequests({ url: callerUrl, hostHeader: LEDGER, count: 6, concurrency: 2 });
    expect(ledger.byId).toEqual({ 'ledger-1': 6 });
  });
});

describe("the same through the Kubernetes source (real API server): the pod's sidecar connects before the EndpointSlice lists it", () => {
  const KUBE_DIR = path.join(DIR, 'kubernetes');
  const SLICES = '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices';
  let api: KubeApiServer;
  let target: KubeTarget;
  let server: RunningSpillwayServer;
  let source: KubernetesSource;
  let meshCa: Ca;
  let callerFiles: CertFiles;
  let app: Backend;
  let sidecarPort: number;
  let envoy: EnvoyProcess;
  let ads: RawAdsClient;
  let secondPod: RawNode;
  let sharedView: string;

  beforeAll(async () => {
    api = await startKubeApiServer({ name: 'mtls-inbound' });
    target = { url: api.url, token: api.token, caFile: api.caFile };
    sidecarPort = await freePort();
    app = await startHttpBackend({ id: 'kube-checkout-1' });
    await kubeCall(target, 'POST', '/api/v1/namespaces', { metadata: { name: 'shop' } });
    await kubeCall(target, 'POST', '/api/v1/namespaces/shop/services', {
      metadata: {
        name: 'checkout',
        annotations: { 'spillway.io/mtls': 'true', 'spillway.io/sidecar-port': String(sidecarPort) },
      },
      spec: { ports: [{ name: 'http', port: 8080 }] },
    });
    const parsed = parseClustersText(
      [
        'clusters:',
        '  - name: east',
        '    region: europe-west1',
        '    zone: europe-west1-b',
        `    kubeconfig: ${api.kubeconfigPath}`,
        '',
      ].join('\n'),
      KUBE_DIR,
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    fs.mkdirSync(KUBE_DIR, { recursive: true });
    const logFile = path.join(KUBE_DIR, 'spillway.log');
    server = await startSpillwayServer({
      logger: pino({ level: 'info' }, pino.destination({ dest: logFile, sync: true })),
      xds: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      debounce: { quietMs: 10, maxDelayMs: 50 },
      extraSources: [
        (store, logger) => {
          source = new KubernetesSource({
            clusters: parsed.clusters,
            store,
            logger,
            timing: {
              watchTimeoutMinSeconds: 5,
              watchTimeoutMaxSeconds: 8,
              backoffMinMs: 200,
              backoffMaxMs: 1_000,
              absentRecheckMs: 2_000,
            },
            rebuildDelayMs: 20,
            accessRetryMs: 300,
          });
          source.start();
          return {
            statuses: () => source.sourceStatuses(),
            synced: () => source.allSynced(),
            stop: () => source.stop(),
          };
        },
      ],
    });
    await waitFor(
      async () => source.allSynced() && server.store.current().services.has('checkout.shop.svc.cluster.local'),
      { timeoutMs: 20_000, what: 'the API server to be listed' },
    );

    meshCa = createCa(path.join(KUBE_DIR, 'mesh'), 'mesh');
    callerFiles = issue(meshCa, 'caller', ['URI:spiffe://spillway/cluster/east/ns/shop/sa/caller']);
    const podFiles = issue(meshCa, 'checkout', ['URI:spiffe://spillway/cluster/east/ns/shop/sa/checkout']);
    const dir = path.join(KUBE_DIR, 'certs');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(podFiles.cert, path.join(dir, 'cert.pem'));
    fs.copyFileSync(podFiles.key, path.join(dir, 'key.pem'));
    fs.copyFileSync(meshCa.cert, path.join(dir, 'ca.pem'));
    const outboundPort = await freePort();
    // Two pods of the service: same sidecar settings, their own INSTANCE_IP (accepted, not needed).
    const metadata = {
      CLUSTER_ID: 'east',
      OUTBOUND_PORT: String(outboundPort),
      TLS_DIR: dir,
      INBOUND_PORT: String(sidecarPort),
      INBOUND_ADDRESS: '127.0.0.1',
    };
    envoy = await startEnvoy({
      nodeId: 'sidecar~10.1.0.7~checkout-1.shop',
      metadata: { ...metadata, INSTANCE_IP: '10.1.0.7' },
      xds: { host: '127.0.0.1', port: server.xdsPort },
      mode: 'sotw',
      logDir: KUBE_DIR,
    });
    await envoy.waitReady();
    secondPod = { id: 'sidecar~10.1.0.8~checkout-2.shop', metadata: { ...metadata, INSTANCE_IP: '10.1.0.8' } };
    sharedView = `sidecar|east|127.0.0.1|${outboundPort}|tls=${dir}|in=${sidecarPort},127.0.0.1`;
    ads = new RawAdsClient(`127.0.0.1:${server.xdsPort}`, 'sotw');
    ads.sendSotw({ typeUrl: LISTENER_TYPE, node: secondPod });
  }, 90_000);

  afterAll(async () => {
    ads?.close();
    await envoy?.stop();
    await server?.stop(0);
    await stopAllKubeApiServers();
    await stopEverything();
  });

  test("the EndpointSlice arrives: both pods' sidecars get the same inbound listener, and an mTLS request reaches the app", async () => {
    const first = await ads.next(10_000, LISTENER_TYPE);
    ads.ackSotw(first, undefined);
    expect(first.resources.map((resource) => resource.name)).not.toContain('inbound');
    expect(await envoy.listenerNames()).not.toContain('inbound');

    await kubeCall(target, 'POST', SLICES, {
      metadata: { name: 'checkout-a', labels: { 'kubernetes.io/service-name': 'checkout' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: app.port }],
      endpoints: [
        { addresses: ['10.1.0.7'], conditions: { ready: true } },
        { addresses: ['10.1.0.8'], conditions: { ready: true } },
      ],
    });

    let withInbound: RawResponse | undefined;
    while (!withInbound) {
      const response = await ads.next(20_000, LISTENER_TYPE);
      ads.ackSotw(response, undefined);
      if (response.resources.some((resource) => resource.name === 'inbound')) withInbound = response;
    }
    const listener = JSON.stringify(withInbound.resources.find((resource) => resource.name === 'inbound')?.message);
    expect(listener).toContain(sniFor(8080, 'checkout.shop.svc.cluster.local'));
    expect(listener).not.toMatch(/10\.1\.0\.[78]/);
    // The real Envoy accepted it (an active listener, not a NACK) and has the app cluster.
    await waitFor(async () => (await envoy.listenerNames()).includes('inbound'), {
      timeoutMs: 20_000,
      what: 'the inbound listener at the real Envoy',
    });
    expect(await envoy.dynamicClusterNames()).toContain(`inbound|${app.port}||checkout.shop.svc.cluster.local`);
    // One view for both pods.
    expect(
      server.controlPlane.cache
        .viewKeys()
        .map((key) => key.id)
        .filter((key) => key.includes('|in=')),
    ).toEqual([sharedView]);

    const answer = await waitFor(
      async () => {
        const text = await directRequest(
          sidecarPort,
          sniFor(8080, 'checkout.shop.svc.cluster.local'),
          callerFiles,
          meshCa,
          { host: 'checkout.shop.svc.cluster.local' },
        ).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
        return text === '200 kube-checkout-1' ? text : undefined;
      },
      {
        timeoutMs: 10_000,
        intervalMs: 300,
        what: 'an mTLS request through the Kubernetes-configured inbound listener',
      },
    );
    expect(answer).toBe('200 kube-checkout-1');
  });
});
