// Istio's own east-west gateway as a Spillway cluster's gateway (`gatewayKind: istio`), with the real parts
// and real Istio mTLS: east's istiod (auto mTLS on) serves an Istio sidecar (real Envoy) whose certificates
// come over SDS, as istio-agent would give them; west's istiod configures a real Envoy as Istio's east-west
// gateway (AUTO_PASSTHROUGH, router mode sni-dnat); west's workload sits behind an Envoy that terminates
// Istio mTLS, as its sidecar would. Spillway serves east's sidecar the patched clusters' endpoints; when
// east's backends are gone, traffic must cross to west through Istio's gateway, encrypted end to end with
// the SNI `outbound_.<port>_._.<host>`, and be answered by west's workload.
import * as path from 'path';
import {
  Backend,
  EnvoyProcess,
  emptyTally,
  mergeTally,
  sendRequests,
  startEnvoy,
  startHttpBackend,
  stopEverything,
  waitFor,
} from '../harness';
import { createCa, issue } from '../harness/certs';
import { IstiodProcess, istioSidecarBootstrap, serviceEntry, startIstiod } from '../harness/istiod';
import { freePort } from '../harness/ports';
import { SdsServer, startSdsServer } from '../harness/sds-server';
import { staticHttpProxy } from '../harness/static-bootstrap';
import { answeredBy, describeTally } from '../harness/tally-shares';
import { MeshDocument, Topology, startTopology } from '../harness/topology';
import { testOutputDir } from '../harness/output';
import { repoRoot } from '../harness/paths';
import { spawnSync } from 'child_process';

jest.setTimeout(120_000);

const HOST = 'reviews.default.svc.cluster.local';
const TRUST_DOMAIN = 'cluster.local';
const ISTIO_GATEWAY_ADDRESS = '127.0.0.4';
const OUTLIER = { consecutive5xx: 2, intervalMs: 300, baseEjectionTimeMs: 2000 };

describe("Istio's east-west gateway as a cluster's gateway (real istiod x2, real Envoys, Istio mTLS)", () => {
  const dir = testOutputDir(`istio-eastwest-${process.pid}`);
  let eastBackend: Backend;
  let westBackend: Backend;
  let topology: Topology;
  let eastIstiod: IstiodProcess;
  let westIstiod: IstiodProcess;
  let sds: SdsServer;
  let sidecar: EnvoyProcess;
  let istioGateway: EnvoyProcess;
  let westWorkloadSidecar: EnvoyProcess;
  let servicePort: number;
  let gatewayPort: number;
  let westWorkloadPort: number;

  const send = (count: number) =>
    sendRequests({ url: `http://127.0.0.1:${servicePort}/`, hostHeader: HOST, count, concurrency: 2 });

  function meshDocument(eastReady: boolean): MeshDocument {
    return {
      clusters: [
        { name: 'east', region: 'europe-west1', zone: 'europe-west1-b' },
        {
          name: 'west',
          region: 'europe-west1',
          zone: 'europe-west1-c',
          gateway: `${ISTIO_GATEWAY_ADDRESS}:${gatewayPort}`,
          gatewayKind: 'istio',
        },
      ],
      services: [
        {
          name: 'reviews',
          namespace: 'default',
          ports: [{ name: 'http', port: servicePort }],
          export: true,
          outlierDetection: OUTLIER,
          endpoints: [
            {
              cluster: 'east',
              address: '127.0.0.1',
              port: eastBackend.port,
              labels: { version: 'v1' },
              ready: eastReady,
            },
            { cluster: 'west', address: '127.0.0.1', port: westWorkloadPort, labels: { version: 'v1' } },
          ],
        },
      ],
    };
  }

  beforeAll(async () => {
    eastBackend = await startHttpBackend({ id: 'east-v1-1' });
    westBackend = await startHttpBackend({ id: 'west-v1-1' });
    [servicePort, gatewayPort, westWorkloadPort] = [await freePort(), await freePort(), await freePort()];

    // One mesh root: both sides' workload certificates, with Istio's SPIFFE identities.
    const ca = createCa(path.join(dir, 'ca'), 'mesh');
    const productpage = issue(ca, 'productpage', [`URI:spiffe://${TRUST_DOMAIN}/ns/default/sa/productpage`]);
    const reviews = issue(ca, 'reviews', [`URI:spiffe://${TRUST_DOMAIN}/ns/default/sa/reviews`]);
    sds = await startSdsServer(productpage, ca.cert);

    // West: its workload's sidecar terminates Istio mTLS in front of the backend.
    westWorkloadSidecar = await startEnvoy({
      nodeId: 'west-reviews-sidecar',
      logDir: dir,
      staticBootstrap: staticHttpProxy({
        listenerPort: westWorkloadPort,
        clusterName: 'reviews-v1',
        endpoints: [{ host: '127.0.0.1', port: westBackend.port }],
        downstreamTls: { certFile: reviews.cert, keyFile: reviews.key, caFile: ca.cert },
      }),
    });
    // West's istiod knows its own pod and runs Istio's east-west gateway.
    westIstiod = await startIstiod(`eastwest-west-${process.pid}`);
    westIstiod.apply('west.yaml', [
      serviceEntry(HOST, servicePort, [
        {
          address: '127.0.0.1',
          ports: { http: westWorkloadPort },
          labels: { version: 'v1', 'security.istio.io/tlsMode': 'istio' },
        },
      ]),
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'Gateway',
        metadata: { name: 'cross-network-gateway', namespace: 'istio-system' },
        spec: {
          selector: { istio: 'eastwestgateway' },
          servers: [
            {
              port: { number: gatewayPort, name: 'tls', protocol: 'TLS' },
              bind: ISTIO_GATEWAY_ADDRESS,
              tls: { mode: 'AUTO_PASSTHROUGH' },
              hosts: ['*.local'],
            },
          ],
        },
      },
    ]);
    istioGateway = await startEnvoy({
      nodeId: 'istio-eastwestgateway-west',
      logDir: dir,
      staticBootstrap: istioSidecarBootstrap(
        {
          ip: ISTIO_GATEWAY_ADDRESS,
          pod: 'istio-eastwestgateway-1',
          namespace: 'istio-system',
          clusterId: 'west',
          labels: { istio: 'eastwestgateway' },
        },
        westIstiod.xdsPort,
        { router: { mode: 'sni-dnat' } },
      ),
    });
    await istioGateway.waitReady(60_000);

    // Spillway: west's gateway is Istio's.
    topology = await startTopology({
      name: `istio-eastwest-${process.pid}`,
      clusters: [],
      gatewaysFor: [],
      mesh: () => meshDocument(true),
    });

    // East: istiod with auto mTLS, its sidecar with certificates over SDS, Spillway's EnvoyFilters.
    eastIstiod = await startIstiod(`eastwest-east-${process.pid}`, { autoMtls: true });
    eastIstiod.apply('east.yaml', [
      serviceEntry(HOST, servicePort, [
        { address: '127.0.0.1', ports: { http: eastBackend.port }, labels: { version: 'v1' } },
      ]),
    ]);
    const rendered = spawnSync(
      process.execPath,
      [
        path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'),
        'istio',
        'render',
        '--mesh',
        topology.meshFile.path,
        '--xds-address',
        `127.0.0.1:${topology.spillway.xdsPort}`,
      ],
      { encoding: 'utf8' },
    );
    if (rendered.status !== 0) throw new Error(`spillway istio render: ${rendered.stderr}`);
    eastIstiod.applyText('spillway.yaml', rendered.stdout);
    sidecar = await startEnvoy({
      nodeId: 'istio-sidecar-east-mtls',
      logDir: dir,
      staticBootstrap: istioSidecarBootstrap(
        {
          ip: '10.0.0.9',
          pod: 'productpage-1',
          namespace: 'default',
          clusterId: 'east',
          labels: { app: 'productpage' },
        },
        eastIstiod.xdsPort,
        { sdsPort: sds.port },
      ),
    });
    await sidecar.waitReady(60_000);
    await waitFor(async () => ((await sidecar.cluster(`outbound|${servicePort}||${HOST}`))?.hosts.length ?? 0) === 2, {
      timeoutMs: 30_000,
      what: 'Spillway endpoints in the sidecar',
    });
  }, 240_000);

  afterAll(async () => {
    await sidecar?.stop();
    await istioGateway?.stop();
    await westWorkloadSidecar?.stop();
    await eastIstiod?.stop();
    await westIstiod?.stop();
    await sds?.stop();
    await topology?.stop();
    await stopEverything();
  });

  test("east first; east gone: through Istio's gateway to west, encrypted end to end (Istio mTLS from the sidecar, SNI passed through)", async () => {
    const local = await send(20);
    expect(local.failures).toBe(0);
    expect(answeredBy(local)).toEqual(['east-v1-1']);

    topology.meshFile.write(meshDocument(false));
    const moved = emptyTally();
    await waitFor(
      async () => {
        const tally = await send(10);
        mergeTally(moved, tally);
        return tally.failures === 0 && answeredBy(tally).join() === 'west-v1-1' ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: "traffic answered by west's workload through Istio's gateway" },
    );
    console.log(`east not ready: ${describeTally(moved)}`);
    // The sidecar's certificates came over SDS; its connection to the gateway was TLS (its handshakes
    // counted), which only the west workload's sidecar could terminate: the gateway passes it through.
    expect([...sds.requested].sort()).toEqual(['ROOTCA', 'default']);
    const handshakes = (stats: Map<string, number>, prefix: string) =>
      [...stats]
        .filter(([name, value]) => name.startsWith(prefix) && name.endsWith('.ssl.handshake') && value > 0)
        .map(([name]) => name);
    // istiod names a cluster's stats by its alt_stat_name, `outbound|<port>||<host>;`.
    expect(handshakes(await sidecar.stats(), `cluster.outbound|${servicePort}||${HOST}`)).toHaveLength(1);
    expect(handshakes(await westWorkloadSidecar.stats(), 'listener.')).toHaveLength(1);
    const gatewayStats = await istioGateway.stats();
    const passedThrough = [...gatewayStats].filter(
      ([name, value]) =>
        name.startsWith(`cluster.outbound_.${servicePort}_._.${HOST}`) &&
        name.endsWith('.upstream_cx_total') &&
        value > 0,
    );
    expect(passedThrough.map(([name]) => name)).toHaveLength(1);
  });
});
