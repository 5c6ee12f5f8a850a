// The demo's pure parts: what it plans to start from the mesh, the readiness edit it makes to the mesh file,
// the identity protocol of its backends, and the lines it prints.
import { captureStderr } from '../harness/output';
import { EMBEDDED_MESH_YAML } from '../../src/discovery/embedded-mesh';
import { parseMeshText } from '../../src/discovery/file/mesh-file';
import { MeshModel } from '../../src/mesh/model';
import { FailoverEntry } from '../../src/visibility/failover-tracker';
import { formatIdentity, parseIdentity } from '../../src/demo/backend-identity';
import { runDemoCommand } from '../../src/demo/demo-command';
import { planDemo } from '../../src/demo/demo-plan';
import { demoBootstrap, gatewayNode, sidecarNode } from '../../src/demo/envoy-bootstrap';
import { nextReport } from '../../src/demo/failover-watch';
import { formatInstructions, remoteWeights } from '../../src/demo/instructions';
import { setClusterReadiness } from '../../src/demo/mesh-readiness';
import { formatUnavailable } from '../../src/demo/port-check';
import { formatTrafficWindow } from '../../src/demo/traffic';

function model(text = EMBEDDED_MESH_YAML): MeshModel {
  const parsed = parseMeshText(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.model;
}

describe('planDemo on the embedded mesh', () => {
  const plan = planDemo(model());

  test('one backend per endpoint address, with cluster, service and version', () => {
    expect(plan.backends.map((b) => `${formatIdentity(b.identity)}@${b.host}`).sort()).toEqual([
      'east/checkout.shop/v1/18081@127.0.0.1',
      'east/checkout.shop/v2/18085@127.0.0.1',
      'south/checkout.shop/v1/18084@127.0.0.1',
      'west/checkout.shop/v1/18082@127.0.0.1',
      'west/checkout.shop/v1/18083@127.0.0.1',
      'west/ledger.shop/unversioned/18086@127.0.0.1',
    ]);
  });

  test('a gateway per cluster, the sidecar in east, and every fixed address named with its purpose', () => {
    expect(plan.client.name).toBe('east');
    expect(plan.gateways.map((g) => `${g.cluster.name} ${g.host}:${g.port}`)).toEqual([
      'east 127.0.0.2:15443',
      'west 127.0.0.3:15443',
      'south 127.0.0.4:15443',
    ]);
    const addresses = plan.addresses.map((a) => `${a.host}:${a.port}`);
    expect(addresses).toEqual(
      expect.arrayContaining([
        '127.0.0.1:15010',
        '127.0.0.1:15014',
        '127.0.0.1:15001',
        '127.0.0.3:15443',
        '127.0.0.1:18086',
      ]),
    );
    expect(new Set(addresses).size).toBe(addresses.length);
    expect(remoteWeights(plan)).toBe('west 2, south 1');
  });

  test('a mesh without the client cluster is a clear error', () => {
    expect(() => planDemo(model(), 'north')).toThrow('no cluster "north"');
  });
});

describe('setClusterReadiness', () => {
  test('marks only that cluster not ready, keeps comments, and undoes cleanly', () => {
    const drained = setClusterReadiness(EMBEDDED_MESH_YAML, 'east', false);
    expect(drained.changed).toBe(2);
    expect(drained.text).toContain('# not exported: only clients in west see it');
    const endpoints = model(drained.text).services.get('checkout.shop.svc.cluster.local')?.endpoints ?? [];
    expect(endpoints.filter((e) => !e.ready).map((e) => e.cluster)).toEqual(['east', 'east']);
    expect(setClusterReadiness(drained.text, 'east', false).changed).toBe(0);
    const undone = setClusterReadiness(drained.text, 'east', true);
    expect(undone.changed).toBe(2);
    expect(model(undone.text)).toEqual(model());
  });
});

test('backend identity round-trips through its header and rejects garbage', () => {
  const identity = { cluster: 'west', service: 'checkout.shop', version: 'v1', port: 18082 };
  expect(parseIdentity(formatIdentity(identity))).toEqual(identity);
  for (const bad of [undefined, '', 'west/checkout.shop/v1', 'west/checkout.shop/v1/port', '/checkout.shop/v1/1'])
    expect(parseIdentity(bad)).toBeUndefined();
});

test('demo bootstraps: ADS and load reports to Spillway, node metadata for gateway and sidecar', () => {
  const cluster = model().clusters.get('west');
  if (!cluster) throw new Error('west missing');
  const gateway = demoBootstrap(gatewayNode(cluster), { host: '127.0.0.1', port: 15010 }) as {
    node: { id: string; metadata: Record<string, string>; locality: unknown };
  };
  expect(gateway.node.id).toBe('router~127.0.0.3~gateway-west');
  expect(gateway.node.metadata).toEqual({ CLUSTER_ID: 'west', ROLE: 'gateway' });
  expect(gateway.node.locality).toEqual({ region: 'europe-west1', zone: 'europe-west1-c' });
  expect(gateway).toHaveProperty(
    'cluster_manager.load_stats_config.grpc_services.0.envoy_grpc.cluster_name',
    'spillway_xds',
  );
  const sidecar = demoBootstrap(sidecarNode(cluster, { host: '127.0.0.1', port: 15001 }), {
    host: 'spillway',
    port: 15010,
  }) as { node: { metadata: Record<string, string> } };
  expect(sidecar.node.metadata).toEqual({ CLUSTER_ID: 'west', OUTBOUND_ADDRESS: '127.0.0.1', OUTBOUND_PORT: '15001' });
  expect(sidecar).toHaveProperty('static_resources.clusters.0.type', 'STRICT_DNS');
});

describe('printed lines', () => {
  test('traffic summary: answers per backend, failures per cause', () => {
    expect(
      formatTrafficWindow({
        durationMs: 10_040,
        ok: 38,
        failed: 2,
        byBackend: { 'east v1 :18081': 34, 'east v2 :18085': 4 },
        failures: { '503': 2 },
        skipped: 0,
      }),
    ).toBe('traffic 10s: 38 ok, 2 failed (503 2) | east v1 :18081 34, east v2 :18085 4');
    expect(formatTrafficWindow({ durationMs: 9_990, ok: 0, failed: 0, byBackend: {}, failures: {}, skipped: 3 })).toBe(
      'traffic 10s: 0 ok, 0 failed | 3 skipped (slow answers)',
    );
  });

  test('instructions: curl lines, the kill line with east pids, where to watch', () => {
    const plan = planDemo(model());
    const text = formatInstructions({
      plan,
      clientBackends: [
        { description: 'east checkout.shop v1 127.0.0.1:18081', pid: 101 },
        { description: 'east checkout.shop v2 127.0.0.1:18085', pid: 102 },
      ],
      meshFile: '/tmp/d/mesh.yaml',
      adminUrl: 'http://127.0.0.1:15014/',
      sidecarUrl: 'http://127.0.0.1:15001/',
      sidecarAdminUrl: 'http://127.0.0.1:40000',
      cliCommand: 'node dist/src/cli/main.js',
      workDir: '/tmp/d',
    });
    expect(text).toContain("curl -sS -H 'Host: checkout.shop.svc.cluster.local' http://127.0.0.1:15001/");
    expect(text).toContain("-H 'x-canary: true'");
    expect(text).toMatch(/^ {2}kill 101 102$/m);
    expect(text).toContain('node dist/src/cli/main.js status');
    expect(text).toContain('http://127.0.0.1:15014/');
    expect(text).toContain('Ctrl-C stops everything.');
  });

  test('busy ports: each named with its purpose, and how to find the holder', () => {
    const text = formatUnavailable([
      { host: '127.0.0.1', port: 15001, purpose: 'sidecar outbound listener (cluster east)', reason: 'busy' },
    ]);
    expect(text).toContain('127.0.0.1:15001  busy  (sidecar outbound listener (cluster east))');
    expect(text).toContain('ss -ltnp');
  });
});

describe('failover watch reports', () => {
  const entry = (
    state: FailoverEntry['state'],
    expected: FailoverEntry['state'],
    measured: boolean,
  ): FailoverEntry => ({
    clientCluster: 'east',
    service: 'checkout.shop.svc.cluster.local',
    port: 8080,
    subset: 'v1',
    priorities: [],
    expected: { state: expected, shares: {} },
    measured: measured ? { state, shares: {}, requests: 10, windowMs: 10_000 } : undefined,
    state,
    sinceMs: 0,
  });

  test('a measured change is reported; a quiet window falling back to the expected state is not', () => {
    let seen = nextReport(undefined, entry('local', 'local', true)).now;
    const spilled = nextReport(seen, entry('spilled', 'local', true));
    expect(spilled.report).toBe(true);
    seen = spilled.now;
    const quiet = nextReport(seen, entry('local', 'local', false));
    expect(quiet.report).toBe(false);
    expect(quiet.now.state).toBe('spilled');
  });

  test('an expectation change (a drain) is reported even without traffic', () => {
    const seen = nextReport(undefined, entry('local', 'local', false)).now;
    expect(nextReport(seen, entry('spilled', 'spilled', false)).report).toBe(true);
  });
});

test('spillway demo: bad flags are usage errors (exit 2) and start nothing', async () => {
  const written = await captureStderr(async () => {
    expect(await runDemoCommand(['--duration-s', 'soon'])).toBe(2);
    expect(await runDemoCommand(['--rps', '1000'])).toBe(2);
    expect(await runDemoCommand(['--colour'])).toBe(2);
  });
  expect(written).toContain('--duration-s "soon" is not a positive number of seconds');
  expect(written).toContain('unknown flag --colour');
});
