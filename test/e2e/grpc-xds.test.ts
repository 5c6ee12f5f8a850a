// A real proxyless gRPC client (@grpc/grpc-js-xds, `xds:///` target) configured only by Spillway makes
// real RPCs to real gRPC backend processes.
import { MeshModel, ServiceEntry, serviceHost } from '../../src/mesh/model';
import {
  Backend,
  runGrpcXdsClient,
  startGrpcBackend,
  startGrpcXdsClient,
  stopEverything,
  testOutputDir,
  waitFor,
  writeGrpcBootstrap,
} from '../harness';
import { InProcessSpillway, startInProcess } from '../harness/in-process';
import { endpoint, httpService, sampleMesh } from '../harness/sample-mesh';

const OUTPUT = testOutputDir('grpc-xds');
const ECHO_PORT = 50051;
const TARGET = `xds:///echo.shop.svc.cluster.local:${ECHO_PORT}`;
const UNKNOWN_TARGET = `xds:///nosuch.shop.svc.cluster.local:${ECHO_PORT}`;

function meshWithEcho(backends: { backend: Backend; cluster: string }[]): MeshModel {
  const echo: ServiceEntry = {
    service: httpService('echo', 'shop', ECHO_PORT, { ports: [{ name: 'grpc', port: ECHO_PORT, protocol: 'grpc' }] }),
    endpoints: backends.map(({ backend, cluster }) =>
      endpoint(cluster, backend.port, { ports: { grpc: backend.port } }),
    ),
  };
  const base = sampleMesh();
  return { ...base, services: new Map([...base.services, [serviceHost(echo.service), echo]]) };
}

describe('proxyless gRPC client (grpc-js-xds)', () => {
  let server: InProcessSpillway;
  let backends: Backend[];

  beforeAll(async () => {
    backends = await Promise.all(['grpc-east-1', 'grpc-east-2', 'grpc-west-1'].map((id) => startGrpcBackend({ id })));
  });
  afterAll(async () => {
    await server?.stop();
    await stopEverything();
  });

  test.each(['east', 'west'] as const)(
    'a client in %s resolves xds:/// through Spillway and calls its local backends',
    async (cluster) => {
      const [e1, e2, w1] = backends as [Backend, Backend, Backend];
      await server?.stop();
      server = await startInProcess(
        meshWithEcho([
          { backend: e1, cluster: 'east' },
          { backend: e2, cluster: 'east' },
          { backend: w1, cluster: 'west' },
        ]),
      );
      const bootstrapPath = writeGrpcBootstrap({
        dir: OUTPUT,
        xds: { host: '127.0.0.1', port: server.port },
        nodeId: `grpc-client-${cluster}`,
        metadata: { CLUSTER_ID: cluster },
        locality: { region: 'europe-west1', zone: cluster === 'east' ? 'europe-west1-b' : 'europe-west1-c' },
      });
      const tally = await runGrpcXdsClient({
        bootstrapPath,
        target: TARGET,
        count: 30,
        intervalMs: 5,
        deadlineMs: 5_000,
      });
      expect(tally.failures).toBe(0);
      const expected = cluster === 'east' ? ['grpc-east-1', 'grpc-east-2'] : ['grpc-west-1'];
      expect(Object.keys(tally.byId).sort()).toEqual(expected);
      if (cluster === 'east') {
        // Round robin over both local backends.
        expect(tally.byId['grpc-east-1']).toBeGreaterThanOrEqual(10);
        expect(tally.byId['grpc-east-2']).toBeGreaterThanOrEqual(10);
      }
      const client = server.spillway.server.registry.list().find((c) => c.nodeId === `grpc-client-${cluster}`);
      // It ACKed every type it asked for: nothing we built was rejected by the gRPC client.
      for (const type of ['LDS', 'CDS', 'EDS']) {
        expect(client?.types[type]?.nacks ?? 0).toBe(0);
        expect(client?.types[type]?.ackedVersion).toBe(client?.types[type]?.sentVersion);
      }
    },
  );

  test('grpc-go: a target that is not in the mesh fails at once, naming the target', async () => {
    const bootstrapPath = writeGrpcBootstrap({
      dir: OUTPUT,
      xds: { host: '127.0.0.1', port: server.port },
      nodeId: 'grpc-go-client-unknown-target',
      metadata: { CLUSTER_ID: 'east' },
      locality: { region: 'europe-west1', zone: 'europe-west1-b' },
    });
    // The deadline is well under grpc-go's 15 s does-not-exist timer, which is what it waited for.
    const tally = await runGrpcXdsClient({
      implementation: 'grpc-go',
      bootstrapPath,
      target: UNKNOWN_TARGET,
      count: 3,
      deadlineMs: 8_000,
    });
    console.log(`grpc-go calling ${UNKNOWN_TARGET}: ${JSON.stringify(tally)}`);
    expect(tally.statuses).toEqual({ UNAVAILABLE: 3 });
    expect(tally.errors[0]).toContain(`could not find VirtualHost for "${UNKNOWN_TARGET.slice('xds:///'.length)}"`);
  });

  test('grpc-js: a target that is not in the mesh gets a listener it ACKs; its calls still wait for their deadline', async () => {
    const nodeId = 'grpc-js-client-unknown-target';
    const bootstrapPath = writeGrpcBootstrap({
      dir: OUTPUT,
      xds: { host: '127.0.0.1', port: server.port },
      nodeId,
      metadata: { CLUSTER_ID: 'east' },
      locality: { region: 'europe-west1', zone: 'europe-west1-b' },
    });
    const client = await startGrpcXdsClient({
      bootstrapPath,
      target: UNKNOWN_TARGET,
      count: 1,
      deadlineMs: 2_000,
      lingerMs: 5_000,
    });
    try {
      const lds = await waitFor(
        async () => server.spillway.server.registry.list().find((c) => c.nodeId === nodeId)?.types.LDS?.ackedVersion,
        {
          timeoutMs: 10_000,
          intervalMs: 50,
          what: 'grpc-js to ACK the listener of an unknown target',
        },
      );
      expect(lds).toBeDefined();
      expect(server.spillway.server.registry.list().find((c) => c.nodeId === nodeId)?.types.LDS?.nacks ?? 0).toBe(0);
    } finally {
      const tally = await client.stop();
      console.log(`grpc-js calling ${UNKNOWN_TARGET}: ${JSON.stringify(tally)}`);
      // grpc-js keeps calls queued on a resolution error before its first good config (known limit).
      expect(tally.statuses).toEqual({ DEADLINE_EXCEEDED: 1 });
    }
  });

  test('a proxyless client reports its real load to Spillway (LRS), per locality', async () => {
    const bootstrapPath = writeGrpcBootstrap({
      dir: OUTPUT,
      xds: { host: '127.0.0.1', port: server.port },
      nodeId: 'grpc-client-lrs',
      metadata: { CLUSTER_ID: 'east' },
      locality: { region: 'europe-west1', zone: 'europe-west1-b' },
    });
    const client = await startGrpcXdsClient({
      bootstrapPath,
      target: TARGET,
      count: 40,
      intervalMs: 25,
      deadlineMs: 5_000,
      lingerMs: 3_000,
    });
    try {
      const load = await waitFor(
        async () => {
          const measured = server.spillway.loads.measure('east', ['outbound|50051||echo.shop.svc.cluster.local']);
          return measured.requests >= 40 ? measured : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 200, what: 'load reports from the gRPC client' },
      );
      expect(load.byTarget).toEqual({ east: 40 });
      expect(load.errors).toBe(0);
    } finally {
      await client.stop();
    }
  });
});
