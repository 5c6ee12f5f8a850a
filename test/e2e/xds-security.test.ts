// A secured control plane: xDS over mTLS where a client's certificate must name the cluster it claims,
// and abuse limits (request rate, request size, subscription count, streams per connection) that cut
// off only the abuser while every other client keeps being served.
import * as grpc from '@grpc/grpc-js';
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../../src/xds/resource-types';
import { MAX_NAMES_PER_TYPE } from '../../src/xds/server/subscription';
import { startEnvoy, stopEverything, testOutputDir } from '../harness';
import { Ca, CertFiles, createCa, issue, read } from '../harness/certs';
import { InProcessSpillway, startInProcess } from '../harness/in-process';
import { RawAdsClient, RawNode } from '../harness/raw-ads-client';
import { endpoint, httpService, sampleMesh } from '../harness/sample-mesh';

const DIR = testOutputDir('xds-security');
const PERMISSION_DENIED = 7;
const RESOURCE_EXHAUSTED = 8;
const node = (cluster: string, id = `client-${cluster}`): RawNode => ({ id, metadata: { CLUSTER_ID: cluster } });

afterAll(async () => {
  await stopEverything();
});

describe('xDS over mTLS with cluster identities', () => {
  let meshCa: Ca;
  let foreignCa: Ca;
  let server: InProcessSpillway;
  let westClient: CertFiles;
  let eastClient: CertFiles;
  let foreignClient: CertFiles;
  const clients: RawAdsClient[] = [];
  const connect = (certs: CertFiles | undefined) => {
    const credentials = certs
      ? grpc.credentials.createSsl(read({ cert: meshCa.cert, key: meshCa.key }).cert, read(certs).key, read(certs).cert)
      : grpc.credentials.createSsl(read({ cert: meshCa.cert, key: meshCa.key }).cert);
    const client = new RawAdsClient(server.address, 'sotw', 'ads', credentials);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    meshCa = createCa(`${DIR}/mesh`, 'mesh');
    foreignCa = createCa(`${DIR}/foreign`, 'foreign');
    const serverCert = read(issue(meshCa, 'spillway-server', ['IP:127.0.0.1', 'DNS:localhost']));
    westClient = issue(meshCa, 'west-proxy', ['URI:spiffe://spillway/cluster/west/ns/shop/sa/gateway']);
    eastClient = issue(meshCa, 'east-proxy', ['URI:spiffe://spillway/cluster/east']);
    foreignClient = issue(foreignCa, 'intruder', ['URI:spiffe://spillway/cluster/east']);
    server = await startInProcess(sampleMesh(), {
      serverOptions: {
        tls: {
          certChain: serverCert.cert,
          privateKey: serverCert.key,
          clientCa: read({ cert: meshCa.cert, key: meshCa.key }).cert,
        },
        identity: { trustDomain: 'spillway' },
      },
    });
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await server.stop();
  });

  test('a client whose certificate names its own cluster is served', async () => {
    const client = connect(westClient);
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: node('west') });
    expect((await client.next()).resources.map((r) => r.name)).toContain(
      'outbound|8080||ledger.shop.svc.cluster.local',
    );
  });

  test('a certificate for west claiming CLUSTER_ID=east is refused with PERMISSION_DENIED', async () => {
    const client = connect(westClient);
    client.sendSotw({ typeUrl: CLUSTER_TYPE, node: node('east', 'impostor') });
    const end = await client.end();
    expect(end.code).toBe(PERMISSION_DENIED);
    expect(end.details).toContain('does not match CLUSTER_ID "east"');
    expect(end.details).toContain('spiffe://spillway/cluster/west/ns/shop/sa/gateway');
  });

  test('a client without a certificate, or with one from another CA, never gets a stream', async () => {
    for (const certs of [undefined, foreignClient]) {
      const client = connect(certs);
      client.sendSotw({ typeUrl: CLUSTER_TYPE, node: node('east') });
      const end = await client.end(10_000);
      expect(end.code).not.toBe(0);
      expect(client.pending()).toBe(0);
    }
  });

  test('a real Envoy connects over mTLS with its cluster certificate', async () => {
    const envoy = await startEnvoy({
      nodeId: 'envoy-east-mtls',
      metadata: { CLUSTER_ID: 'east', OUTBOUND_PORT: '15999' },
      xds: {
        host: '127.0.0.1',
        port: server.port,
        tls: { certFile: eastClient.cert, keyFile: eastClient.key, caFile: meshCa.cert },
      },
      mode: 'delta',
      logDir: DIR,
    });
    await envoy.waitReady();
    expect(await envoy.dynamicClusterNames()).toContain('outbound|8080||checkout.shop.svc.cluster.local');
    await envoy.stop();
  });
});

describe('abuse limits: only the abuser is cut off', () => {
  let server: InProcessSpillway;
  let good: RawAdsClient;
  const clients: RawAdsClient[] = [];
  const connect = (options: grpc.ChannelOptions = {}) => {
    const client = new RawAdsClient(server.address, 'sotw', 'ads', grpc.credentials.createInsecure(), options);
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    server = await startInProcess(sampleMesh(), {
      serverOptions: {
        maxRequestBytes: 1024 * 1024,
        maxRequestsPerSecond: 20,
        requestBurst: 40,
        maxStreamsPerConnection: 4,
      },
    });
    good = connect();
    good.sendSotw({ typeUrl: CLUSTER_TYPE, node: node('east', 'good') });
    good.ackSotw(await good.next(), node('east', 'good'));
  });
  afterEach(async () => {
    server.setModel(
      sampleMesh({
        extraServices: [{ service: httpService('extra', 'shop', 7070), endpoints: [endpoint('east', 17070)] }],
      }),
    );
    expect((await good.next()).resources.map((r) => r.name)).toContain('outbound|7070||extra.shop.svc.cluster.local');
    for (const client of clients.splice(0)) client.close();
    await server.stop();
  });

  test('request rate: a flood of requests ends that stream with RESOURCE_EXHAUSTED', async () => {
    const flooder = connect();
    for (let i = 0; i < 200; i++)
      flooder.sendSotw({ typeUrl: ENDPOINT_TYPE, node: node('east', 'flooder'), resourceNames: [`name-${i}`] });
    const end = await flooder.end();
    expect(end.code).toBe(RESOURCE_EXHAUSTED);
    expect(end.details).toContain('discovery requests per second');
  });

  test('request size: an oversized request gets RESOURCE_EXHAUSTED', async () => {
    const big = connect({ 'grpc.max_send_message_length': -1 });
    big.sendSotw({ typeUrl: ENDPOINT_TYPE, node: node('east', 'big'), resourceNames: ['x'.repeat(2 * 1024 * 1024)] });
    const end = await big.end();
    expect(end.code).toBe(RESOURCE_EXHAUSTED);
  });

  test('subscription count: more names than allowed ends that stream', async () => {
    const greedy = connect({ 'grpc.max_send_message_length': -1 });
    const names = Array.from({ length: MAX_NAMES_PER_TYPE + 1 }, (_, i) => `n${i}`);
    // Split across requests would hit the rate limit first; one request stays under the 1 MiB size limit.
    greedy.sendSotw({ typeUrl: ENDPOINT_TYPE, node: node('east', 'greedy'), resourceNames: names });
    const end = await greedy.end();
    expect(end.code).toBe(RESOURCE_EXHAUSTED);
    expect(end.details).toContain(`more than ${MAX_NAMES_PER_TYPE} resource names`);
  });

  test('streams per connection: streams beyond the limit wait; the first ones are served', async () => {
    const channel = new grpc.Client(server.address, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    });
    const streams = Array.from(
      { length: 6 },
      () => new RawAdsClient(server.address, 'sotw', 'ads', undefined, {}, channel),
    );
    streams.forEach((stream, i) => stream.sendSotw({ typeUrl: CLUSTER_TYPE, node: node('east', `stream-${i}`) }));
    const served = await Promise.all(
      streams.map((stream) =>
        stream.next(1_500).then(
          () => true,
          () => false,
        ),
      ),
    );
    expect(served.filter(Boolean)).toHaveLength(4); // the connection's limit
    // Closing one lets a waiting stream through.
    streams[served.indexOf(true)]?.close();
    const waiting = streams.filter((_, i) => !served[i]);
    const later = await Promise.all(
      waiting.map((stream) =>
        stream.next(3_000).then(
          () => true,
          () => false,
        ),
      ),
    );
    expect(later.filter(Boolean)).toHaveLength(1);
    for (const stream of streams) stream.close();
    channel.close();
  });
});
