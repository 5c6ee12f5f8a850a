// Big-cluster behaviour against a REAL API server, counted from its own audit log: lists are paged
// (limit/continue, the page size bounded by --kube-page-size), a watch the server ends at its timeout is
// resumed from the last resourceVersion with no list, and only a 410 Gone (the resourceVersion was
// compacted away) makes a reflector list again.
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import { parseClustersText } from '../../src/discovery/kubernetes/clusters-file';
import { KubernetesSource } from '../../src/discovery/kubernetes/kubernetes-source';
import { MeshStore } from '../../src/mesh/store';
import { waitFor } from '../harness';
import {
  AuditEvent,
  KubeApiServer,
  KubeTarget,
  auditEvents,
  kubeCall,
  startKubeApiServer,
  stopAllKubeApiServers,
} from '../harness/kube-apiserver';
import { testOutputDir } from '../harness/output';

jest.setTimeout(90_000);

const WAIT_MS = 30_000;
const PAGE_SIZE = 3;
const SERVICES = 7;
/** The server ends every watch after 2-3 s. */
const TIMING = {
  watchTimeoutMinSeconds: 2,
  watchTimeoutMaxSeconds: 3,
  backoffMinMs: 200,
  backoffMaxMs: 1_000,
  absentRecheckMs: 60_000,
  pageSize: PAGE_SIZE,
};
const SERVICES_PATH = '/api/v1/namespaces/shop/services';

let api: KubeApiServer;
let store: MeshStore;
let source: KubernetesSource;
const logs: { msg: string }[] = [];

const admin = (): KubeTarget => ({ url: api.url, token: api.token, caFile: api.caFile });

/**
 * Requests Spillway made for Services (it lists all namespaces) that the server answered with 200, by
 * verb: lists once complete, watches once started. (A restarting server answers some with 429 or 503.)
 */
function serviceRequests(verb: 'list' | 'watch'): AuditEvent[] {
  return auditEvents(api).filter(
    (event) =>
      event.user.username === 'admin' &&
      event.verb === verb &&
      event.requestURI.startsWith('/api/v1/services?') &&
      event.stage === (verb === 'list' ? 'ResponseComplete' : 'ResponseStarted') &&
      event.responseStatus?.code === 200,
  );
}

function serviceCount(): number {
  return [...store.current().services.keys()].length;
}

beforeAll(async () => {
  api = await startKubeApiServer({ name: 'watch-resume', audit: true });
  await kubeCall(admin(), 'POST', '/api/v1/namespaces', { metadata: { name: 'shop' } });
  for (let i = 0; i < SERVICES; i++)
    await kubeCall(admin(), 'POST', SERVICES_PATH, {
      metadata: { name: `svc-${i}` },
      spec: { ports: [{ name: 'http', port: 8080 }] },
    });
  const dir = testOutputDir('kubernetes-watch-resume');
  const parsed = parseClustersText(
    `clusters:\n  - { name: east, region: r1, zone: r1-a, kubeconfig: ${api.kubeconfigPath} }\n`,
    dir,
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  store = new MeshStore({ quietMs: 10, maxDelayMs: 50 });
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as { msg: string }) });
  source = new KubernetesSource({
    clusters: parsed.clusters,
    store,
    logger,
    timing: TIMING,
    rebuildDelayMs: 20,
    accessRetryMs: 300,
    accessCheckMs: 0,
  });
  source.start();
  await waitFor(async () => source.allSynced(), { timeoutMs: WAIT_MS, what: 'the cluster to sync' });
}, 120_000);

afterAll(async () => {
  await source?.stop();
  store?.close();
  await stopAllKubeApiServers();
});

describe('paged lists, resumed watches', () => {
  test(`the first list comes in pages of ${PAGE_SIZE} (limit/continue)`, () => {
    const lists = serviceRequests('list');
    expect(lists).toHaveLength(Math.ceil(SERVICES / PAGE_SIZE));
    expect(lists.every((event) => event.requestURI.includes(`limit=${PAGE_SIZE}`))).toBe(true);
    expect(lists.filter((event) => event.requestURI.includes('continue=')).length).toBe(lists.length - 1);
    expect(serviceCount()).toBe(SERVICES);
  });

  test('watches the server ends at their timeout are resumed from the last resourceVersion, with no list', async () => {
    const listsBefore = serviceRequests('list').length;
    const watchesBefore = serviceRequests('watch').length;
    await waitFor(async () => serviceRequests('watch').length >= watchesBefore + 3, {
      timeoutMs: WAIT_MS,
      what: 'three more watches (each ended by the server after 2-3 s)',
    });
    await kubeCall(admin(), 'POST', SERVICES_PATH, {
      metadata: { name: 'svc-late' },
      spec: { ports: [{ name: 'http', port: 8080 }] },
    });
    await waitFor(async () => serviceCount() === SERVICES + 1, {
      timeoutMs: WAIT_MS,
      what: 'the new Service through a resumed watch',
    });
    expect(serviceRequests('list').length).toBe(listsBefore);
    const watches = serviceRequests('watch').slice(watchesBefore);
    for (const watch of watches)
      expect(new URL(watch.requestURI, 'https://x').searchParams.get('resourceVersion')).toMatch(/^[1-9][0-9]*$/);
    expect(logs.some((line) => line.msg.includes('listing again'))).toBe(false);
  });

  test('a resourceVersion the server no longer has (410 Gone after a restart and an etcd compaction) lists again, once', async () => {
    const listsBefore = serviceRequests('list').length;
    await api.stopApiServer();
    // Move etcd's revision on and compact everything before it: the reflectors' resourceVersion is gone.
    const put = await fetch(`${api.etcdUrl}/v3/kv/put`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from('/spillway-test/bump').toString('base64'), value: 'eA==' }),
    });
    const revision = ((await put.json()) as { header: { revision: string } }).header.revision;
    const compacted = await fetch(`${api.etcdUrl}/v3/kv/compaction`, {
      method: 'POST',
      body: JSON.stringify({ revision, physical: true }),
    });
    expect(compacted.ok).toBe(true);
    await api.startApiServer();
    await waitFor(async () => source.stats[0]?.connected && serviceRequests('list').length > listsBefore, {
      timeoutMs: WAIT_MS,
      what: 'the reflectors to list again and watch',
    });
    await kubeCall(admin(), 'POST', SERVICES_PATH, {
      metadata: { name: 'svc-after-gone' },
      spec: { ports: [{ name: 'http', port: 8080 }] },
    });
    await waitFor(async () => serviceCount() === SERVICES + 2, {
      timeoutMs: WAIT_MS,
      what: 'a Service created after the relist',
    });
    expect(serviceRequests('list').length - listsBefore).toBe(Math.ceil((SERVICES + 1) / PAGE_SIZE));
    expect(logs.some((line) => line.msg.includes('services: the watch fell behind (410 Gone); listing again'))).toBe(
      true,
    );
    fs.writeFileSync(
      path.join(testOutputDir('kubernetes-watch-resume'), 'audit-counts.json'),
      JSON.stringify({ lists: serviceRequests('list').length, watches: serviceRequests('watch').length }) + '\n',
    );
  });
});
