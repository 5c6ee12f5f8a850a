// Folds the runs of one (mesh size, client count, server) into the figures the report shows.
import { ClientKind, HeldCounts } from '../load/protocol';
import { median, min, percentile } from '../measure/statistics';
import { RunResult } from '../scenario';
import { ServerName } from '../servers/server-under-test';

/** A figure over repetitions (flips of all runs): min, median, p99. */
export interface Spread {
  min: number;
  median: number;
  p99: number;
}

export function spread(values: readonly number[]): Spread {
  return { min: min(values), median: median(values), p99: percentile(values, 99) };
}

export interface Figures {
  server: ServerName;
  kind: ClientKind;
  runs: number;
  /** Reconnect storm: N clients connect at once until the last holds the whole mesh (ms, median of runs). */
  syncAllMs: number;
  /** CPU seconds during the storm: the server's, and the load generators' (they share the machine's cores). */
  syncServerCpuS: number;
  syncLoadCpuS: number;
  /** Server CPU during the storm per synced client (ms, median of runs): a primary ratio, least sensitive to shared cores. */
  syncServerCpuPerClientMs: number;
  /** Server CPU during the storm over its wall time, in cores (1 = one core busy throughout; median of runs). */
  syncServerCores: number;
  syncLoadCores: number;
  /** Server CPU per push per client (µs, median of all flips): the other primary ratio. */
  cpuPerPushPerClientUs: number;
  /** Run by run, in run order: the storm (ms), the median over the run's flips of p99 change → ACK (ms), of CPU per push (ms). */
  perRun: { syncAllMs: number; ackP99Ms: number; cpuPerPushMs: number; loadAverage: number }[];
  /** An endpoint change until the last of N clients has it (ms, median of all flips). */
  pushAllMs: number;
  /** ... until half of them have it. */
  pushHalfMs: number;
  /** Server CPU per push (ms, median of all flips). */
  cpuPerPushMs: number;
  rssPerClientBytes: number;
  /**
   * Slope of RSS against N over every client count of this mesh size and client kind (least squares), the
   * memory each further client adds. Costs that do not grow with N drop out; heap headroom and uncollected
   * garbage that grow with N do not.
   */
  rssSlopeBytes: number;
  /** The client counts the slope was fitted over. */
  rssSlopeOver: number[];
  rssBaselineBytes: number;
  /** RSS with the N clients at steady state (median of runs). */
  rssWithClientsBytes: number;
  /** The runtime's heap figure: per client ((with − before) / N) and with the N clients; NaN when unknown. */
  heapPerClientBytes: number;
  heapWithClientsBytes: number;
  bytesPerClient: number;
  held: HeldCounts;
  /** Streams refused before their sync and retried, over all runs. */
  reconnects: number;
  /** Change → ACK written, p50 / p99 / max across clients, each spread over flips. */
  ackP50: Spread;
  ackP99: Spread;
  ackMax: Spread;
  /** Bytes all clients received per change (median of flips), and per client. */
  bytesPerChange: number;
  bytesPerChangePerClient: number;
  responsesPerChange: number;
  clientsCount: number;
}

export interface Cell {
  services: number;
  clients: number;
  kind: ClientKind;
  figures: Figures[];
  errors: string[];
}

/**
 * Least-squares slope of RSS against the number of clients, over runs at several N (each run also gives
 * the point N = 0, its RSS before the clients).
 */
export function rssSlope(runs: readonly RunResult[]): number {
  const points: [number, number][] = runs.flatMap((r) => [
    [0, r.rssBaselineBytes],
    [r.clients, r.rssWithClientsBytes],
  ]);
  const n = points.length;
  const meanX = points.reduce((s, [x]) => s + x, 0) / n;
  const meanY = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - meanX) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - meanX) * (y - meanY), 0);
  return sxx > 0 ? sxy / sxx : Number.NaN;
}

/** `sameSizeRuns`: this server's runs at every client count of this mesh size and kind (for the RSS slope). */
export function figuresOf(
  server: ServerName,
  runs: readonly RunResult[],
  sameSizeRuns: readonly RunResult[] = runs,
): Figures | undefined {
  if (runs.length === 0) return undefined;
  const flips = runs.flatMap((run) => run.flips);
  return {
    server,
    kind: runs[0].kind,
    runs: runs.length,
    syncAllMs: median(runs.map((r) => r.syncAllMs)),
    syncServerCpuS: median(runs.map((r) => r.syncServerCpuS)),
    syncLoadCpuS: median(runs.map((r) => r.syncLoadCpuS)),
    syncServerCpuPerClientMs: median(runs.map((r) => (r.syncServerCpuS * 1000) / r.clients)),
    syncServerCores: median(runs.map((r) => r.syncServerCpuS / (r.syncAllMs / 1000))),
    syncLoadCores: median(runs.map((r) => r.syncLoadCpuS / (r.syncAllMs / 1000))),
    cpuPerPushPerClientUs: (median(flips.map((f) => f.cpuMs)) * 1000) / runs[0].clients,
    perRun: runs.map((r) => ({
      syncAllMs: r.syncAllMs,
      ackP99Ms: median(r.flips.map((f) => f.ackP99Ms)),
      cpuPerPushMs: median(r.flips.map((f) => f.cpuMs)),
      loadAverage: r.loadAverageBefore,
    })),
    rssSlopeBytes: rssSlope(sameSizeRuns),
    rssSlopeOver: [...new Set(sameSizeRuns.map((r) => r.clients))].sort((a, b) => a - b),
    pushAllMs: median(flips.map((f) => f.allMs)),
    pushHalfMs: median(flips.map((f) => f.medianMs)),
    cpuPerPushMs: median(flips.map((f) => f.cpuMs)),
    rssPerClientBytes: median(runs.map((r) => r.rssPerClientBytes)),
    rssBaselineBytes: median(runs.map((r) => r.rssBaselineBytes)),
    rssWithClientsBytes: median(runs.map((r) => r.rssWithClientsBytes)),
    heapPerClientBytes: median(runs.map((r) => (r.heapWithClientsBytes - r.heapBaselineBytes) / r.clients)),
    heapWithClientsBytes: median(runs.map((r) => r.heapWithClientsBytes)),
    bytesPerClient: median(runs.map((r) => r.bytesPerClient)),
    held: runs[0].held,
    reconnects: runs.reduce((sum, run) => sum + run.reconnects, 0),
    ackP50: spread(flips.map((f) => f.ackP50Ms)),
    ackP99: spread(flips.map((f) => f.ackP99Ms)),
    ackMax: spread(flips.map((f) => f.ackMaxMs)),
    bytesPerChange: median(flips.map((f) => f.bytes)),
    bytesPerChangePerClient: median(flips.map((f) => f.bytes)) / runs[0].clients,
    responsesPerChange: median(flips.map((f) => f.responses)),
    clientsCount: runs[0].clients,
  };
}

/** Spillway's figure divided by the peer's: below 1 means Spillway is faster or lighter. */
export function ratio(spillway: number, peer: number): number {
  return peer > 0 && Number.isFinite(spillway) && Number.isFinite(peer) ? spillway / peer : Number.NaN;
}
