// The `spillway` command as shipped: validate, help, serve on the example mesh for a real Envoy, SIGTERM.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { startEnvoy, stopEverything, testOutputDir } from '../harness';
import { repoRoot } from '../harness/paths';
import { freePort } from '../harness/ports';
import { startSpillwayProcess } from '../harness/spillway-process';

const CLI = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const EXAMPLE = path.join(repoRoot(), 'examples', 'mesh.yaml');
const OUTPUT = testOutputDir('cli');

function run(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

afterAll(async () => {
  await stopEverything();
});

describe('spillway CLI', () => {
  test('validate accepts the example mesh', () => {
    const result = run('validate', EXAMPLE);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ok \(3 clusters, 2 services, 6 endpoints\)/);
  });

  test('validate lists every error with file, line and path, and exits 1', () => {
    const file = path.join(OUTPUT, 'broken.yaml');
    fs.writeFileSync(
      file,
      [
        'clusters:',
        '  - name: east',
        '    region: r1',
        '    zone: z1',
        'services:',
        '  - name: checkout',
        '    namespace: shop',
        '    ports: [{ name: http, port: 8080 }]',
        '    endpoints:',
        '      - { cluster: nort, address: 127.0.0.1, port: 1 }',
        '      - { cluster: east, address: not-an-ip, port: 99999 }',
        '',
      ].join('\n'),
    );
    const result = run('validate', file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}:10: services[0].endpoints[0].cluster: unknown cluster "nort"`);
    expect(result.stderr).toMatch(/services\[0\]\.endpoints\[1\]\.address/);
    expect(result.stderr).toMatch(/services\[0\]\.endpoints\[1\]\.port/);
  });

  test('--help documents every serve flag; unknown flags and bad values are clear errors', () => {
    const help = run('serve', '--help');
    expect(help.code).toBe(0);
    for (const flag of [
      '--mesh',
      '--xds',
      '--admin',
      '--log-level',
      '--debounce-ms',
      '--max-delay-ms',
      '--xds-tls-cert',
      '--xds-client-ca',
      '--max-requests-per-second',
    ]) {
      expect(help.stdout).toContain(flag);
    }
    // The admin server binds to loopback unless told otherwise; xDS listens on every interface.
    expect(help.stdout).toMatch(/--admin HOST:PORT.*\(default 127\.0\.0\.1:15014\)/);
    expect(help.stdout).toMatch(/--xds HOST:PORT.*\(default 0\.0\.0\.0:15010\)/);
    const unknown = run('serve', '--mesch', 'x');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown flag --mesch');
    const badXds = run('serve', '--xds', 'nowhere');
    expect(badXds.code).toBe(2);
    expect(badXds.stderr).toContain('--xds "nowhere" is not HOST:PORT');
    const missing = run('serve', '--mesh', path.join(OUTPUT, 'does-not-exist.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does-not-exist\.yaml/);
  });

  test('serve --mesh examples/mesh.yaml configures a real Envoy, and SIGTERM shuts down cleanly', async () => {
    const spillway = await startSpillwayProcess({ name: 'cli-example', meshPath: EXAMPLE });
    const outboundPort = await freePort();
    const envoy = await startEnvoy({
      nodeId: 'cli-east-sidecar',
      metadata: { CLUSTER_ID: 'east', OUTBOUND_PORT: String(outboundPort) },
      xds: { host: '127.0.0.1', port: spillway.xdsPort },
      mode: 'delta',
      logDir: OUTPUT,
    });
    await envoy.waitReady();
    const clusters = await envoy.dynamicClusterNames();
    expect(clusters).toEqual(
      expect.arrayContaining([
        'outbound|8080||checkout.shop.svc.cluster.local',
        'outbound|8080|v1|checkout.shop.svc.cluster.local',
        'outbound|8080|v2|checkout.shop.svc.cluster.local',
        'outbound|8080|v2-or-v1|checkout.shop.svc.cluster.local',
      ]),
    );
    expect(clusters).not.toContain('outbound|8080||ledger.shop.svc.cluster.local');
    const v1 = await envoy.cluster('outbound|8080|v1|checkout.shop.svc.cluster.local');
    const hosts = (v1?.hosts ?? []).map((h) => `${h.address}:${h.port}@${h.priority}/w${h.weight}`).sort();
    // east's own v1 at priority 0; west (2 ready v1) and south (1 ready v1) gateways at priority 1.
    expect(hosts).toEqual(['127.0.0.1:18081@0/w1', '127.0.0.3:15443@1/w2', '127.0.0.4:15443@1/w1']);
    const clients = await spillway.adminJson<{ clients: { nodeId: string }[] }>('/debug/clients');
    expect(clients.clients.map((c) => c.nodeId)).toContain('cli-east-sidecar');
    await envoy.stop();
    await spillway.stop();
    expect(spillway.logTail()).toContain('"msg":"stopped"');
  });
});
