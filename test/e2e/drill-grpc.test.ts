// A drill seen by a proxyless gRPC client (@grpc/grpc-js-xds, no sidecar): the drill's overlay reaches
// its EDS like an Envoy's, so its calls move to west's gateway for the drill and come back at the
// deadline, with no failed call.
import { spawnSync } from 'child_process';
import * as path from 'path';
import {
  Backend,
  GrpcXdsClientHandle,
  sleep,
  startGrpcBackend,
  startGrpcXdsClient,
  stopEverything,
  testOutputDir,
  waitFor,
  writeGrpcBootstrap,
} from '../harness';
import { repoRoot } from '../harness/paths';
import { ClusterSpec, MeshDocument, Topology, clustersYaml, startTopology } from '../harness/topology';

const ECHO_PORT = 50051;
const TARGET = `xds:///echo.shop.svc.cluster.local:${ECHO_PORT}`;
const CLUSTERS: ClusterSpec[] = [
  { name: 'east', region: 'europe-west1', zone: 'europe-west1-b', gatewayAddress: '127.0.0.2' },
  { name: 'west', region: 'europe-west1', zone: 'europe-west1-c', gatewayAddress: '127.0.0.3' },
];
const EAST = CLUSTERS[0];
const DRILL_S = 6;

function meshDocument(east: Backend, west: Backend, gatewayPort: number): MeshDocument {
  return {
    clusters: clustersYaml(CLUSTERS, gatewayPort),
    services: [
      {
        name: 'echo',
        namespace: 'shop',
        ports: [{ name: 'grpc', port: ECHO_PORT, protocol: 'grpc' }],
        export: true,
        endpoints: [
          { cluster: 'east', address: '127.0.0.1', port: east.port },
          { cluster: 'west', address: '127.0.0.1', port: west.port },
        ],
      },
    ],
  };
}

describe('drill with a proxyless gRPC client (grpc-js-xds)', () => {
  let topology: Topology;
  let client: GrpcXdsClientHandle;

  beforeAll(async () => {
    const east = await startGrpcBackend({ id: 'grpc-east-1' });
    const west = await startGrpcBackend({ id: 'grpc-west-1' });
    topology = await startTopology({
      name: 'drill-grpc',
      clusters: CLUSTERS,
      gatewaysFor: ['west'],
      mesh: (port) => meshDocument(east, west, port),
    });
    const bootstrapPath = writeGrpcBootstrap({
      dir: testOutputDir('drill-grpc'),
      xds: { host: '127.0.0.1', port: topology.spillway.xdsPort },
      nodeId: 'grpc-js-client-east',
      metadata: { CLUSTER_ID: EAST.name },
      locality: { region: EAST.region, zone: EAST.zone },
    });
    client = await startGrpcXdsClient({
      bootstrapPath,
      target: TARGET,
      count: 1_000_000,
      intervalMs: 5,
      deadlineMs: 1_000,
      progressEvery: 5,
    });
  });
  afterAll(async () => {
    await client?.stop().catch(() => undefined);
    await topology?.stop();
    await stopEverything();
  });

  test(`a ${DRILL_S} s drill of east moves the client's calls to west and back, 0 failed`, async () => {
    const answered = () => Object.keys(client.snapshot().byId).sort().join();
    await waitFor(async () => client.completed() > 20 && answered() === 'grpc-east-1', {
      timeoutMs: 20_000,
      intervalMs: 200,
      what: 'calls answered in east',
    });
    client.reset();
    const started = spawnSync(
      process.execPath,
      [
        path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'),
        'drill',
        'start',
        '--admin',
        topology.spillway.adminUrl,
        '--cluster',
        'east',
        '--for',
        `${DRILL_S}s`,
      ],
      { encoding: 'utf8' },
    );
    expect(started.status).toBe(0);
    await sleep(2_000);
    client.reset();
    await sleep(2_000);
    // In the middle of the drill: every call answered in west.
    expect(answered()).toBe('grpc-west-1');
    await sleep(DRILL_S * 1000);
    client.reset();
    await sleep(1_500);
    expect(answered()).toBe('grpc-east-1');
    const outcome = await waitFor(
      async () => {
        const s = JSON.parse(await (await fetch(`${topology.spillway.adminUrl}/debug/drill`)).text()) as {
          outcomes: { failedRequests: number; requests: number }[];
        };
        return s.outcomes[0];
      },
      { timeoutMs: 10_000, intervalMs: 300, what: 'outcome' },
    );
    expect(outcome.failedRequests).toBe(0);
    expect(outcome.requests).toBeGreaterThan(50);
    const whole = await client.stop();
    expect({ failures: whole.failures, errors: whole.errors.slice(0, 3) }).toEqual({ failures: 0, errors: [] });
  });
});
