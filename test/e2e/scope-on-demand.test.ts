// On demand with real Envoys (`serve --scope on-demand`): a delta sidecar whose workload declares nothing
// starts with no service cluster at all; its first request to a service succeeds (Envoy's on-demand filter
// asks Spillway for the route's cluster over the ADS stream and replays the request), and afterwards the
// service's clusters stay in the proxy's configuration. SotW sidecars keep the whole mesh.
import * as fs from 'fs';
import { spawn } from 'child_process';
import * as http from 'http';
import * as path from 'path';
import * as YAML from 'yaml';
import {
  Backend,
  EnvoyProcess,
  Tally,
  sendRequests,
  sleep,
  startEnvoy,
  startHttpBackend,
  stopEverything,
  waitFor,
} from '../harness';
import { answeredBy } from '../harness/tally-shares';
import { SpillwayProcess, startSpillwayProcess } from '../harness/spillway-process';
import { freePort } from '../harness/ports';
import { testOutputDir } from '../harness/output';
import { repoRoot } from '../harness/paths';

const CHECKOUT = 'checkout.shop.svc.cluster.local';
const LEDGER = 'ledger.shop.svc.cluster.local';
const EAST = { name: 'east', region: 'europe-west1', zone: 'europe-west1-b' };
const FILLER_SERVICES = 50;

const serviceClusters = (names: string[]): string[] => names.filter((name) => name.startsWith('outbound|')).sort();

function post(url: string, host: string, body: string): Promise<{ status: number; flags?: string; id?: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      { method: 'POST', headers: { host, 'content-length': Buffer.byteLength(body) }, timeout: 10_000 },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            flags: response.headers['x-envoy-response-flags'] as string | undefined,
            id: response.headers['x-backend-id'] as string | undefined,
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

describe('on-demand clusters (serve --scope on-demand, real Envoy over delta xDS)', () => {
  const dir = testOutputDir(`scope-on-demand-${process.pid}`);
  let backends: Record<string, Backend>;
  let spillway: SpillwayProcess;
  const envoys: EnvoyProcess[] = [];

  function meshDocument(unusedPort: number): Record<string, unknown> {
    const endpoint = (backend: Backend, version?: string) => ({
      cluster: 'east',
      address: '127.0.0.1',
      port: backend.port,
      ...(version ? { labels: { version } } : {}),
    });
    return {
      clusters: [{ name: 'east', region: EAST.region, zone: EAST.zone }],
      services: [
        {
          name: 'checkout',
          namespace: 'shop',
          ports: [{ name: 'http', port: 8080 }],
          canary: { stable: 'v1', canary: 'v2', weight: 0, header: { name: 'x-canary', exact: 'true' } },
          endpoints: [endpoint(backends.checkoutV1, 'v1'), endpoint(backends.checkoutV2, 'v2')],
        },
        {
          name: 'ledger',
          namespace: 'shop',
          ports: [{ name: 'http', port: 8080 }],
          endpoints: [endpoint(backends.ledger)],
        },
        ...Array.from({ length: FILLER_SERVICES }, (_, i) => ({
          name: `svc-${i}`,
          namespace: 'fill',
          ports: [{ name: 'http', port: 8080 }],
          endpoints: [{ cluster: 'east', address: '127.0.0.1', port: unusedPort }],
        })),
      ],
    };
  }

  async function sidecar(name: string, mode: 'sotw' | 'delta'): Promise<{ envoy: EnvoyProcess; url: string }> {
    const outboundPort = await freePort();
    const envoy = await startEnvoy({
      nodeId: `sidecar~127.0.0.1~${name}.shop`,
      metadata: { CLUSTER_ID: 'east', OUTBOUND_PORT: String(outboundPort) },
      locality: { region: EAST.region, zone: EAST.zone },
      xds: { host: '127.0.0.1', port: spillway.xdsPort },
      mode,
      logDir: dir,
    });
    envoys.push(envoy);
    await envoy.waitReady();
    return { envoy, url: `http://127.0.0.1:${outboundPort}/` };
  }

  const call = (url: string, host: string, count = 1, headers: Record<string, string> = {}): Promise<Tally> =>
    sendRequests({ url, hostHeader: host, count, concurrency: 1, headers, timeoutMs: 10_000 });

  beforeAll(async () => {
    const start = (id: string) => startHttpBackend({ id });
    backends = {
      checkoutV1: await start('checkout-v1'),
      checkoutV2: await start('checkout-v2'),
      ledger: await start('ledger-1'),
    };
    const meshPath = path.join(dir, 'mesh.yaml');
    fs.writeFileSync(meshPath, YAML.stringify(meshDocument(await freePort())));
    spillway = await startSpillwayProcess({
      name: `scope-on-demand-${process.pid}`,
      meshPath,
      extraArgs: ['--scope', 'on-demand'],
    });
  });
  afterAll(async () => {
    await Promise.all(envoys.map((e) => e.stop()));
    await spillway?.stop();
    await stopEverything();
  });

  test('the first request to a service not in the initial configuration succeeds, and its clusters stay', async () => {
    const { envoy, url } = await sidecar('web-1', 'delta');
    expect(serviceClusters(await envoy.dynamicClusterNames())).toEqual([]);

    const started = Date.now();
    const first = await call(url, CHECKOUT);
    const firstMs = Date.now() - started;
    console.log(`first request to checkout on demand: ${JSON.stringify(first.statuses)} in ${firstMs} ms`);
    expect(first.failures).toBe(0);
    expect(answeredBy(first)).toEqual(['checkout-v1']);
    const checkoutClusters = serviceClusters(await envoy.dynamicClusterNames());
    // The route named the stable subset; the whole service came with it (plain, subsets, canary aggregate).
    expect(checkoutClusters).toEqual(
      [
        `outbound|8080|v1|${CHECKOUT}`,
        `outbound|8080|v2-or-v1|${CHECKOUT}`,
        `outbound|8080|v2|${CHECKOUT}`,
        `outbound|8080||${CHECKOUT}`,
      ].sort(),
    );
    expect(await envoy.stat('cluster_manager.odcds.update_success')).toBeGreaterThanOrEqual(1);

    // The canary aggregate arrived with it: header traffic is served at once, no further discovery.
    const canary = await call(url, CHECKOUT, 10, { 'x-canary': 'true' });
    expect(canary.failures).toBe(0);
    expect(answeredBy(canary)).toEqual(['checkout-v2']);

    // A second service on demand adds to the first, never replaces it.
    const ledger = await call(url, LEDGER);
    expect(ledger.failures).toBe(0);
    expect(answeredBy(ledger)).toEqual(['ledger-1']);
    await sleep(2_000);
    const later = serviceClusters(await envoy.dynamicClusterNames());
    expect(later).toEqual([...checkoutClusters, `outbound|8080||${LEDGER}`].sort());
    const again = await call(url, CHECKOUT, 10);
    expect(again.failures).toBe(0);
  });

  test('a first request that the route sends to the canary aggregate succeeds too (its children come first)', async () => {
    const { url } = await sidecar('web-5', 'delta');
    const started = Date.now();
    const first = await call(url, CHECKOUT, 1, { 'x-canary': 'true' });
    console.log(
      `first request to the canary aggregate on demand: ${JSON.stringify(first.statuses)} in ${Date.now() - started} ms`,
    );
    expect(first.failures).toBe(0);
    expect(answeredBy(first)).toEqual(['checkout-v2']);
  });

  test('what was fetched on demand survives a Spillway restart (Envoy subscribes to those names again)', async () => {
    const { envoy, url } = await sidecar('web-3', 'delta');
    expect((await call(url, LEDGER)).failures).toBe(0);
    const port = spillway.xdsPort;
    await spillway.stop();
    spillway = await startSpillwayProcess({
      name: `scope-on-demand-restarted-${process.pid}`,
      meshPath: path.join(dir, 'mesh.yaml'),
      xdsPort: port,
      extraArgs: ['--scope', 'on-demand'],
    });
    await waitFor(async () => (await envoy.stat('control_plane.connected_state')) === 1, {
      timeoutMs: 15_000,
      what: 'sidecar reconnected',
    });
    await sleep(1_000);
    expect(serviceClusters(await envoy.dynamicClusterNames())).toEqual([`outbound|8080||${LEDGER}`]);
    const after = await call(url, LEDGER, 5);
    expect(after.failures).toBe(0);
  });

  test('a first request with a body (POST) is held and replayed too', async () => {
    const { envoy, url } = await sidecar('web-4', 'delta');
    const first = await post(url, CHECKOUT, 'x'.repeat(1000));
    console.log(`first POST on demand: ${JSON.stringify(first)}`);
    expect(first).toEqual({ status: 200, id: 'checkout-v1' });
    expect(serviceClusters(await envoy.dynamicClusterNames())).toHaveLength(4);
  });

  test('serve refuses an unknown --scope, naming the choices', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'), 'serve', '--scope', 'lazy'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--scope "lazy" is not one of all, on-demand');
  });

  test('a SotW sidecar keeps every cluster (Envoy supports on-demand CDS only over delta xDS)', async () => {
    const { envoy, url } = await sidecar('web-2', 'sotw');
    expect(serviceClusters(await envoy.dynamicClusterNames()).length).toBeGreaterThanOrEqual(FILLER_SERVICES + 5);
    const plain = await call(url, CHECKOUT, 5);
    expect(plain.failures).toBe(0);
  });
});
