// One calibration run: a fresh server, its anchors (one load-generator client per view, straight to the
// server), then K clients of one kind (real Envoys or load-generator clients) through the recording hop,
// then endpoint flips. Both kinds are timed by the hop, on the same clock, the same way.
import * as fs from 'fs';
import * as os from 'os';
import { LoadGenerator } from '../load/load-generator';
import { BenchNode } from '../load/protocol';
import { MeshSize, endpointKey } from '../mesh/generate-mesh';
import { cpuNs } from '../measure/proc-stats';
import { privateMemoryBytes } from './private-memory';
import { max, median, percentile, sleep } from '../measure/statistics';
import { ServerFactory, ServerName, ServerUnderTest } from '../servers/server-under-test';
import { EnvoyFleet } from './envoy-fleet';
import { RecordingHop } from './recording-hop';
import { Pinning, pinProcess } from './pinning';

export type CalibrationKind = 'envoy' | 'load-generator';

export const KIND_LABEL: Record<CalibrationKind, string> = {
  envoy: 'real Envoy 1.40',
  'load-generator': 'load generator (Envoy-like)',
};

export interface CalibrationPlan {
  size: MeshSize;
  clients: number;
  flips: number;
  workDir: string;
  /** Idle time after the clients synced, before the flips (and before client memory is read). */
  steadyIdleMs: number;
  /** Server and hop on some cores, clients on the others (`--pin`); undefined: no pinning. */
  pin?: Pinning;
}

export interface CalibrationFlip {
  /** Change handed to the server → ACK passed the hop, across clients (ms). */
  ackP50Ms: number;
  ackP99Ms: number;
  ackMaxMs: number;
  /** Change → the response carrying it passed the hop, across clients (ms). */
  responseP50Ms: number;
  responseP99Ms: number;
  /** Server CPU for the push (all clients, ACKs included), less its idle rate over the same window. */
  serverCpuMs: number;
  /** CPU of all the clients (the K Envoys, or the load-generator process) in the same window. */
  clientCpuMs: number;
  /** Bytes the server sent to all clients in the window, and the clients sent back. */
  bytesDown: number;
  bytesUp: number;
  /** CPU of the recording hop in the window (it forwards and reads every byte of both kinds alike). */
  hopCpuMs: number;
  /** Share of the machine's CPU time that was busy during the window (all processes, other work included). */
  machineBusyShare: number;
  /** Clients timed in this flip, and how many NACKed the change. */
  clients: number;
  nacked: number;
}

export interface CalibrationResult {
  server: ServerName;
  kind: CalibrationKind;
  clients: number;
  /** 1-minute load average just before the run started. */
  loadAverage: number;
  /** ms from starting the clients until the hop saw every one hold and ACK CDS, EDS, LDS and RDS. */
  syncMs: number;
  /**
   * Private memory (RssAnon) of all client processes / K at steady state (Envoys: one process each; load
   * generator: one process for all). What one more client adds, without the shared binary.
   */
  clientMemoryPerClientBytes: number;
  nacks: number;
  flips: CalibrationFlip[];
}

const SYNC_TIMEOUT_MS = 300_000;
const FLIP_TIMEOUT_MS = 60_000;
const IDLE_WINDOW_MS = 1_000;
/** After the last ACK: time for the server to finish with the ACKs, counted in the push's CPU (as `npm run bench`). */
const AFTER_PUSH_MS = 300;
/** Envoys are started this many at a time, each batch synced before the next, so starting does not swamp the cores. */
const ENVOY_START_BATCH = 25;
const POLL_MS = 200;

const nsToMs = (ns: bigint) => Number(ns) / 1e6;

/** The machine's CPU time so far (all cores, in clock ticks): total, and idle (idle + iowait), from /proc/stat. */
function machineCpuTicks(): { total: number; idle: number } {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((sum, v) => sum + v, 0);
  return { total, idle: (fields[3] ?? 0) + (fields[4] ?? 0) };
}
const cpuOf = (pids: readonly number[]) => pids.reduce((sum, pid) => sum + cpuNs(pid), 0);

async function waitForSynced(
  hop: RecordingHop,
  count: number,
  deadline: number,
  broken: () => string | undefined,
): Promise<void> {
  for (;;) {
    const reason = broken();
    if (reason) throw new Error(reason);
    const status = await hop.status();
    if (status.synced >= count) return;
    if (Date.now() > deadline) {
      throw new Error(
        `only ${status.synced} of ${count} clients synced through the hop (${status.connections} connected, ${status.nacks} NACKs, ${status.unreadable} unreadable)`,
      );
    }
    await sleep(POLL_MS);
  }
}

interface Clients {
  pids: number[];
  stop(): Promise<void>;
  /** Why the clients are broken, if they are. */
  broken(): string | undefined;
}

async function startEnvoys(
  nodes: BenchNode[],
  hop: RecordingHop,
  workDir: string,
  cores: string | undefined,
  progress: (line: string) => void,
): Promise<Clients> {
  const fleet = new EnvoyFleet(workDir, cores);
  const clients: Clients = { pids: [], stop: () => fleet.stop(), broken: () => fleet.exited() };
  try {
    const deadline = Date.now() + SYNC_TIMEOUT_MS;
    for (let i = 0; i < nodes.length; i += ENVOY_START_BATCH) {
      for (const node of nodes.slice(i, i + ENVOY_START_BATCH)) fleet.start(node, hop.address);
      await waitForSynced(hop, fleet.size, deadline, () => fleet.exited());
      if (fleet.size % 100 === 0 || fleet.size === nodes.length) progress(`${fleet.size} Envoys synced`);
    }
  } catch (error) {
    const warnings = fleet.warnings(5);
    await fleet.stop();
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}${warnings.length > 0 ? `\nEnvoy logs:\n${warnings.join('\n')}` : ''}`,
    );
  }
  clients.pids = fleet.pids;
  return clients;
}

async function startLoadGenerator(nodes: BenchNode[], hop: RecordingHop, cores: string | undefined): Promise<Clients> {
  const load = LoadGenerator.start(nodes.length);
  if (cores) for (const pid of load.pids) pinProcess(pid, cores);
  const clients: Clients = {
    pids: load.pids,
    stop: async () => load.stop(),
    broken: () => undefined,
  };
  try {
    await load.connect('clients', hop.address, nodes, 'sotw', SYNC_TIMEOUT_MS);
    await waitForSynced(hop, nodes.length, Date.now() + SYNC_TIMEOUT_MS, () => undefined);
  } catch (error) {
    load.stop();
    throw error;
  }
  return clients;
}

export async function measureCalibration(
  factory: ServerFactory,
  kind: CalibrationKind,
  plan: CalibrationPlan,
  progress: (line: string) => void,
): Promise<CalibrationResult> {
  const loadAverage = os.loadavg()[0];
  const anchors = LoadGenerator.start(1);
  let server: ServerUnderTest | undefined;
  let hop: RecordingHop | undefined;
  let clients: Clients | undefined;
  try {
    server = await factory.start(plan.size, plan.workDir);
    if (plan.pin) {
      pinProcess(server.pid, plan.pin.server);
      for (const pid of anchors.pids) pinProcess(pid, plan.pin.clients);
    }
    await anchors.connect('anchors', server.xdsAddress, server.anchorNodes(), 'sotw', SYNC_TIMEOUT_MS);
    hop = await RecordingHop.start(server.xdsAddress);
    // Beside the server: its timestamps must not wait behind the clients' work.
    if (plan.pin) pinProcess(hop.pid, plan.pin.server);
    const measured = server;
    const nodes = Array.from({ length: plan.clients }, (_, i) => measured.node('bench', i));
    const startedAt = Date.now();
    const cores = plan.pin?.clients;
    clients =
      kind === 'envoy'
        ? await startEnvoys(nodes, hop, plan.workDir, cores, progress)
        : await startLoadGenerator(nodes, hop, cores);
    const syncMs = Date.now() - startedAt;
    await sleep(plan.steadyIdleMs);
    const clientMemoryPerClientBytes =
      clients.pids.reduce((sum, pid) => sum + privateMemoryBytes(pid), 0) / plan.clients;
    progress(
      `${plan.clients} clients synced in ${(syncMs / 1000).toFixed(1)} s; client private memory ${(clientMemoryPerClientBytes / 2 ** 20).toFixed(1)} MiB per client`,
    );

    const idleStart = cpuNs(server.pid);
    const idleStartedNs = process.hrtime.bigint();
    await sleep(IDLE_WINDOW_MS);
    const idleCpuPerMs = (cpuNs(server.pid) - idleStart) / nsToMs(process.hrtime.bigint() - idleStartedNs);

    const flips: CalibrationFlip[] = [];
    const notReady = new Set<string>();
    for (let k = 0; k < plan.flips; k++) {
      const service = k % plan.size.services;
      notReady.add(endpointKey(service, 0, 0));
      const before = await hop.status();
      const { connections, seen } = await hop.arm(server.edsNameOf(service), FLIP_TIMEOUT_MS);
      if (connections !== plan.clients)
        progress(`flip ${k + 1}: only ${connections} of ${plan.clients} clients are synced`);
      const serverCpuBefore = cpuNs(server.pid);
      const clientCpuBefore = cpuOf(clients.pids);
      const hopCpuBefore = cpuNs(hop.pid);
      const machineBefore = machineCpuTicks();
      const windowStartNs = process.hrtime.bigint();
      const changedAtNs = await server.apply(new Set(notReady));
      const flip = await seen;
      await sleep(AFTER_PUSH_MS);
      const windowMs = nsToMs(process.hrtime.bigint() - windowStartNs);
      const serverCpuMs = Math.max(0, (cpuNs(server.pid) - serverCpuBefore) / 1e6 - (idleCpuPerMs * windowMs) / 1e6);
      const clientCpuMs = (cpuOf(clients.pids) - clientCpuBefore) / 1e6;
      const hopCpuMs = (cpuNs(hop.pid) - hopCpuBefore) / 1e6;
      const machineAfter = machineCpuTicks();
      const machineBusyShare =
        1 - (machineAfter.idle - machineBefore.idle) / Math.max(1, machineAfter.total - machineBefore.total);
      const after = await hop.status();
      const acks = flip.ackedNs.map((ns) => nsToMs(ns - changedAtNs));
      const responses = flip.receivedNs.map((ns) => nsToMs(ns - changedAtNs));
      flips.push({
        ackP50Ms: percentile(acks, 50),
        ackP99Ms: percentile(acks, 99),
        ackMaxMs: max(acks),
        responseP50Ms: percentile(responses, 50),
        responseP99Ms: percentile(responses, 99),
        serverCpuMs,
        clientCpuMs,
        hopCpuMs,
        machineBusyShare,
        bytesDown: after.bytesDown - before.bytesDown,
        bytesUp: after.bytesUp - before.bytesUp,
        clients: connections,
        nacked: flip.nacked,
      });
      const broken = clients.broken();
      if (broken) throw new Error(broken);
    }
    const final = await hop.status();
    progress(
      `change → ACK p50/p99 (median of ${flips.length} flips): ${median(flips.map((f) => f.ackP50Ms)).toFixed(0)} / ${median(flips.map((f) => f.ackP99Ms)).toFixed(0)} ms; ` +
        `server CPU per push ${median(flips.map((f) => f.serverCpuMs)).toFixed(0)} ms; ${final.nacks} NACKs`,
    );
    return {
      server: factory.name,
      kind,
      clients: plan.clients,
      loadAverage,
      syncMs,
      clientMemoryPerClientBytes,
      nacks: final.nacks,
      flips,
    };
  } finally {
    await clients?.stop();
    hop?.stop();
    anchors.stop();
    await server?.stop();
  }
}
