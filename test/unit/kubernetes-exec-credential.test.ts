// Exec credential plugins run for real (small shell scripts): what they are given, how their token is
// cached, and the bounds on their run time and output.
import * as fs from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ExecCredentialSource, ExecPluginConfig, ExecPlugins } from '../../src/discovery/kubernetes/exec-credential';
import { resolveAccess } from '../../src/discovery/kubernetes/api-access';

const V1 = 'client.authentication.k8s.io/v1';
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'spillway-exec-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(dir, name);
  fs.writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

function plugin(command: string, extra: Partial<ExecPluginConfig> = {}): ExecPluginConfig {
  return { apiVersion: V1, command, args: [], env: {}, origin: 'kubeconfig test.yaml (user u)', ...extra };
}

const credential = (token: string, expires?: string): string =>
  JSON.stringify({
    apiVersion: V1,
    kind: 'ExecCredential',
    status: { token, ...(expires ? { expirationTimestamp: expires } : {}) },
  });

describe('exec credential plugins', () => {
  test('the token is cached until expirationTimestamp, then the plugin runs again; a refused token is forgotten', async () => {
    const counter = join(dir, 'count');
    fs.writeFileSync(counter, '');
    const command = script(
      'counting.sh',
      `echo x >> ${counter}\nn=$(wc -l < ${counter})\necho '${credential('token-N', '2030-01-01T00:00:N0Z').replace(/N/g, "'$n'")}'`,
    ); // token-n expires at n*10 s
    let now = Date.parse('2030-01-01T00:00:00Z');
    const source = new ExecCredentialSource(plugin(command), { timeoutMs: 5_000, maxOutputBytes: 4096 }, () => now);
    const [a, b] = await Promise.all([source.token(), source.token()]);
    expect([a, b]).toEqual(['token-1', 'token-1']); // concurrent callers share one run
    now += 9_000;
    expect(await source.token()).toBe('token-1');
    now += 1_000; // at expirationTimestamp
    expect(await source.token()).toBe('token-2');
    source.rejected('token-1'); // an old token's 401 does not drop the new one
    expect(await source.token()).toBe('token-2');
    source.rejected('token-2');
    expect(await source.token()).toBe('token-3');
    expect(source.runs).toBe(3);
  });

  test('a token without expirationTimestamp is kept until a 401', async () => {
    const source = new ExecCredentialSource(plugin(script('forever.sh', `echo '${credential('forever')}'`)));
    expect(await source.token()).toBe('forever');
    expect(await source.token()).toBe('forever');
    expect(source.runs).toBe(1);
  });

  test('args, env and KUBERNETES_EXEC_INFO reach the plugin', async () => {
    const out = join(dir, 'seen.json');
    const command = script(
      'echo-info.sh',
      `printf '%s|%s|%s' "$1" "$PLUGIN_ENV" "$KUBERNETES_EXEC_INFO" > ${out}\necho '${credential('t')}'`,
    );
    await new ExecCredentialSource(
      plugin(command, {
        args: ['--region', 'x'],
        env: { PLUGIN_ENV: 'e1' },
        clusterInfo: { server: 'https://k:6443' },
      }),
    ).token();
    const [arg, env, info] = fs.readFileSync(out, 'utf8').split('|');
    expect([arg, env]).toEqual(['--region', 'e1']);
    expect(JSON.parse(info ?? '')).toEqual({
      apiVersion: V1,
      kind: 'ExecCredential',
      spec: { interactive: false, cluster: { server: 'https://k:6443' } },
    });
  });

  test('bounds: a plugin that hangs is killed after the timeout; one that prints too much is killed', async () => {
    const started = Date.now();
    const hung = new ExecCredentialSource(plugin(script('hang.sh', 'sleep 30')), {
      timeoutMs: 300,
      maxOutputBytes: 4096,
    });
    await expect(hung.token()).rejects.toThrow(/did not finish within 300ms \(--kube-exec-timeout-ms\); it was killed/);
    expect(Date.now() - started).toBeLessThan(5_000);
    const chatty = new ExecCredentialSource(plugin(script('chatty.sh', 'head -c 100000 /dev/zero | tr "\\0" a')), {
      timeoutMs: 5_000,
      maxOutputBytes: 1024,
    });
    await expect(chatty.token()).rejects.toThrow(
      /printed more than 1024 bytes \(--kube-exec-max-output-bytes\); it was killed/,
    );
  });

  test('failures say what went wrong', async () => {
    const limits = { timeoutMs: 5_000, maxOutputBytes: 4096 };
    await expect(
      new ExecCredentialSource(
        plugin(join(dir, 'absent'), { installHint: 'install it with: apt install x' }),
        limits,
      ).token(),
    ).rejects.toThrow(/could not be started: .*ENOENT.*; install it with: apt install x/);
    await expect(
      new ExecCredentialSource(plugin(script('exit3.sh', 'echo "no login" >&2; exit 3')), limits).token(),
    ).rejects.toThrow(/exited with 3: no login/);
    await expect(new ExecCredentialSource(plugin(script('text.sh', 'echo hello')), limits).token()).rejects.toThrow(
      /did not print an ExecCredential \(JSON\)/,
    );
    const beta = JSON.stringify({
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      kind: 'ExecCredential',
      status: { token: 't' },
    });
    await expect(new ExecCredentialSource(plugin(script('beta.sh', `echo '${beta}'`)), limits).token()).rejects.toThrow(
      /printed apiVersion "client.authentication.k8s.io\/v1beta1"; the kubeconfig asked for client.authentication.k8s.io\/v1/,
    );
    const cert = JSON.stringify({
      apiVersion: V1,
      kind: 'ExecCredential',
      status: { clientCertificateData: 'PEM', clientKeyData: 'KEY' },
    });
    await expect(new ExecCredentialSource(plugin(script('cert.sh', `echo '${cert}'`)), limits).token()).rejects.toThrow(
      /has no status.token \(it gave a client certificate: Spillway takes tokens only from plugins\)/,
    );
    const badTime = JSON.stringify({
      apiVersion: V1,
      kind: 'ExecCredential',
      status: { token: 't', expirationTimestamp: 'tomorrow' },
    });
    await expect(
      new ExecCredentialSource(plugin(script('time.sh', `echo '${badTime}'`)), limits).token(),
    ).rejects.toThrow(/"tomorrow" is not an RFC 3339 time/);
  });
});

describe('plugins shared by the watches of one source', () => {
  const kubeconfig = (command: string) =>
    [
      'apiVersion: v1',
      'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:6443" } }]',
      'contexts: [{ name: ctx, context: { cluster: c, user: u } }]',
      'current-context: ctx',
      `users: [{ name: u, user: { exec: { apiVersion: ${V1}, command: ${command} } } }]`,
      '',
    ].join('\n');

  test("the same kubeconfig user read twice (a cluster's watch and its remote-Secrets watch, or a re-read) runs its plugin once", async () => {
    const counter = join(dir, 'shared-count');
    fs.writeFileSync(counter, '');
    const command = script('shared.sh', `echo x >> ${counter}\necho '${credential('shared-token')}'`);
    const file = join(dir, 'shared.kubeconfig');
    fs.writeFileSync(file, kubeconfig(command));
    const plugins = new ExecPlugins();
    const tokenOf = async (): Promise<string> => {
      const access = resolveAccess({ kind: 'kubeconfig', path: file }, { plugins });
      if (!access.ok || access.access.token?.kind !== 'exec')
        throw new Error(`no exec token source: ${JSON.stringify(access)}`);
      return access.access.token.plugin.token();
    };
    expect(await Promise.all([tokenOf(), tokenOf()])).toEqual(['shared-token', 'shared-token']);
    expect(await tokenOf()).toBe('shared-token');
    expect(fs.readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(1);
    // Without sharing, each reading has its own cache and runs the plugin again.
    const alone = resolveAccess({ kind: 'kubeconfig', path: file });
    if (!alone.ok || alone.access.token?.kind !== 'exec') throw new Error('no exec token source');
    await alone.access.token.plugin.token();
    expect(fs.readFileSync(counter, 'utf8').trim().split('\n')).toHaveLength(2);
  });
});
