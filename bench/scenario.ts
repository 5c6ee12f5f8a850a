// One measured run: a fresh server with one mesh, N clients in a separate load-generator process, then a
// few endpoint flips. Everything that is timed is timed from outside the server.
import { BenchNode, ClientKind, HeldCounts, StreamMode, isMtlsKind } from './load/protocol';
import { LoadGenerator } from './load/load-generator';
import {
  BENCH_NAMESPACE,
  FLIPPED_SERVICES,
  MeshSize,
  SERVICE_PORT,
  endpointKey,
  serviceName,
} from './mesh/generate-mesh';
import { serviceHost } from '../src/mesh/model';
import { cpuNs, cpuSeconds, rssBytes } from './measure/proc-stats';
import { max, median, percentile, sleep } from './measure/statistics';
import { ServerFactory, ServerName, ServerUnderTest } from './servers/server-under-test';
import * as os from 'os';

export interface RunPlan {
  size: MeshSize;
  clients: number;
  flips: number;
  mode: StreamMode;
  kind: ClientKind;
  workDir: string;
  /** The server is stopped (and the run fails) if its RSS goes above this: a peer must not take the machine down. */
  rssLimitBytes: number;
  /**
   * Memory is read at steady state: this long after the anchors synced (before the clients) and after the
   * N clients synced (with them), with nothing sent meanwhile. The same for every server.
   */
  steadyIdleMs: number;
}

export interface FlipResult {
  /** ms from handing the change to the server until the LAST client had it. */
  allMs: number;
  /** ms until half the clients had it. */
  medianMs: number;
  /** Server CPU for the push (all clients, ACKs included), less what it burns idle in the same time. */
  cpuMs: number;
  /** Change → ACK written, across clients: p50, p99, max (ms). */
  ackP50Ms: number;
  ackP99Ms: number;
  ackMaxMs: number;
  /** Bytes all clients received for this change (from arming until 300 ms after the last had it). */
  bytes: number;
  responses: number;
}

export interface RunResult {
  server: ServerName;
  kind: ClientKind;
  size: MeshSize;
  clients: number;
  /** The machine's 1-minute load average just before this run's server started (the cores are shared). */
  loadAverageBefore: number;
  /** ms from opening N streams until the last client held CDS, EDS, LDS and RDS. */
  syncAllMs: number;
  /** CPU seconds the server, and the load generators, used from opening the streams until all were synced. */
  syncServerCpuS: number;
  syncLoadCpuS: number;
  bytesPerClient: number;
  held: HeldCounts;
  reconnects: number;
  /** RSS at steady state before the clients (anchors only), and with the N clients synced. */
  rssBaselineBytes: number;
  rssPerClientBytes: number;
  /** RSS with the N clients connected and synced (for the slope of RSS against N across runs). */
  rssWithClientsBytes: number;
  /** The runtime's own heap figure at the same two moments (NaN when the server cannot tell). */
  heapBaselineBytes: number;
  heapWithClientsBytes: number;
  flips: FlipResult[];
}

const SYNC_TIMEOUT_MS = 180_000;
const PUSH_TIMEOUT_MS = 60_000;
const IDLE_WINDOW_MS = 1_000;
/** After the last client has the update: time for its ACKs to be processed, counted in the push's CPU. */
const AFTER_PUSH_MS = 300;

const nsToMs = (ns: bigint) => Number(ns) / 1e6;

/** The server's heap figure, or NaN when it has none (or cannot answer). */
async function heapOf(server: ServerUnderTest): Promise<number> {
  try {
    return server.heapBytes ? await server.heapBytes() : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

// Flip k toggles one endpoint of service k mod FLIPPED_SERVICES (not ready, then ready again on the next
// pass), so many flips do not make a gRPC-like client watch many services.
export { FLIPPED_SERVICES };

/** Which service flip `k` changes. */
export const flippedService = (size: MeshSize, k: number): number => k % Math.min(FLIPPED_SERVICES, size.services);

/** A gRPC-like client's channels: the services the flips change (so every client sees every flip) and one of its own. */
export function grpcTargets(size: MeshSize, index: number): string[] {
  const services = new Set<number>();
  for (let k = 0; k < Math.min(FLIPPED_SERVICES, size.services); k++) services.add(k);
  services.add(index % size.services);
  return [...services].map(
    (s) => `${serviceHost({ name: serviceName(s), namespace: BENCH_NAMESPACE })}:${SERVICE_PORT}`,
  );
}

/** Samples a server's RSS and kills it when it passes `limitBytes`; `reason` then says why the run failed. */
class RssWatchdog {
  reason?: string;
  private readonly timer: NodeJS.Timeout;

  constructor(pid: number, limitBytes: number) {
    this.timer = setInterval(() => {
      let rss = 0;
      try {
        rss = rssBytes(pid);
      } catch {
        return; // the process is gone
      }
      if (rss <= limitBytes) return;
      this.reason = `stopped: its RSS reached ${(rss / 2 ** 30).toFixed(1)} GiB, above the ${(limitBytes / 2 ** 30).toFixed(1)} GiB this machine can give it`;
      clearInterval(this.timer);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 250);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** The measured clients' nodes for the run's kind; throws when the server has no such clients. */
function clientNodes(server: ServerUnderTest, plan: RunPlan): (group: string, i: number) => BenchNode {
  if (plan.kind === 'grpc') {
    const grpcNode = server.grpcNode?.bind(server);
    if (!grpcNode) throw new Error(`${server.name} has no proxyless gRPC clients in this harness`);
    return (group, i) => grpcNode(group, i, grpcTargets(plan.size, i));
  }
  if (plan.kind === 'scoped') {
    const scopedNode = server.scopedNode?.bind(server);
    if (!scopedNode || !plan.size.callsPerWorkload)
      throw new Error(`${server.name} has no scoped sidecars in this harness (or the mesh declares no calls)`);
    return scopedNode;
  }
  if (isMtlsKind(plan.kind)) {
    const podNode = server.mtlsPodNode?.bind(server);
    if (!podNode || !plan.size.mtls)
      throw new Error(`${server.name} has no mTLS workload sidecars in this harness (or the mesh is not mTLS)`);
    const distinct = plan.kind === 'mtls-pods';
    return (group, i) => podNode(group, i, distinct);
  }
  return (group, i) => server.node(group, i);
}

/** One client per view of the run's kind, connected before the measured ones. */
function anchorNodes(
  server: ServerUnderTest,
  plan: RunPlan,
  nodeOf: (group: string, i: number) => BenchNode,
): BenchNode[] {
  if (plan.kind === 'grpc') return Array.from({ length: plan.size.clusters }, (_, i) => nodeOf('anchor', i));
  // Both mTLS kinds start from the shared pods' views, so their baselines are the same.
  if (isMtlsKind(plan.kind)) return server.mtlsAnchorNodes?.() ?? [];
  // One workload per cluster: the views of the other workloads are made by the measured clients themselves.
  if (plan.kind === 'scoped') return Array.from({ length: plan.size.clusters }, (_, c) => nodeOf('anchor', c));
  return server.anchorNodes();
}

export async function measureRun(
  factory: ServerFactory,
  plan: RunPlan,
  progress: (line: string) => void,
): Promise<RunResult> {
  const loadAverageBefore = os.loadavg()[0];
  const load = LoadGenerator.start(plan.clients);
  let server: ServerUnderTest | undefined;
  let watchdog: RssWatchdog | undefined;
  try {
    server = await factory.start(plan.size, plan.workDir);
    watchdog = new RssWatchdog(server.pid, plan.rssLimitBytes);
    const nodeOf = clientNodes(server, plan);
    const anchors = anchorNodes(server, plan, nodeOf);
    const syncTimeoutMs = server.syncTimeoutMs?.(plan.clients) ?? SYNC_TIMEOUT_MS;
    await load.connect('anchors', server.xdsAddress, anchors, plan.mode, SYNC_TIMEOUT_MS);
    await sleep(plan.steadyIdleMs);
    const rssBaselineBytes = rssBytes(server.pid);
    const heapBaselineBytes = await heapOf(server);
    const active = Math.min(load.processCount, plan.clients);

    const nodes = Array.from({ length: plan.clients }, (_, i) => nodeOf('bench', i));
    const serverCpuBefore = cpuSeconds([server.pid]);
    const loadCpuBefore = cpuSeconds(load.pids);
    const sync = await load.connect('clients', server.xdsAddress, nodes, plan.mode, syncTimeoutMs);
    const syncAllMs = max(sync.syncMs);
    const syncServerCpuS = cpuSeconds([server.pid]) - serverCpuBefore;
    const syncLoadCpuS = cpuSeconds(load.pids) - loadCpuBefore;
    progress(
      `synced ${plan.clients} clients in ${syncAllMs.toFixed(0)} ms (CPU: server ${syncServerCpuS.toFixed(1)} s, load generators ${syncLoadCpuS.toFixed(1)} s)` +
        (sync.reconnects > 0 ? ` (${sync.reconnects} streams refused and retried)` : ''),
    );

    // Steady state: the same idle time for every server, no forced collection, then RSS; then the live heap.
    await sleep(plan.steadyIdleMs);
    const rssWithClientsBytes = rssBytes(server.pid);
    const heapWithClientsBytes = await heapOf(server);
    const rssPerClientBytes = (rssWithClientsBytes - rssBaselineBytes) / plan.clients;
    progress(
      `steady state after ${plan.steadyIdleMs} ms idle: RSS ${(rssWithClientsBytes / 2 ** 20).toFixed(0)} MiB (${(rssPerClientBytes / 1024).toFixed(1)} KiB per client), ` +
        `heap ${Number.isFinite(heapWithClientsBytes) ? `${(heapWithClientsBytes / 2 ** 20).toFixed(0)} MiB` : 'n/a'}`,
    );
    const idleStart = cpuNs(server.pid);
    const idleStartedNs = process.hrtime.bigint();
    await sleep(IDLE_WINDOW_MS);
    const idleCpuPerMs = (cpuNs(server.pid) - idleStart) / nsToMs(process.hrtime.bigint() - idleStartedNs);

    const flips: FlipResult[] = [];
    const notReady = new Set<string>();
    for (let k = 0; k < plan.flips; k++) {
      const service = flippedService(plan.size, k);
      // Every flip changes exactly one endpoint of one service: not ready on one pass, ready on the next.
      const key = endpointKey(service, 0, 0);
      if (notReady.has(key)) notReady.delete(key);
      else notReady.add(key);
      const before = await load.stats('clients', active);
      const { arrivals } = await load.arm('clients', server.edsNameOf(service), PUSH_TIMEOUT_MS, active);
      // It may time out while the change is still being handed over: that fails this run when awaited
      // below, not the whole process as an unhandled rejection.
      arrivals.catch(() => undefined);
      const cpuBefore = cpuNs(server.pid);
      const windowStartNs = process.hrtime.bigint();
      const changedAtNs = await server.apply(new Set(notReady));
      const arrived = await arrivals;
      const latencies = arrived.receivedNs.map((ns) => nsToMs(ns - changedAtNs));
      const acks = arrived.ackedNs.map((ns) => nsToMs(ns - changedAtNs));
      await sleep(AFTER_PUSH_MS);
      const windowMs = nsToMs(process.hrtime.bigint() - windowStartNs);
      const cpuMs = Math.max(0, (cpuNs(server.pid) - cpuBefore) / 1e6 - (idleCpuPerMs * windowMs) / 1e6);
      const after = await load.stats('clients', active);
      flips.push({
        allMs: max(latencies),
        medianMs: median(latencies),
        cpuMs,
        ackP50Ms: percentile(acks, 50),
        ackP99Ms: percentile(acks, 99),
        ackMaxMs: max(acks),
        bytes: after.bytes - before.bytes,
        responses: after.responses - before.responses,
      });
    }
    progress(
      `${plan.flips} flips: change → ACKed (p99 of clients) median ${median(flips.map((f) => f.ackP99Ms)).toFixed(0)} ms ` +
        `(${Math.min(...flips.map((f) => f.ackP99Ms)).toFixed(0)}–${max(flips.map((f) => f.ackP99Ms)).toFixed(0)}); ` +
        `CPU per push median ${median(flips.map((f) => f.cpuMs)).toFixed(1)} ms; ${(median(flips.map((f) => f.bytes)) / plan.clients).toFixed(0)} B/client per change`,
    );
    return {
      server: factory.name,
      kind: plan.kind,
      size: plan.size,
      clients: plan.clients,
      loadAverageBefore,
      syncAllMs,
      syncServerCpuS,
      syncLoadCpuS,
      bytesPerClient: sync.bytesPerClient,
      held: sync.held,
      reconnects: sync.reconnects,
      rssBaselineBytes,
      rssPerClientBytes,
      rssWithClientsBytes,
      heapBaselineBytes,
      heapWithClientsBytes,
      flips,
    };
  } catch (error) {
    if (watchdog?.reason)
      throw new Error(`${watchdog.reason} (then: ${error instanceof Error ? error.message : String(error)})`);
    throw error;
  } finally {
    watchdog?.stop();
    load.stop();
    await server?.stop();
  }
}
