// Who may start a drill, and what a request may hold: POST only on the drill paths (everything else stays
// GET-only), the token of --admin-token-file when one is set, otherwise loopback callers only; JSON only;
// the body, the duration and the number of drills bounded. Real `spillway serve` processes, real sockets
// (the non-loopback caller connects through the machine's own non-loopback address).
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { freePort, stopEverything, testOutputDir, waitFor } from '../harness';
import { terminate, trackChild } from '../harness/child-processes';
import { httpGet } from '../harness/http-get';
import { repoRoot } from '../harness/paths';
import { SpillwayProcess, startSpillwayProcess } from '../harness/spillway-process';

const MAIN = path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
const TOKEN = 'drill-token-0123456789abcdef';

function post(
  url: string,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    request.on('error', reject);
    request.end(body);
  });
}

function nonLoopbackAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

describe('drill access and bounds (admin POST)', () => {
  let withToken: SpillwayProcess;
  const tokenFile = path.join(testOutputDir('drill-access'), 'token');

  beforeAll(async () => {
    fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    withToken = await startSpillwayProcess({
      name: 'drill-token',
      extraArgs: ['--admin-token-file', tokenFile, '--admin-max-body-bytes', '256', '--drill-max-duration-s', '30'],
    });
  });
  afterAll(async () => {
    await withToken?.stop();
    await stopEverything();
  });

  test('with --admin-token-file: no token or a wrong one is refused (401), the token starts a drill', async () => {
    const start = `${withToken.adminUrl}/debug/drill/start`;
    const body = JSON.stringify({ failure: 'east', durationS: 5 });
    expect((await post(start, body)).status).toBe(401);
    expect(
      (await post(start, body, { 'content-type': 'application/json', authorization: 'Bearer wrong-token-0123456789' }))
        .status,
    ).toBe(401);
    const ok = await post(start, body, { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).drill.failure).toBe('east');
    // The CLI sends the token from --token-file.
    const stop = spawnSync(
      process.execPath,
      [MAIN, 'drill', 'stop', '--admin', withToken.adminUrl, '--token-file', tokenFile],
      { encoding: 'utf8' },
    );
    expect(stop.status).toBe(0);
    await waitFor(
      async () => JSON.parse((await httpGet(`${withToken.adminUrl}/debug/drill`)).body).active === undefined,
      { timeoutMs: 10_000, intervalMs: 300, what: 'drill over' },
    );
    expect(withToken.logTail(100_000)).toMatch(
      /"audit":"drill","action":"start","drill":1,"failure":"east","durationS":5,"by":"127\.0\.0\.1 \(token\)"/,
    );
  });

  test('bounds: body size, JSON only, duration, unknown names, one drill at a time; other paths stay GET-only', async () => {
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
    const start = `${withToken.adminUrl}/debug/drill/start`;
    const big = await post(start, JSON.stringify({ failure: 'east', durationS: 5, padding: 'x'.repeat(300) }), auth);
    expect(big.status).toBe(413);
    expect(big.body).toContain('over 256 bytes (--admin-max-body-bytes)');
    expect(
      (await post(start, '{"failure":"east","durationS":5}', { ...auth, 'content-type': 'text/plain' })).status,
    ).toBe(415);
    expect((await post(start, 'not json', auth)).status).toBe(400);
    const long = await post(start, JSON.stringify({ failure: 'east', durationS: 31 }), auth);
    expect(long.status).toBe(400);
    expect(long.body).toContain('a drill lasts 1 s to 30 s (--drill-max-duration-s)');
    expect((await post(start, JSON.stringify({ failure: 'mars', durationS: 5 }), auth)).body).toContain(
      'no cluster \\"mars\\" in the mesh',
    );
    expect((await post(start, JSON.stringify({ failure: 'west', durationS: 20 }), auth)).status).toBe(200);
    const second = await post(start, JSON.stringify({ failure: 'south', durationS: 5 }), auth);
    expect(second.status).toBe(409);
    expect((await post(`${withToken.adminUrl}/debug/drill/stop`, '{}', auth)).status).toBe(200);
    expect((await post(`${withToken.adminUrl}/debug/drill/stop`, '{}', auth)).status).toBe(409);
    expect((await post(`${withToken.adminUrl}/debug/clients`, '{}', auth)).status).toBe(405);
    expect((await httpGet(`${withToken.adminUrl}/debug/drill/start`)).status).toBe(404);
  });

  test('without a token file only loopback callers may POST; a token file too short or too big stops serve', async () => {
    const address = nonLoopbackAddress();
    if (!address) throw new Error('this test needs a non-loopback IPv4 address on the machine');
    const port = await freePort();
    const log = fs.openSync(path.join(testOutputDir('drill-access'), 'open.log'), 'w');
    const child = spawn(
      process.execPath,
      [MAIN, 'serve', '--xds', '127.0.0.1:0', '--admin', `0.0.0.0:${port}`, '--admin-allowed-hosts', address],
      { stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    void trackChild(child);
    try {
      await waitFor(
        async () => (await httpGet(`http://127.0.0.1:${port}/readyz`).catch(() => ({ status: 0 }))).status === 200,
        { timeoutMs: 15_000, what: 'serve ready' },
      );
      const body = JSON.stringify({ failure: 'east', durationS: 2 });
      const remote = await post(`http://${address}:${port}/debug/drill/start`, body);
      expect(remote.status).toBe(403);
      expect(remote.body).toContain('needs a loopback caller, or start spillway serve with --admin-token-file');
      expect((await post(`http://127.0.0.1:${port}/debug/drill/start`, body)).status).toBe(200);
    } finally {
      await terminate(child);
    }
    const shortToken = path.join(testOutputDir('drill-access'), 'short-token');
    fs.writeFileSync(shortToken, 'short\n');
    const refused = spawnSync(
      process.execPath,
      [MAIN, 'serve', '--xds', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--admin-token-file', shortToken],
      { encoding: 'utf8', timeout: 15_000 },
    );
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('must hold one token of at least 16 characters without spaces');
    const bigToken = path.join(testOutputDir('drill-access'), 'big-token');
    fs.writeFileSync(bigToken, 'x'.repeat(5000));
    const tooBig = spawnSync(
      process.execPath,
      [MAIN, 'serve', '--xds', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--admin-token-file', bigToken],
      { encoding: 'utf8', timeout: 15_000 },
    );
    expect(tooBig.status).toBe(2);
    expect(tooBig.stderr).toContain('is 5000 bytes; a token file holds one line of at most 4096 bytes');
  });
});
