// One measured run: a fresh server with one mesh, N clients in a separate load-generator process, then a
// few endpoint flips. Everything that is timed is timed from outside the server.
import { HeldCounts, StreamMode } from './load/protocol';
import { LoadGenerator } from './load/load-generator';
import { MeshSize, endpointKey } from './mesh/generate-mesh';
import { cpuNs, rssBytes } from './measure/proc-stats';
import { max, median, sleep } from './measure/statistics';
import { ServerFactory, ServerName, ServerUnderTest } from './servers/server-under-test';

export interface RunPlan {
  size: MeshSize;
  clients: number;
  flips: number;
  mode: StreamMode;
  workDir: string;
}

export interface FlipResult {
  /** ms from handing the change to the server until the LAST client had it. */
  allMs: number;
  /** ms until half the clients had it. */
  medianMs: number;
  /** Server CPU for the push (all clients, ACKs included), less what it burns idle in the same time. */
  cpuMs: number;
}

export interface RunResult {
  server: ServerName;
  size: MeshSize;
  clients: number;
  /** ms from opening N streams until the last client held CDS, EDS, LDS and RDS. */
  syncAllMs: number;
  bytesPerClient: number;
  held: HeldCounts;
  reconnects: number;
  rssBaselineBytes: number;
  rssPerClientBytes: number;
  flips: FlipResult[];
}

const SYNC_TIMEOUT_MS = 180_000;
const PUSH_TIMEOUT_MS = 60_000;
/** Let stragglers (ACK handling, GC after a burst) finish before memory or idle CPU is read. */
const SETTLE_MS = 500;
const IDLE_WINDOW_MS = 1_000;
/** After the last client has the update: time for its ACKs to be processed, counted in the push's CPU. */
const AFTER_PUSH_MS = 300;

const nsToMs = (ns: bigint) => Number(ns) / 1e6;

export async function measureRun(factory: ServerFactory, plan: RunPlan, progress: (line: string) => void): Promise<RunResult> {
  const load = LoadGenerator.start();
  let server: ServerUnderTest | undefined;
  try {
    server = await factory.start(plan.size, plan.workDir);
    await load.connect('anchors', server.xdsAddress, server.anchorNodes(), plan.mode, SYNC_TIMEOUT_MS);
    await sleep(SETTLE_MS);
    const rssBaselineBytes = rssBytes(server.pid);

    const nodes = Array.from({ length: plan.clients }, (_, i) => (server as ServerUnderTest).node('bench', i));
    const sync = await load.connect('clients', server.xdsAddress, nodes, plan.mode, SYNC_TIMEOUT_MS);
    const syncAllMs = max(sync.syncMs);
    progress(`synced ${plan.clients} clients in ${syncAllMs.toFixed(0)} ms${sync.reconnects > 0 ? ` (${sync.reconnects} streams refused and retried)` : ''}`);

    await sleep(SETTLE_MS);
    const idleStart = cpuNs(server.pid);
    const idleStartedNs = process.hrtime.bigint();
    await sleep(IDLE_WINDOW_MS);
    const idleCpuPerMs = (cpuNs(server.pid) - idleStart) / nsToMs(process.hrtime.bigint() - idleStartedNs);
    const rssPerClientBytes = (rssBytes(server.pid) - rssBaselineBytes) / plan.clients;

    const flips: FlipResult[] = [];
    const notReady = new Set<string>();
    for (let k = 0; k < plan.flips; k++) {
      const service = k % plan.size.services;
      notReady.add(endpointKey(service, 0, 0));
      const { arrivals } = await load.arm('clients', server.edsNameOf(service), PUSH_TIMEOUT_MS);
      const cpuBefore = cpuNs(server.pid);
      const windowStartNs = process.hrtime.bigint();
      const changedAtNs = await server.apply(new Set(notReady));
      const latencies = (await arrivals).map((ns) => nsToMs(ns - changedAtNs));
      await sleep(AFTER_PUSH_MS);
      const windowMs = nsToMs(process.hrtime.bigint() - windowStartNs);
      const cpuMs = Math.max(0, (cpuNs(server.pid) - cpuBefore) / 1e6 - (idleCpuPerMs * windowMs) / 1e6);
      flips.push({ allMs: max(latencies), medianMs: median(latencies), cpuMs });
    }
    progress(`pushes to all: ${flips.map((f) => f.allMs.toFixed(0)).join(', ')} ms; cpu ${flips.map((f) => f.cpuMs.toFixed(1)).join(', ')} ms`);
    return {
      server: factory.name,
      size: plan.size,
      clients: plan.clients,
      syncAllMs,
      bytesPerClient: sync.bytesPerClient,
      held: sync.held,
      reconnects: sync.reconnects,
      rssBaselineBytes,
      rssPerClientBytes,
      flips,
    };
  } finally {
    load.stop();
    await server?.stop();
  }
}
