// The list+watch loop against a scripted fake API server, for what a real one rarely does on demand:
// malformed objects, a 410 in the middle of a watch, a silent (half-open) watch, a CRD that appears later.
import * as http from 'http';
import { AddressInfo } from 'net';
import pino from 'pino';
import { KubeClient } from '../../src/discovery/kubernetes/kube-client';
import { KubeService } from '../../src/discovery/kubernetes/kube-objects';
import { SERVICES, SERVICE_EXPORTS } from '../../src/discovery/kubernetes/kube-resources';
import { Reflector, ReflectorTiming } from '../../src/discovery/kubernetes/reflector';
import { waitFor } from '../harness/ports';

type Handler = (request: http.IncomingMessage, response: http.ServerResponse, url: URL) => void;

const FAST: Partial<ReflectorTiming> = {
  watchTimeoutMinSeconds: 30,
  watchTimeoutMaxSeconds: 30,
  backoffMinMs: 20,
  backoffMaxMs: 100,
  absentRecheckMs: 100,
};

let server: http.Server;
let handler: Handler;
let client: KubeClient;
const seen: string[] = [];
const logs: { level: number; msg: string }[] = [];
const logger = pino(
  { level: 'debug' },
  { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) },
);
const reflectors: Reflector<unknown>[] = [];

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    seen.push(
      `${url.pathname}${url.searchParams.get('watch') ? ` watch rv=${String(url.searchParams.get('resourceVersion'))}` : ' list'}`,
    );
    handler(request, response, url);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new KubeClient({
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    insecureSkipTlsVerify: false,
    origin: 'the fake server',
  });
});

afterEach(async () => {
  await Promise.all(reflectors.splice(0).map((reflector) => reflector.stop()));
  seen.length = 0;
  logs.length = 0;
});

afterAll(async () => {
  client.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function svc(name: string, resourceVersion: string, port: unknown = 80): object {
  return { metadata: { name, namespace: 'shop', resourceVersion }, spec: { ports: [{ name: 'http', port }] } };
}

function list(resourceVersion: string, items: object[]): string {
  return JSON.stringify({ kind: 'ServiceList', metadata: { resourceVersion }, items });
}

function event(type: string, object: object): string {
  return JSON.stringify({ type, object }) + '\n';
}

function start<T>(reflector: Reflector<T>): Reflector<T> {
  reflectors.push(reflector);
  reflector.start();
  return reflector;
}

function services(timing: Partial<ReflectorTiming> = FAST): Reflector<KubeService> {
  return start(new Reflector({ client, kind: SERVICES, cluster: 'test', logger, timing, onChange: () => undefined }));
}

const portOf = (reflector: Reflector<KubeService>, key: string) => reflector.items.get(key)?.ports[0]?.port;

test('malformed objects keep their last good version; a 410 in the watch re-lists', async () => {
  let lists = 0;
  let watches = 0;
  handler = (_request, response, url) => {
    if (!url.searchParams.get('watch')) {
      lists++;
      // The second list (after the 410) shows the state the watch would have shown.
      response.end(
        lists === 1
          ? list('10', [svc('a', '5'), svc('bad', '6', 'x')])
          : list('30', [svc('a', '25', 81), svc('c', '26')]),
      );
      return;
    }
    watches++;
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.flushHeaders();
    if (watches === 1) {
      response.write(event('MODIFIED', svc('a', '11', 'not a number')));
      response.write(event('BOOKMARK', { metadata: { resourceVersion: '12' } }));
      response.write(event('ADDED', svc('b', '13')));
      response.write(event('ERROR', { kind: 'Status', code: 410, message: 'too old resource version: 12 (20)' }));
    }
    // Later watches stay open until the reflector stops.
  };
  const reflector = services();
  await waitFor(async () => reflector.items.has('shop/c') && reflector.state.connected, {
    timeoutMs: 5_000,
    what: 'the re-list after 410',
  });
  expect([...reflector.items.keys()].sort()).toEqual(['shop/a', 'shop/c']);
  expect(portOf(reflector, 'shop/a')).toBe(81);
  expect(seen).toEqual([
    '/api/v1/services list',
    '/api/v1/services watch rv=10',
    '/api/v1/services list',
    '/api/v1/services watch rv=30',
  ]);
  const warnings = logs.filter((line) => line.level === 40).map((line) => line.msg);
  expect(warnings).toEqual([
    'services shop/bad is malformed (spec.ports[0].port: must be a whole number, got "x"); it is ignored until it is fixed',
    'services shop/a is malformed (spec.ports[0].port: must be a whole number, got "not a number"); its last good version is kept until it is fixed',
  ]);
  expect(logs.some((line) => line.msg.includes('410 Gone'))).toBe(true);
  expect(reflector.state).toMatchObject({ synced: true, connected: true, errors: 0 });
});

test('a watch that goes silent is abandoned and re-opened from the last resourceVersion', async () => {
  handler = (_request, response, url) => {
    if (!url.searchParams.get('watch')) {
      response.end(list('7', [svc('a', '7')]));
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.write(event('BOOKMARK', { metadata: { resourceVersion: '8' } }));
    // ...and never another byte, nor the end: like a peer that vanished.
  };
  services({ ...FAST, watchTimeoutMinSeconds: 0, watchTimeoutMaxSeconds: 0, idleSlackMs: 200 });
  await waitFor(async () => seen.filter((line) => line.includes('watch rv=8')).length >= 2, {
    timeoutMs: 5_000,
    what: 'two re-watches from rv 8',
  });
  expect(seen[0]).toBe('/api/v1/services list');
  expect(seen.filter((line) => line.endsWith('list'))).toHaveLength(1); // no re-list: the resourceVersion is still good
  expect(logs.some((line) => line.level === 50 && line.msg.includes('no data for 200ms'))).toBe(true);
});

test('an optional resource that is not served is absent (synced, empty) until its CRD appears', async () => {
  let installed = false;
  handler = (_request, response, url) => {
    if (!installed) {
      response.writeHead(404, { 'Content-Type': 'application/json' });
      response.end(
        JSON.stringify({ kind: 'Status', code: 404, message: 'the server could not find the requested resource' }),
      );
      return;
    }
    if (!url.searchParams.get('watch')) {
      response.end(
        JSON.stringify({ metadata: { resourceVersion: '3' }, items: [{ metadata: { name: 'a', namespace: 'shop' } }] }),
      );
      return;
    }
    response.writeHead(200);
    response.flushHeaders();
  };
  const reflector = start(
    new Reflector({ client, kind: SERVICE_EXPORTS, cluster: 'test', logger, timing: FAST, onChange: () => undefined }),
  );
  await waitFor(async () => reflector.state.absent, { timeoutMs: 5_000, what: 'absent' });
  expect(reflector.state).toMatchObject({ synced: true, absent: true, errors: 0 });
  expect(logs.filter((line) => line.msg.includes('not served by this API server'))).toHaveLength(1);
  installed = true;
  await waitFor(async () => reflector.items.has('shop/a') && reflector.state.connected, {
    timeoutMs: 5_000,
    what: 'the CRD to be picked up',
  });
  expect(reflector.state.absent).toBe(false);
});

test('the same failure is logged once as an error, then quietly while retrying', async () => {
  handler = (_request, response) => {
    response.writeHead(403, { 'Content-Type': 'application/json' });
    response.end(
      JSON.stringify({
        kind: 'Status',
        code: 403,
        message: 'services is forbidden: User "x" cannot list resource "services"',
      }),
    );
  };
  const reflector = services();
  await waitFor(async () => reflector.state.errors >= 5, { timeoutMs: 5_000, what: '5 failures' });
  const errors = logs.filter((line) => line.level === 50);
  expect(errors).toHaveLength(1);
  expect(errors[0]?.msg).toBe(
    'cluster test: services: GET /api/v1/services: HTTP 403: services is forbidden: User "x" cannot list resource "services"; grant get, list and watch on services in all namespaces (a ClusterRole) to the identity in the fake server; keeping the last good state and retrying',
  );
  expect(reflector.state).toMatchObject({ synced: false, connected: false, lastError: { problem: 'forbidden' } });
});
