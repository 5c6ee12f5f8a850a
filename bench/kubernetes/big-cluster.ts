// Big-cluster figures for Kubernetes discovery: one REAL API server holding N Services with an
// EndpointSlice of M endpoints each (default 5,000 x 10 = 50,000 endpoints), the real `spillway serve
// --kube-clusters` reading it. Measures the time to first sync (/readyz), Spillway's RSS, and what one
// EndpointSlice change costs: time until a sidecar's EDS shows it, and Spillway's CPU for it.
//
//   node dist/bench/kubernetes/big-cluster.js [--services 5000] [--endpoints 10] [--changes 5] [--page-size 500] [--pods] [--cpu-prof]
//
// --pods also creates a Pod per endpoint (labels app and version; the slice names it), as a real
// cluster has: Spillway then watches 50,000 Pods' metadata too.
// --cpu-prof writes Spillway's CPU profile (node --cpu-prof) to test-output/kubernetes-big-cluster/.
//
// Bounded: the whole run stops itself after --deadline-s (default 900) seconds. Not part of the test suite.
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { terminate, trackChild } from '../../test/harness/child-processes';
import { httpGet } from '../../test/harness/http-get';
import { freePort, repoRoot } from '../../test/harness';
import {
  KubeApiServer,
  KubeTarget,
  kubeRequest,
  startKubeApiServer,
  stopAllKubeApiServers,
} from '../../test/harness/kube-apiserver';
import { testOutputDir } from '../../test/harness/output';
import { rssBytes } from '../../test/harness/process-rss';
import { RawAdsClient, RawResponse } from '../../test/harness/raw-ads-client';
import { ENDPOINT_TYPE } from '../../src/xds/resource-types';
import { FlagSpec, parseFlags } from '../../src/flags/flags';

interface Options {
  services: number;
  endpoints: number;
  changes: number;
  pageSize: number;
  deadlineS: number;
  concurrency: number;
  pods: boolean;
}

const BIG_CLUSTER_FLAGS: FlagSpec[] = [
  ...['services', 'endpoints', 'changes', 'page-size', 'deadline-s', 'concurrency'].map((name): FlagSpec => ({
    name,
    value: 'N',
    help: '',
  })),
  ...['pods', 'cpu-prof'].map((name): FlagSpec => ({ name, switch: true, help: '' })),
];

function options(): Options {
  const parsed = parseFlags(process.argv.slice(2), BIG_CLUSTER_FLAGS);
  if (!parsed.ok) throw new Error(parsed.error);
  const value = (name: string, fallback: number): number => {
    const text = parsed.flags.get(name);
    if (text === undefined) return fallback;
    const number = Number(text);
    if (!Number.isInteger(number) || number < 1) throw new Error(`--${name} needs a positive whole number`);
    return number;
  };
  return {
    services: value('services', 5_000),
    endpoints: value('endpoints', 10),
    changes: value('changes', 5),
    pageSize: value('page-size', 500),
    deadlineS: value('deadline-s', 900),
    concurrency: value('concurrency', 16),
    pods: parsed.flags.has('pods'),
  };
}

const NAMESPACE = 'shop';
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

function endpointIp(service: number, endpoint: number): string {
  // Data only: nothing connects to these addresses.
  const n = service * 64 + endpoint;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

const podName = (service: number, endpoint: number): string => `svc-${service}-pod-${endpoint}`;

function sliceOf(service: number, endpoints: number, pods: boolean, notReady = -1): object {
  return {
    metadata: { name: `svc-${service}-a`, labels: { 'kubernetes.io/service-name': `svc-${service}` } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080 }],
    endpoints: Array.from({ length: endpoints }, (_, e) => ({
      addresses: [endpointIp(service, e)],
      conditions: { ready: e !== notReady },
      zone: 'europe-west1-b',
      ...(pods ? { targetRef: { kind: 'Pod', name: podName(service, e), namespace: NAMESPACE } } : {}),
    })),
  };
}

async function must(target: KubeTarget, method: 'POST' | 'PATCH', apiPath: string, body: object): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const response = await kubeRequest(target, method, apiPath, body);
    if (response.status >= 200 && response.status < 300) return;
    if (response.status === 429 && attempt < 20) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    throw new Error(`${method} ${apiPath}: HTTP ${response.status}: ${JSON.stringify(response.body).slice(0, 300)}`);
  }
}

/** Creates every Service and its EndpointSlice, `concurrency` requests at a time. */
async function seed(target: KubeTarget, opts: Options): Promise<number> {
  const started = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < opts.services) {
      const i = next++;
      await must(target, 'POST', `/api/v1/namespaces/${NAMESPACE}/services`, {
        metadata: { name: `svc-${i}` },
        spec: { ports: [{ name: 'http', port: 8080 }] },
      });
      await must(
        target,
        'POST',
        `/apis/discovery.k8s.io/v1/namespaces/${NAMESPACE}/endpointslices`,
        sliceOf(i, opts.endpoints, opts.pods),
      );
      for (let e = 0; opts.pods && e < opts.endpoints; e++) {
        const pod = {
          metadata: { name: podName(i, e), labels: { app: `svc-${i}`, version: 'v1' } },
          spec: { containers: [{ name: 'app', image: 'app:1' }] },
        };
        await must(target, 'POST', `/api/v1/namespaces/${NAMESPACE}/pods`, pod);
      }
      if (i % 1000 === 999) process.stdout.write(`  seeded ${i + 1} services\n`);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return Date.now() - started;
}

interface Spillway {
  child: ChildProcess;
  pid: number;
  xdsPort: number;
}

/** `spillway serve --kube-clusters`, ready when /readyz says every cluster synced (waits up to `timeoutMs`). */
async function startSpillway(
  clustersFile: string,
  pageSize: number,
  logFile: string,
  timeoutMs: number,
  profileDir?: string,
): Promise<Spillway> {
  const xdsPort = await freePort();
  const adminPort = await freePort();
  const out = fs.openSync(logFile, 'w');
  const args = [
    ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
    path.join(repoRoot(), 'dist', 'src', 'cli', 'main.js'),
    'serve',
    '--xds',
    `127.0.0.1:${xdsPort}`,
    '--admin',
    `127.0.0.1:${adminPort}`,
    '--kube-clusters',
    clustersFile,
    '--kube-page-size',
    String(pageSize),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  void trackChild(child);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`spillway exited with ${child.exitCode}; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`spillway not ready after ${timeoutMs} ms; see ${logFile}`);
    const ready = await httpGet(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined);
    if (ready?.status === 200) return { child, pid: child.pid as number, xdsPort };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // After "pid (comm) ": state is field 0, utime 11, stime 12.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function peakRssBytes(pid: number): number {
  const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/** Ready endpoints of the one EDS resource in `response`. */
function readyCount(response: RawResponse, name: string): number {
  const assignment = response.resources.find((resource) => resource.name === name)?.message as
    { endpoints?: { lb_endpoints?: { health_status?: unknown }[] }[] } | undefined;
  let count = 0;
  for (const locality of assignment?.endpoints ?? []) count += (locality.lb_endpoints ?? []).length;
  return count;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const opts = options();
  const deadline = setTimeout(() => {
    process.stderr.write(`big-cluster: still running after ${opts.deadlineS}s; stopping\n`);
    void stopAllKubeApiServers().finally(() => process.exit(3));
  }, opts.deadlineS * 1000);
  deadline.unref();
  const dir = testOutputDir('kubernetes-big-cluster');
  let api: KubeApiServer | undefined;
  let spillway: Spillway | undefined;
  let ads: RawAdsClient | undefined;
  try {
    process.stdout.write(
      `starting a kube-apiserver; seeding ${opts.services} Services x ${opts.endpoints} endpoints\n`,
    );
    api = await startKubeApiServer({ name: 'big-cluster' });
    const target: KubeTarget = { url: api.url, token: api.token, caFile: api.caFile };
    await must(target, 'POST', '/api/v1/namespaces', { metadata: { name: NAMESPACE } });
    const seedMs = await seed(target, opts);

    const clustersFile = path.join(dir, 'clusters.yaml');
    fs.writeFileSync(
      clustersFile,
      `clusters:\n  - { name: east, region: europe-west1, zone: europe-west1-b, gateway: "127.0.0.2:15443", kubeconfig: ${api.kubeconfigPath} }\n`,
    );
    const spawnedAt = Date.now();
    spillway = await startSpillway(
      clustersFile,
      opts.pageSize,
      path.join(dir, 'spillway.log'),
      opts.deadlineS * 1000,
      process.argv.includes('--cpu-prof') ? dir : undefined,
    );
    const firstSyncMs = Date.now() - spawnedAt;
    const syncCpuS = cpuSeconds(spillway.pid);
    const rssAfterSync = rssBytes(spillway.pid);

    // A sidecar in east reads EDS for one service; each change flips one endpoint's readiness.
    const service = Math.floor(opts.services / 2);
    const edsName = `outbound|8080||svc-${service}.${NAMESPACE}.svc.cluster.local`;
    ads = new RawAdsClient(`127.0.0.1:${spillway.xdsPort}`, 'sotw');
    ads.sendSotw({
      typeUrl: ENDPOINT_TYPE,
      node: { id: 'sidecar~10.0.0.1~bench.shop~shop.svc.cluster.local', metadata: { CLUSTER_ID: 'east' } },
      resourceNames: [edsName],
    });
    let response = await ads.next(60_000, ENDPOINT_TYPE);
    ads.ackSotw(response, undefined, [edsName]);
    let ready = readyCount(response, edsName);
    const changes: { servedMs: number; cpuS: number }[] = [];
    for (let c = 0; c < opts.changes; c++) {
      await new Promise((resolve) => setTimeout(resolve, 2_000)); // let the previous change settle
      const cpuBefore = cpuSeconds(spillway.pid);
      const wanted = c % 2 === 0 ? opts.endpoints - 1 : opts.endpoints;
      const changedAt = Date.now();
      await must(target, 'PATCH', `/apis/discovery.k8s.io/v1/namespaces/${NAMESPACE}/endpointslices/svc-${service}-a`, {
        endpoints: (sliceOf(service, opts.endpoints, opts.pods, c % 2 === 0 ? 0 : -1) as { endpoints: object[] })
          .endpoints,
      });
      while (ready !== wanted) {
        response = await ads.next(60_000, ENDPOINT_TYPE);
        ads.ackSotw(response, undefined, [edsName]);
        ready = readyCount(response, edsName);
      }
      const servedMs = Date.now() - changedAt;
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // CPU of the whole change, not only until the push
      changes.push({ servedMs, cpuS: Math.round((cpuSeconds(spillway.pid) - cpuBefore) * 100) / 100 });
      process.stdout.write(
        `  change ${c + 1}: served after ${servedMs} ms, ${(changes[c]?.cpuS ?? 0).toFixed(2)} s CPU\n`,
      );
    }
    const result = {
      services: opts.services,
      endpoints: opts.services * opts.endpoints,
      pods: opts.pods ? opts.services * opts.endpoints : 0,
      pageSize: opts.pageSize,
      seedSeconds: Math.round(seedMs / 100) / 10,
      firstSyncSeconds: Math.round(firstSyncMs / 100) / 10,
      firstSyncCpuSeconds: Math.round(syncCpuS * 10) / 10,
      rssMiBAfterSync: Math.round(rssAfterSync / 1048576),
      rssMiBNow: Math.round(rssBytes(spillway.pid) / 1048576),
      peakRssMiB: Math.round(peakRssBytes(spillway.pid) / 1048576),
      change: {
        servedMsMedian: median(changes.map((change) => change.servedMs)),
        cpuSecondsMedian: Math.round(median(changes.map((change) => change.cpuS)) * 100) / 100,
        runs: changes,
      },
      machine: `${os.cpus().length} cores, API server and etcd on the same machine`,
    };
    fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    ads?.close();
    if (spillway) await terminate(spillway.child);
    await stopAllKubeApiServers();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`big-cluster: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    void stopAllKubeApiServers().finally(() => process.exit(1));
  },
);
