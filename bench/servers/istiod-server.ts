// istiod (pilot-discovery built by scripts/bench-peers.sh, patched to run without Kubernetes) fed the mesh
// as ServiceEntries over its MCP (config over xDS) source (istiod-config-source.ts), so an endpoint change
// reaches it as one changed ServiceEntry, as a Kubernetes informer would deliver it. Its push debounce is
// set to Spillway's. Scoped sidecars are scoped as in Istio: a Sidecar per workload (egress hosts = the
// services it calls, selected by the workload's label), which each sidecar matches by its node metadata
// LABELS. Two configurations: 'istiod' with its admission limit for new streams lifted,
// 'istiod-default' with it as istiod sets it by default.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { serviceHost } from '../../src/mesh/model';
import { DEFAULT_DEBOUNCE } from '../../src/mesh/debounce';
import { BenchNode } from '../load/protocol';
import {
  BENCH_NAMESPACE,
  MeshSize,
  NotReady,
  SERVICE_PORT,
  scopedWorkloadOf,
  serviceName,
} from '../mesh/generate-mesh';
import { meshConfigYaml, workloadLabels } from '../mesh/istio-config';
import { IstioConfigSource } from './istiod-config-source';
import { peerBinary } from '../peer-binaries';
import { acceptsConnections, freePort, stopProcess, waitUntil } from './child-process';
import { ServerFactory, ServerName, ServerUnderTest } from './server-under-test';
import { outboundName } from './sidecar-nodes';

const START_TIMEOUT_MS = 120_000;
export const ISTIOD_MAX_REQUESTS_PER_SECOND = '100000';
/**
 * istiod's default admission rate for new xDS streams (features.RequestLimit: min(15 + 5 × GOMAXPROCS, 100)
 * per second, burst 1; a stream that cannot get a token within 1 s is refused with RESOURCE_EXHAUSTED).
 */
export const ISTIOD_DEFAULT_REQUESTS_PER_SECOND = Math.min(15 + 5 * os.availableParallelism(), 100);
/** The harness's usual sync timeout, and what a storm admitted at istiod's default rate needs beyond it. */
const BASE_SYNC_TIMEOUT_MS = 180_000;
const ADMISSION_TAIL_MS = 60_000;
/** Istio's own cluster ID when it has no Kubernetes registry. */
const ISTIO_CLUSTER_ID = 'Kubernetes';

/** The two configurations measured: the admission limit for new streams lifted, or istiod's default. */
export type IstiodName = Extract<ServerName, 'istiod' | 'istiod-default'>;

export class IstiodServer implements ServerUnderTest {
  constructor(
    readonly name: IstiodName,
    private readonly size: MeshSize,
    private readonly child: ChildProcess,
    readonly xdsAddress: string,
    private readonly source: IstioConfigSource,
    /** Its Prometheus metrics (`/metrics`), Go runtime figures included. */
    readonly monitoringAddress: string,
    private readonly httpAddress: string,
  ) {}

  get pid(): number {
    return this.child.pid as number;
  }

  /** Istio's sidecar node id: sidecar~IP~POD.NAMESPACE~NAMESPACE.svc.DOMAIN; IPs match no workload. */
  node(group: string, index: number): BenchNode {
    const id = `sidecar~127.200.${(index >> 8) & 255}.${index & 255}~${group}-${index}.${BENCH_NAMESPACE}~${BENCH_NAMESPACE}.svc.cluster.local`;
    return { id, metadata: { CLUSTER_ID: ISTIO_CLUSTER_ID, NAMESPACE: BENCH_NAMESPACE, ISTIO_VERSION: '1.31.0' } };
  }

  /** Proxyless gRPC as istiod knows it: the "grpc" generator, asked for by node metadata. */
  grpcNode(group: string, index: number, targets: string[]): BenchNode {
    const node = this.node(`grpc-${group}`, index);
    return { ...node, metadata: { ...node.metadata, GENERATOR: 'grpc' }, kind: 'grpc', targets };
  }

  /**
   * A sidecar of scoped workload scopedWorkloadOf(index): its pod's labels in node metadata LABELS, which its
   * workload's Sidecar selects (istiod falls back to them when no registry knows the proxy's IP).
   */
  scopedNode(group: string, index: number): BenchNode {
    return { ...this.node(`scoped-${group}`, index), labels: workloadLabels(scopedWorkloadOf(this.size, index)) };
  }

  /** istiod builds one push context for all proxies; a single anchor warms it. */
  anchorNodes(): BenchNode[] {
    return [this.node('anchor', 0)];
  }

  edsNameOf(service: number): string {
    return outboundName(serviceHost({ name: serviceName(service), namespace: BENCH_NAMESPACE }), SERVICE_PORT);
  }

  async apply(notReady: NotReady): Promise<bigint> {
    this.source.stage(notReady);
    const startedNs = process.hrtime.bigint();
    this.source.publish();
    return startedNs;
  }

  /**
   * Go's HeapAlloc as istiod exports it on its monitoring port (go_memstats_heap_alloc_bytes), after a
   * collection asked for through its pprof handler (heap?gc=1 runs runtime.GC first).
   */
  async heapBytes(): Promise<number> {
    // Without the collection the figure would be a different one: fail (the report shows n/a) rather than mislabel it.
    const collected = await fetch(`http://${this.httpAddress}/debug/pprof/heap?gc=1`);
    await collected.arrayBuffer();
    if (!collected.ok) throw new Error(`istiod pprof heap?gc=1: HTTP ${collected.status}`);
    const response = await fetch(`http://${this.monitoringAddress}/metrics`);
    const text = await response.text();
    const match = /^go_memstats_heap_alloc_bytes ([0-9.e+]+)$/m.exec(text);
    if (!match) throw new Error('istiod /metrics has no go_memstats_heap_alloc_bytes');
    return Number(match[1]);
  }

  /**
   * At its default rate istiod admits N streams in N / rate seconds at best, and clients refused meanwhile wait
   * out their backoff (up to 30 s for Envoy): room for twice that, plus the tail.
   */
  syncTimeoutMs(clients: number): number {
    if (this.name !== 'istiod-default') return BASE_SYNC_TIMEOUT_MS;
    return Math.max(
      BASE_SYNC_TIMEOUT_MS,
      (2 * clients * 1000) / ISTIOD_DEFAULT_REQUESTS_PER_SECOND + ADMISSION_TAIL_MS,
    );
  }

  async stop(): Promise<void> {
    await stopProcess(this.child, 5_000);
    this.source.stop();
  }
}

/** The environment istiod runs with: only what the benchmark needs, the admission limit as `name` says. */
function istiodEnvironment(name: IstiodName): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ENABLE_CA_SERVER: 'false',
    PILOT_DEBOUNCE_AFTER: `${DEFAULT_DEBOUNCE.quietMs}ms`,
    PILOT_DEBOUNCE_MAX: `${DEFAULT_DEBOUNCE.maxDelayMs}ms`,
  };
  // Its default admits a few new streams per second per core (a guard for real fleets); the other servers
  // have no such limit, and 'istiod' times how fast it can serve a burst of clients without it.
  if (name === 'istiod') env.PILOT_MAX_REQUESTS_PER_SECOND = ISTIOD_MAX_REQUESTS_PER_SECOND;
  else delete env.PILOT_MAX_REQUESTS_PER_SECOND;
  return env;
}

function istiodFactoryFor(name: IstiodName): ServerFactory {
  return {
    name,
    unavailable: () =>
      peerBinary('istiod') ? undefined : 'pilot-discovery is not built (scripts/bench-peers.sh says why)',
    start: (size, workDir) => startIstiod(name, size, workDir),
  };
}

export const istiodFactory: ServerFactory = istiodFactoryFor('istiod');
export const istiodDefaultFactory: ServerFactory = istiodFactoryFor('istiod-default');

export async function startIstiod(name: IstiodName, size: MeshSize, workDir: string): Promise<IstiodServer> {
  const binary = peerBinary('istiod') as string;
  const source = new IstioConfigSource(size);
  const sourceAddress = await source.listen();
  const [grpcPort, httpPort, httpsPort, monitoringPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const xdsAddress = `127.0.0.1:${grpcPort}`;
  fs.writeFileSync(path.join(workDir, 'mesh.yaml'), meshConfigYaml(xdsAddress, sourceAddress));
  fs.writeFileSync(path.join(workDir, 'networks.yaml'), '{}\n');
  const log = fs.openSync(path.join(workDir, 'istiod.log'), 'w');
  const args = [
    'discovery',
    '--registries=',
    `--meshConfig=${path.join(workDir, 'mesh.yaml')}`,
    `--networksConfig=${path.join(workDir, 'networks.yaml')}`,
    `--grpcAddr=${xdsAddress}`,
    `--httpAddr=127.0.0.1:${httpPort}`,
    `--httpsAddr=127.0.0.1:${httpsPort}`,
    `--monitoringAddr=127.0.0.1:${monitoringPort}`,
    '--secureGRPCAddr=',
    '--ctrlz_port=0',
    `--domain=cluster.local`,
    // For looking into what it does (e.g. ads:debug logs each push per type and client); unset in benchmark runs.
    ...(process.env.BENCH_ISTIOD_LOG_LEVEL ? [`--log_output_level=${process.env.BENCH_ISTIOD_LOG_LEVEL}`] : []),
  ];
  const env = istiodEnvironment(name);
  const child = spawn(binary, args, { stdio: ['ignore', log, log], cwd: workDir, env });
  fs.closeSync(log);
  const server = new IstiodServer(
    name,
    size,
    child,
    xdsAddress,
    source,
    `127.0.0.1:${monitoringPort}`,
    `127.0.0.1:${httpPort}`,
  );
  let exited = false;
  child.once('exit', () => (exited = true));
  await waitUntil(
    async () => {
      if (exited) {
        source.stop();
        throw new Error(`istiod exited at start (see ${workDir}/istiod.log)`);
      }
      // istiod's /ready also waits for the sidecar injector and config validation, which never get ready
      // without Kubernetes; it opens the xDS port only once its caches, config included, are synced.
      return acceptsConnections(grpcPort);
    },
    START_TIMEOUT_MS,
    `istiod (see ${workDir}/istiod.log)`,
  );
  return server;
}
