// The clusters file (every rule, with path and line) and kubeconfig reading.
import * as fs from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadKubeconfig, resolveAccess } from '../../src/discovery/kubernetes/api-access';
import {
  ClustersParseResult,
  KubeClusterConfig,
  loadClustersFile,
  parseClustersText,
} from '../../src/discovery/kubernetes/clusters-file';
import {
  kubernetesSourceStarter,
  parseNamespaceList,
  startKubernetesDiscovery,
  validateClustersFile,
} from '../../src/discovery/kubernetes/kubernetes-discovery';
import { MeshStore } from '../../src/mesh/store';
import pino from 'pino';
import { ConfigError, formatConfigErrors } from '../../src/config-validation/config-error';

const lines = (...text: string[]) => text.join('\n') + '\n';
const BASE = '/etc/spillway';

function clustersOf(result: ClustersParseResult): KubeClusterConfig[] {
  if (!result.ok) throw new Error('expected a valid file:\n' + formatConfigErrors('clusters.yaml', result.errors));
  return result.clusters;
}

function errorsOf(result: ClustersParseResult): ConfigError[] {
  if (result.ok) throw new Error('expected the file to be rejected');
  return result.errors;
}

describe('clusters file', () => {
  test('reads every way to reach an API server, resolving relative paths against the file', () => {
    const clusters = clustersOf(
      parseClustersText(
        lines(
          'namespaces: [shop, payments]',
          'clusters:',
          '  - { name: east, region: r1, zone: r1-a, gateway: "127.0.0.2:15443", kubeconfig: east.kubeconfig, context: east-admin }',
          '  - name: west',
          '    region: r1',
          '    zone: r1-b',
          '    gateway: "[::1]:15443"',
          '    apiServer: https://10.1.0.1:6443',
          '    tokenFile: secrets/west.token',
          '    caFile: /abs/ca.crt',
          '    namespaces: [shop]',
          '  - { name: local, region: r2, zone: r2-a, inCluster: true }',
        ),
        BASE,
      ),
    );
    expect(clusters).toEqual([
      {
        cluster: { name: 'east', region: 'r1', zone: 'r1-a', gateway: { address: '127.0.0.2', port: 15443 } },
        access: { kind: 'kubeconfig', path: '/etc/spillway/east.kubeconfig', context: 'east-admin' },
        namespaces: ['shop', 'payments'],
      },
      {
        cluster: { name: 'west', region: 'r1', zone: 'r1-b', gateway: { address: '::1', port: 15443 } },
        access: {
          kind: 'direct',
          apiServer: 'https://10.1.0.1:6443',
          tokenFile: '/etc/spillway/secrets/west.token',
          caFile: '/abs/ca.crt',
          insecureSkipTlsVerify: false,
        },
        namespaces: ['shop'],
      },
      {
        cluster: { name: 'local', region: 'r2', zone: 'r2-a' },
        access: { kind: 'in-cluster' },
        namespaces: ['shop', 'payments'],
      },
    ]);
  });

  test('every error names its path and line, all at once', () => {
    const errors = errorsOf(
      parseClustersText(
        lines(
          'clusters:',
          '  - name: East', // 2
          '    region: r1',
          '    zone: r1-a',
          '    kubeconfig: a.yaml',
          '    tokenFile: t', // 6
          '  - name: west', // 7
          '    region: r1',
          '    gateway: gw.example:15443', // 9
          '    apiServer: not a url', // 10
          '    kubeconfig: b.yaml',
          '  - name: south', // 12
          '    region: r1',
          '    zone: r1-c',
          '    apiServer: https://10.0.0.1:6443',
          '    namespaces: []', // 16
          '    colour: blue', // 17
          '  - { name: south, region: r1, zone: r1-c, inCluster: true }', // 18
        ),
        BASE,
      ),
    );
    expect(errors.map((error) => `${error.line} ${error.path}: ${error.message}`)).toEqual([
      `2 clusters[0].name: "East" is not a DNS label (lowercase letters, digits and '-')`,
      '6 clusters[0].tokenFile: only applies with apiServer (a kubeconfig carries its own)',
      '7 clusters[1].zone: is required',
      '7 clusters[1]: give only one of kubeconfig, apiServer',
      '9 clusters[1].gateway: "gw.example:15443" is not IP:PORT (the gateway is reached by IP; IPv6 in brackets: [::1]:15443)',
      '16 clusters[2].namespaces: must name at least one namespace (leave it out to watch all)',
      '17 clusters[2].colour: unknown key "colour" (allowed: name, region, zone, gateway, gatewayKind, kubeconfig, context, apiServer, tokenFile, caFile, insecureSkipTlsVerify, inCluster, namespaces)',
      '18 clusters[3].name: duplicate cluster name "south" (first at clusters[2])',
    ]);
  });

  test('syntax errors, an empty file and a missing clusters list are reported with a line', () => {
    expect(errorsOf(parseClustersText('clusters: [\n', BASE))[0]?.line).toBeGreaterThanOrEqual(1);
    expect(errorsOf(parseClustersText('', BASE))[0]?.message).toMatch(/empty/);
    expect(errorsOf(parseClustersText('namespaces: [a]\n', BASE))).toEqual([
      { path: 'clusters', line: 1, message: 'is required' },
    ]);
    expect(errorsOf(parseClustersText('clusters: []\n', BASE))).toEqual([
      { path: 'clusters', line: 1, message: 'needs at least one cluster' },
    ]);
    expect(errorsOf(parseClustersText(lines('clusters:', '  - { name: a, region: r, zone: z }'), BASE))[0]).toEqual({
      path: 'clusters[0]',
      line: 2,
      message: 'needs one of kubeconfig, apiServer or inCluster: true',
    });
  });

  test('loadClustersFile reports an unreadable file', () => {
    expect(errorsOf(loadClustersFile('/nonexistent/clusters.yaml'))[0]?.message).toMatch(
      /cannot read the clusters file/,
    );
  });
});

describe('kubeconfig', () => {
  const dir = fs.mkdtempSync(join(tmpdir(), 'spillway-kubeconfig-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    fs.writeFileSync(path, text);
    return path;
  };

  const kubeconfig = (user: string[], extraCluster: string[] = []) =>
    lines(
      'apiVersion: v1',
      'kind: Config',
      'current-context: main',
      'contexts:',
      '  - { name: main, context: { cluster: c1, user: u1 } }',
      '  - { name: other, context: { cluster: c2, user: u1 } }',
      'clusters:',
      '  - name: c1',
      '    cluster:',
      '      server: https://127.0.0.1:6443/',
      `      certificate-authority-data: ${Buffer.from('CA PEM').toString('base64')}`,
      ...extraCluster,
      '  - name: c2',
      '    cluster: { server: "http://127.0.0.1:8001", certificate-authority: ca.pem }',
      'users:',
      '  - name: u1',
      '    user:',
      ...user.map((line) => `      ${line}`),
    );

  test('reads server, CA and token of the current context; the token file is resolved beside the kubeconfig', () => {
    write('ca.pem', 'FILE CA');
    const path = write('a.yaml', kubeconfig(['tokenFile: token.txt']));
    const result = loadKubeconfig(path);
    if (!result.ok) throw new Error(result.error);
    expect(result.access).toEqual({
      server: 'https://127.0.0.1:6443',
      ca: Buffer.from('CA PEM'),
      insecureSkipTlsVerify: false,
      token: { kind: 'file', path: join(dir, 'token.txt') },
      origin: `kubeconfig ${path} (context main)`,
    });
    const other = loadKubeconfig(path, 'other');
    if (!other.ok) throw new Error(other.error);
    expect(other.access.server).toBe('http://127.0.0.1:8001');
    expect(other.access.ca).toEqual(Buffer.from('FILE CA'));
  });

  test('client certificates and inline tokens', () => {
    const data = (text: string) => Buffer.from(text).toString('base64');
    const path = write(
      'b.yaml',
      kubeconfig(
        [`client-certificate-data: ${data('CERT')}`, `client-key-data: ${data('KEY')}`, 'token: abc'],
        ['      insecure-skip-tls-verify: true'],
      ),
    );
    const result = loadKubeconfig(path);
    if (!result.ok) throw new Error(result.error);
    expect(result.access.clientCert).toEqual(Buffer.from('CERT'));
    expect(result.access.clientKey).toEqual(Buffer.from('KEY'));
    expect(result.access.token).toEqual({ kind: 'inline', token: 'abc' });
    expect(result.access.insecureSkipTlsVerify).toBe(true);
  });

  test('what cannot work is refused with what to do instead', () => {
    const authProvider = loadKubeconfig(write('c.yaml', kubeconfig(['auth-provider: { name: gcp }'])));
    expect(authProvider).toEqual({
      ok: false,
      error: expect.stringMatching(
        /auth-provider plugins are not supported; use an exec plugin, a service-account token/,
      ),
    });
    const execText = kubeconfig([
      'exec: { command: gke-gcloud-auth-plugin, apiVersion: client.authentication.k8s.io/v1, interactiveMode: IfAvailable }',
    ]);
    expect(loadKubeconfig(write('c2.yaml', execText))).toMatchObject({ ok: true, access: { token: { kind: 'exec' } } });
    // A remote Secret's kubeconfig may not run commands in Spillway.
    expect(resolveAccess({ kind: 'kubeconfig-text', text: execText, origin: 'Secret spillway-system/west' })).toEqual({
      ok: false,
      error: expect.stringMatching(
        /exec credential plugins are refused here \(whoever writes it could run commands in Spillway\)/,
      ),
    });
    const interactive = loadKubeconfig(
      write(
        'c3.yaml',
        kubeconfig(['exec: { command: x, apiVersion: client.authentication.k8s.io/v1, interactiveMode: Always }']),
      ),
    );
    expect(interactive).toEqual({
      ok: false,
      error: expect.stringMatching(/interactiveMode: Always needs a terminal/),
    });
    const alpha = loadKubeconfig(
      write('c4.yaml', kubeconfig(['exec: { command: x, apiVersion: client.authentication.k8s.io/v1alpha1 }'])),
    );
    expect(alpha).toEqual({
      ok: false,
      error: expect.stringMatching(/"client.authentication.k8s.io\/v1alpha1" is not supported/),
    });
    fs.writeFileSync(join(dir, 'huge.yaml'), Buffer.alloc(1024 * 1024 + 1, 'a'));
    expect(loadKubeconfig(join(dir, 'huge.yaml'))).toEqual({
      ok: false,
      error: expect.stringMatching(/is larger than 1048576 bytes/),
    });
    const noContext = loadKubeconfig(write('d.yaml', kubeconfig(['token: x'])), 'missing');
    expect(noContext).toEqual({ ok: false, error: expect.stringMatching(/no entry named "missing"/) });
    expect(loadKubeconfig(join(dir, 'absent.yaml'))).toEqual({
      ok: false,
      error: expect.stringMatching(/cannot read kubeconfig/),
    });
    expect(
      resolveAccess({
        kind: 'direct',
        apiServer: 'https://x:1',
        caFile: join(dir, 'absent.pem'),
        insecureSkipTlsVerify: false,
      }),
    ).toEqual({
      ok: false,
      error: expect.stringMatching(/absent\.pem/),
    });
  });
});

describe('command-line front door', () => {
  test('namespace lists', () => {
    expect(parseNamespaceList('shop, payments,shop')).toEqual(['shop', 'payments']);
    expect(parseNamespaceList(' , ')).toEqual({ error: 'needs at least one namespace, e.g. shop,payments' });
    expect(parseNamespaceList('shop,Payments')).toEqual({ error: '"Payments" is not a namespace name (a DNS label)' });
  });

  test('a wrong clusters file is refused with FILE:LINE: PATH: MESSAGE lines; nothing starts', async () => {
    const dir = fs.mkdtempSync(join(tmpdir(), 'spillway-clusters-'));
    const file = join(dir, 'clusters.yaml');
    fs.writeFileSync(file, lines('clusters:', '  - { name: east, region: r1, zone: r1-a }'));
    const expected = `${file}:2: clusters[0]: needs one of kubeconfig, apiServer or inCluster: true`;
    expect(validateClustersFile(file)).toEqual({ ok: false, errors: expected });
    const store = new MeshStore();
    expect(startKubernetesDiscovery({ clustersFile: file, store, logger: pino({ level: 'silent' }) })).toEqual({
      ok: false,
      errors: expected,
    });
    expect(store.current().clusters.size).toBe(0);
    const starter = kubernetesSourceStarter({
      clustersFile: file,
      invalidConfig: (message) => new RangeError(message),
    });
    expect(() => starter(store, pino({ level: 'silent' }))).toThrow(
      new RangeError(`${expected}\n${file} is not a valid clusters file; fix it and start again`),
    );

    fs.writeFileSync(file, lines('clusters:', '  - { name: east, region: r1, zone: r1-a, kubeconfig: east.yaml }'));
    expect(validateClustersFile(file)).toEqual({ ok: true, clusters: 1 });
    // A valid file starts at once: the cluster is known, not synced (its kubeconfig is missing).
    const handle = starter(store, pino({ level: 'silent' }));
    expect(store.current().clusters.has('east')).toBe(true);
    expect(handle.synced()).toBe(false);
    expect(handle.statuses()).toEqual([{ name: 'kubernetes/east', reloads: 0, rejected: 0 }]);
    await handle.stop();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
