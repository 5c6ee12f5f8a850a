// mTLS across clusters with real Envoys and real certificates: a caller's sidecar originates mTLS with an
// Istio-style SNI, the west gateway passes it through by SNI without terminating it, and the destination
// workload's sidecar terminates it, accepting only certificates from the mesh CA.
import * as fs from 'fs';
import * as path from 'path';
import * as tls from 'tls';
import {
  Backend,
  EnvoyProcess,
  freePort,
  runGrpcXdsClient,
  sendRequests,
  startEnvoy,
  startGrpcBackend,
  startHttpBackend,
  stopEverything,
  waitFor,
  writeGrpcBootstrap,
} from '../harness';
import { Ca, CertFiles, createCa, issue } from '../harness/certs';
import { testOutputDir } from '../harness/output';
import { ClusterSpec, MeshDocument, Topology, clustersYaml, startTopology } from '../harness/topology';

const HOST = 'checkout.shop.svc.cluster.local';
const DIR = testOutputDir('mtls');
const CLUSTERS: ClusterSpec[] = [
  { name: 'east', region: 'europe-west1', zone: 'europe-west1-b', gatewayAddress: '127.0.0.2' },
  { name: 'west', region: 'europe-west1', zone: 'europe-west1-c', gatewayAddress: '127.0.0.3' },
];

interface Workload {
  app: Backend;
  sidecarPort: number;
  sidecar?: EnvoyProcess;
}

/** A TLS_DIR for one proxy: cert.pem, key.pem and the CA that verifies its peers. */
function tlsDir(name: string, _ca: Ca, files: CertFiles, trust: Ca): string {
  const dir = path.join(DIR, 'proxies', name);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(files.cert, path.join(dir, 'cert.pem'));
  fs.copyFileSync(files.key, path.join(dir, 'key.pem'));
  fs.copyFileSync(trust.cert, path.join(dir, 'ca.pem'));
  return dir;
}

describe('mTLS across clusters through an SNI-passthrough gateway (real Envoy)', () => {
  let meshCa: Ca;
  let foreignCa: Ca;
  let topology: Topology;
  let east: Workload;
  let west: Workload;
  let ledger: Workload;
  let canary: Workload;
  let echo: Workload;
  let callerTlsDir: string;
  let caller: { envoy: EnvoyProcess; url: string };
  let intruder: { envoy: EnvoyProcess; url: string };

  const mesh = (gatewayPort: number, eastReady = true): MeshDocument => ({
    clusters: clustersYaml(CLUSTERS, gatewayPort),
    mtls: true,
    services: [
      {
        name: 'checkout',
        namespace: 'shop',
        ports: [{ name: 'http', port: 8080 }],
        export: true,
        outlierDetection: { consecutive5xx: 2, intervalMs: 500, baseEjectionTimeMs: 3000 },
        canary: { stable: 'v1', canary: 'v2', weight: 0, header: { name: 'x-canary', exact: 'true' } },
        endpoints: [
          {
            cluster: 'east',
            address: '127.0.0.1',
            port: east.app.port,
            sidecarPort: east.sidecarPort,
            ready: eastReady,
            labels: { version: 'v1' },
          },
          {
            cluster: 'east',
            address: '127.0.0.1',
            port: canary.app.port,
            sidecarPort: canary.sidecarPort,
            labels: { version: 'v2' },
          },
          {
            cluster: 'west',
            address: '127.0.0.1',
            port: west.app.port,
            sidecarPort: west.sidecarPort,
            labels: { version: 'v1' },
          },
        ],
      },
      {
        name: 'echo',
        namespace: 'shop',
        ports: [{ name: 'grpc', port: 50051 }],
        export: true,
        endpoints: [{ cluster: 'east', address: '127.0.0.1', port: echo.app.port, sidecarPort: echo.sidecarPort }],
      },
      {
        name: 'ledger',
        namespace: 'shop',
        ports: [{ name: 'http', port: 8080 }],
        endpoints: [{ cluster: 'west', address: '127.0.0.1', port: ledger.app.port, sidecarPort: ledger.sidecarPort }],
      },
    ],
  });

  async function sidecar(
    nodeId: string,
    cluster: string,
    dir: string,
    inboundPort?: number,
  ): Promise<{ envoy: EnvoyProcess; url: string }> {
    const outboundPort = await freePort();
    const metadata: Record<string, string> = { CLUSTER_ID: cluster, OUTBOUND_PORT: String(outboundPort), TLS_DIR: dir };
    if (inboundPort)
      Object.assign(metadata, {
        INBOUND_PORT: String(inboundPort),
        INSTANCE_IP: '127.0.0.1',
        INBOUND_ADDRESS: '127.0.0.1',
      });
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

  const send = (url: string, count: number) => sendRequests({ url, hostHeader: HOST, count, concurrency: 2 });

  beforeAll(async () => {
    meshCa = createCa(path.join(DIR, 'mesh'), 'mesh');
    foreignCa = createCa(path.join(DIR, 'foreign'), 'foreign');
    const workload = async (id: string): Promise<Workload> => ({
      app: await startHttpBackend({ id }),
      sidecarPort: await freePort(),
    });
    east = await workload('east-1');
    west = await workload('west-1');
    ledger = await workload('ledger-west-1');
    canary = await workload('east-v2-1');
    echo = { app: await startGrpcBackend({ id: 'grpc-east-1' }), sidecarPort: await freePort() };
    topology = await startTopology({
      name: 'mtls',
      clusters: CLUSTERS,
      gatewaysFor: ['west'],
      mesh: (port) => mesh(port),
    });
    const identity = (name: string, cluster: string) =>
      issue(meshCa, name, [`URI:spiffe://spillway/cluster/${cluster}/ns/shop/sa/${name}`]);
    east.sidecar = (
      await sidecar(
        'east-1-sidecar',
        'east',
        tlsDir('east-1', meshCa, identity('east-1', 'east'), meshCa),
        east.sidecarPort,
      )
    ).envoy;
    west.sidecar = (
      await sidecar(
        'west-1-sidecar',
        'west',
        tlsDir('west-1', meshCa, identity('west-1', 'west'), meshCa),
        west.sidecarPort,
      )
    ).envoy;
    ledger.sidecar = (
      await sidecar(
        'ledger-sidecar',
        'west',
        tlsDir('ledger', meshCa, identity('ledger', 'west'), meshCa),
        ledger.sidecarPort,
      )
    ).envoy;
    canary.sidecar = (
      await sidecar(
        'east-v2-sidecar',
        'east',
        tlsDir('east-v2-1', meshCa, identity('east-v2-1', 'east'), meshCa),
        canary.sidecarPort,
      )
    ).envoy;
    echo.sidecar = (
      await sidecar('echo-sidecar', 'east', tlsDir('echo', meshCa, identity('echo', 'east'), meshCa), echo.sidecarPort)
    ).envoy;
    callerTlsDir = tlsDir('caller', meshCa, identity('caller', 'east'), meshCa);
    caller = await sidecar('caller-east', 'east', callerTlsDir);
    const foreign = issue(foreignCa, 'intruder', ['URI:spiffe://spillway/cluster/east/ns/shop/sa/intruder']);
    intruder = await sidecar('intruder-east', 'east', tlsDir('intruder', foreignCa, foreign, meshCa));
  });
  afterAll(async () => {
    await topology?.stop();
    await stopEverything();
  });

  test('a local call goes over mTLS to the workload sidecar, which terminates it', async () => {
    const tally = await waitFor(
      async () => {
        const t = await send(caller.url, 10);
        return t.byId['east-1'] === 10 ? t : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 300, what: 'mTLS calls to east-1' },
    );
    expect(tally.failures).toBe(0);
    const stats = await east.sidecar?.stats();
    const handshakes = [...(stats?.entries() ?? [])]
      .filter(([name]) => name.startsWith('listener.') && name.endsWith('.ssl.handshake'))
      .reduce((a, [, v]) => a + v, 0);
    expect(handshakes).toBeGreaterThan(0);
  });

  test('cross-cluster calls go over mTLS through the SNI gateway when east is not ready', async () => {
    topology.meshFile.write(mesh(topology.gatewayPort, false));
    const tally = await waitFor(
      async () => {
        const t = await send(caller.url, 10);
        return t.byId['west-1'] === 10 ? t : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 300, what: 'calls reach west-1 through the gateway' },
    );
    expect(tally.failures).toBe(0);
    const gatewayStats = await topology.gateways.get('west')?.stats();
    const passthrough = [...(gatewayStats?.entries() ?? [])].find(
      ([name]) => name.startsWith('tcp.passthrough_8080') && name.endsWith('downstream_cx_total'),
    );
    expect(passthrough?.[1] ?? 0).toBeGreaterThan(0);
    // The gateway holds no certificate at all: it cannot have terminated TLS.
    const listeners = JSON.stringify(
      ((await topology.gateways.get('west')?.configDump()) as { configs: { '@type': string }[] }).configs.filter((c) =>
        c['@type'].endsWith('ListenersConfigDump'),
      ),
    );
    expect(listeners).toContain('outbound_.8080_._.checkout.shop.svc.cluster.local');
    expect(listeners).not.toContain('transport_socket');
    topology.meshFile.write(mesh(topology.gatewayPort, true));
    await waitFor(async () => (await send(caller.url, 5)).byId['east-1'] === 5, {
      timeoutMs: 10_000,
      intervalMs: 300,
      what: 'back to east',
    });
  });

  test('failover still works: the east app dies, outlier detection moves traffic across the gateway', async () => {
    await east.app.kill('SIGKILL');
    await waitFor(
      async () => {
        const t = await send(caller.url, 10);
        return t.failures === 0 && t.byId['west-1'] === 10 ? t : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 300, what: 'failover to west over mTLS' },
    );
    await east.app.restart();
    // Repeated ejections lengthen the next one (base x times ejected), hence the longer wait.
    await waitFor(async () => (await send(caller.url, 10)).byId['east-1'] === 10, {
      timeoutMs: 45_000,
      intervalMs: 500,
      what: 'traffic back to east',
    });
  });

  test('canary fallback still works: x-canary reaches v2 over mTLS, and v1 when v2 dies', async () => {
    const canaryCalls = (count: number) =>
      sendRequests({ url: caller.url, hostHeader: HOST, count, concurrency: 2, headers: { 'x-canary': 'true' } });
    await waitFor(async () => (await canaryCalls(6)).byId['east-v2-1'] === 6, {
      timeoutMs: 10_000,
      intervalMs: 300,
      what: 'canary calls on v2',
    });
    await canary.app.kill('SIGKILL');
    const fallback = await waitFor(
      async () => {
        const t = await canaryCalls(10);
        return t.failures === 0 && (t.byId['east-1'] ?? 0) + (t.byId['west-1'] ?? 0) === 10 ? t : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 300, what: 'canary calls fall back to v1 over mTLS' },
    );
    expect(fallback.byId['east-v2-1']).toBeUndefined();
    await canary.app.restart();
  });

  test('a proxyless gRPC client speaks mTLS to the workload sidecar with xDS-provided security (A29)', async () => {
    const bootstrapPath = writeGrpcBootstrap({
      dir: DIR,
      xds: { host: '127.0.0.1', port: topology.spillway.xdsPort },
      nodeId: 'grpc-mtls-east',
      metadata: { CLUSTER_ID: 'east' },
      locality: { region: 'europe-west1', zone: 'europe-west1-b' },
      certificateProviders: {
        spillway: {
          certificate_file: path.join(callerTlsDir, 'cert.pem'),
          private_key_file: path.join(callerTlsDir, 'key.pem'),
          ca_certificate_file: path.join(callerTlsDir, 'ca.pem'),
        },
      },
    });
    const handshakesBefore = await sslHandshakes(echo.sidecar);
    const tally = await runGrpcXdsClient({
      bootstrapPath,
      target: 'xds:///echo.shop.svc.cluster.local:50051',
      count: 10,
      intervalMs: 10,
      deadlineMs: 5_000,
      xdsCredentials: true,
    });
    expect(tally.failures).toBe(0);
    expect(tally.byId['grpc-east-1']).toBe(10);
    expect(await sslHandshakes(echo.sidecar)).toBeGreaterThan(handshakesBefore);
  });

  test('a caller whose certificate comes from another CA is refused by the destination sidecar', async () => {
    const tally = await send(intruder.url, 6);
    expect(successes(tally)).toBe(0);
    expect(tally.byId['east-1']).toBeUndefined();
  });

  test('an unexported service is unreachable through the gateway, even with a hand-crafted SNI and a valid certificate', async () => {
    const caller = issue(meshCa, 'crafty', ['URI:spiffe://spillway/cluster/east/ns/shop/sa/crafty']);
    for (const servername of ['outbound_.8080_._.ledger.shop.svc.cluster.local', 'ledger.shop.svc.cluster.local']) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = tls.connect({
          host: '127.0.0.3',
          port: topology.gatewayPort,
          servername,
          cert: fs.readFileSync(caller.cert),
          key: fs.readFileSync(caller.key),
          ca: fs.readFileSync(meshCa.cert),
          rejectUnauthorized: false,
        });
        socket.setTimeout(3_000, () => socket.destroy(new Error('timeout')));
        socket.on('secureConnect', () => resolve('connected'));
        socket.on('error', (error) => resolve(`refused: ${error.message}`));
        socket.on('close', () => resolve('closed'));
      });
      expect(outcome).not.toBe('connected');
    }
    // Plain HTTP to the gateway for an mTLS service is not routed either.
    const plain = await sendRequests({ url: `http://127.0.0.3:${topology.gatewayPort}/`, hostHeader: HOST, count: 3 });
    expect(plain.statuses['404']).toBe(3);
  });
});

async function sslHandshakes(envoy: EnvoyProcess | undefined): Promise<number> {
  const stats = await envoy?.stats();
  return [...(stats?.entries() ?? [])]
    .filter(([name]) => name.startsWith('listener.') && name.endsWith('.ssl.handshake'))
    .reduce((a, [, v]) => a + v, 0);
}

function successes(tally: { byId: Record<string, number> }): number {
  return Object.values(tally.byId).reduce((a, b) => a + b, 0);
}
