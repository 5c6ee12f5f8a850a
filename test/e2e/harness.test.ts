// Exercises the end-to-end harness itself against a real Envoy (static config, no control plane).
import {
  Backend,
  callEcho,
  EnvoyProcess,
  freePort,
  runGrpcXdsClient,
  sendRequests,
  startEnvoy,
  startGrpcBackend,
  startHttpBackend,
  stopEverything,
  successCount,
  testOutputDir,
  waitFor,
  writeGrpcBootstrap,
} from '../harness';
import { staticHttpProxy } from '../harness/static-bootstrap';

const REQUESTS_PER_ROUND = 40;
const logDir = testOutputDir('harness');

afterAll(stopEverything);

describe('static Envoy in front of two HTTP backends', () => {
  let east: Backend;
  let west: Backend;
  let envoy: EnvoyProcess;
  let url: string;

  beforeAll(async () => {
    [east, west] = await Promise.all([startHttpBackend({ id: 'east-1' }), startHttpBackend({ id: 'west-1' })]);
    const listenerPort = await freePort();
    url = `http://127.0.0.1:${listenerPort}/hello`;
    envoy = await startEnvoy({
      nodeId: 'harness-static',
      metadata: { CLUSTER_ID: 'east', ROLE: 'test' },
      logDir,
      staticBootstrap: staticHttpProxy({
        listenerPort,
        clusterName: 'backends',
        endpoints: [east, west].map((b) => ({ host: b.host, port: b.port })),
      }),
    });
    await envoy.waitReady();
  });

  test('spreads requests over both backends', async () => {
    const tally = await sendRequests({ url, hostHeader: 'checkout.shop.svc.cluster.local', count: REQUESTS_PER_ROUND });
    expect(tally.failures).toBe(0);
    expect(tally.byId['east-1']).toBeGreaterThan(0);
    expect(tally.byId['west-1']).toBeGreaterThan(0);
    expect(successCount(tally)).toBe(REQUESTS_PER_ROUND);
  });

  test('admin API: stats, clusters, config dump', async () => {
    expect(await envoy.stat('server.live')).toBe(1);
    const stats = await envoy.stats();
    expect(stats.get('cluster.backends.upstream_rq_total')).toBeGreaterThanOrEqual(REQUESTS_PER_ROUND);
    const cluster = await envoy.cluster('backends');
    expect(cluster?.hosts.map((h) => h.port).sort()).toEqual([east.port, west.port].sort());
    expect(cluster?.hosts.every((h) => h.healthy && h.address === '127.0.0.1' && h.priority === 0)).toBe(true);
    expect(cluster?.hosts.map((h) => h.stats.rq_total ?? 0).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(await envoy.listenerNames()).toEqual(['static_http']);
    expect(await envoy.dynamicClusterNames()).toEqual([]);
  });

  test('traffic moves to the survivor when a backend dies, and back after restart', async () => {
    const westPid = west.pid;
    await west.kill('SIGKILL');
    expect(west.isRunning()).toBe(false);
    const afterKill = await sendRequests({ url, count: REQUESTS_PER_ROUND });
    expect(afterKill.byId['west-1']).toBeUndefined();
    expect(afterKill.byId['east-1']).toBeGreaterThan(0);

    await west.restart();
    expect(west.pid).not.toBe(westPid);
    await waitFor(
      async () => {
        const tally = await sendRequests({ url, count: 10 });
        return (tally.byId['west-1'] ?? 0) > 0;
      },
      { timeoutMs: 5000, what: 'restarted west-1 to get traffic again' },
    );
  });
});

describe('Envoy with ADS bootstrap and no control plane', () => {
  test.each(['sotw', 'delta'] as const)('%s: bootstrap is accepted, Envoy waits for xDS', async (mode) => {
    const deadXdsPort = await freePort();
    const envoy = await startEnvoy({
      nodeId: `harness-ads-${mode}`,
      metadata: { CLUSTER_ID: 'east', ROLE: 'gateway', OUTBOUND_PORT: '15001' },
      locality: { region: 'us-east-1', zone: 'us-east-1a' },
      xds: { host: '127.0.0.1', port: deadXdsPort },
      mode,
      logDir,
    });
    expect(await envoy.stat('control_plane.connected_state')).toBe(0);
    await expect(envoy.waitReady(500)).rejects.toThrow(/PRE_INITIALIZING|INITIALIZING/);
    // The short retry backoff (0.25s..1s) means several reconnect attempts within a couple of seconds.
    await envoy.waitForStat('cluster.spillway_xds.upstream_cx_connect_fail', (n) => n >= 3, 5000);
    await envoy.stop();
    await envoy.stop(); // idempotent
  });
});

describe('waitFor', () => {
  test('names what it waited for and the last error on timeout', async () => {
    let attempts = 0;
    const failing = waitFor(
      async () => {
        attempts += 1;
        throw new Error(`not yet #${attempts}`);
      },
      { timeoutMs: 200, intervalMs: 50, what: 'the impossible' },
    );
    await expect(failing).rejects.toThrow(/waiting for the impossible; last seen: error not yet #\d+/);
    expect(attempts).toBeGreaterThan(1);
    await expect(waitFor(async () => 0, { timeoutMs: 100, what: 'zero' })).resolves.toBe(0);
  });
});

describe('gRPC fixtures', () => {
  test('Echo backend answers a plain gRPC client with its id', async () => {
    const backend = await startGrpcBackend({ id: 'grpc-east-1' });
    const reply = await callEcho(backend.address, 'hello');
    expect(reply).toEqual({ id: 'grpc-east-1', payload: 'hello' });
  });

  test('proxyless xDS client runs and reports failures when no control plane answers', async () => {
    const bootstrapPath = writeGrpcBootstrap({
      dir: logDir,
      xds: { host: '127.0.0.1', port: await freePort() },
      nodeId: 'harness-grpc-client',
      metadata: { CLUSTER_ID: 'east' },
      locality: { region: 'us-east-1', zone: 'us-east-1a' },
    });
    const tally = await runGrpcXdsClient({
      bootstrapPath,
      target: 'xds:///checkout.shop.svc.cluster.local:8080',
      count: 3,
      deadlineMs: 300,
    });
    expect(tally.failures).toBe(3);
    expect(successCount(tally)).toBe(0);
  });
});
