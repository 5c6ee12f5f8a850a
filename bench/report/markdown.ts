// Writes docs/BENCHMARKS.md: the hand-written intro above the marker is kept, everything below it is
// rewritten from this run's figures.
import * as fs from 'fs';
import * as os from 'os';
import { BenchOptions } from '../options';
import { REFERENCE_ONLY, SERVER_LABEL, ServerName, unsupportedKind } from '../servers/server-under-test';
import { ClientKind, isMtlsKind } from '../load/protocol';
import { SIDECAR_PORT } from '../mesh/generate-mesh';
import { FLIPPED_SERVICES } from '../scenario';
import { ISTIOD_DEFAULT_REQUESTS_PER_SECOND, ISTIOD_MAX_REQUESTS_PER_SECOND } from '../servers/istiod-server';
import { DEFAULT_DEBOUNCE } from '../../src/mesh/debounce';
import { MachineFacts } from './machine';
import { Cell, Figures, Spread, ratio } from './summary';

export const GENERATED_MARKER = '<!-- Everything below this line is written by `npm run bench`; edit above it. -->';

const DEFAULT_INTRO = `# Benchmarks

Speed and memory are measured here, by \`npm run bench\`, not by timed tests. Every figure of Spillway
is set against peers measured in the same run on the same machine, because the machine is shared and
noisy: read the ratios, not the absolute numbers.
`;

export interface Report {
  options: BenchOptions;
  machine: MachineFacts;
  cells: Cell[];
  /** Servers that could not run, with the reason. */
  skipped: Map<ServerName, string>;
  elapsedMs: number;
  /** Set when the run was stopped early: the report holds the runs completed by then. */
  interrupted?: { completedRuns: number; totalRuns: number };
}

const fixed = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const kib = (bytes: number) => fixed(bytes / 1024, bytes < 10 * 1024 ? 1 : 0);
const mib = (bytes: number) => fixed(bytes / 2 ** 20, 0);
const spreadText = (s: Spread) => `${fixed(s.median)} (${fixed(s.min)}–${fixed(s.p99)})`;
const KIND_LABEL: Record<ClientKind, string> = {
  envoy: '',
  grpc: ' gRPC',
  'mtls-pods': ' mTLS pods',
  'mtls-shared': ' mTLS shared',
  scoped: ' scoped',
};
const clientsLabel = (cell: Cell) => `${cell.clients}${KIND_LABEL[cell.kind]}`;
const times = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a');

function figureOf(cell: Cell, server: ServerName): Figures | undefined {
  return cell.figures.find((f) => f.server === server);
}

/** RSS per client: the slope over several client counts when there are several, else this run's own figure. */
function rssPerClient(f: Figures): number {
  return f.rssSlopeOver.length > 1 && Number.isFinite(f.rssSlopeBytes) ? f.rssSlopeBytes : f.rssPerClientBytes;
}

function ratiosTable(report: Report, peers: ServerName[]): string[] {
  if (peers.length === 0) return ['(No peer ran, so there are no ratios.)'];
  const lines: string[] = [];
  // CPU per client first: of all figures it depends least on the load generators sharing the cores.
  const metrics: [string, (f: Figures) => number][] = [
    ['server CPU per synced client (storm)', (f) => f.syncServerCpuPerClientMs],
    ['server CPU per client per push', (f) => f.cpuPerPushPerClientUs],
    ['p99 change→ACK', (f) => f.ackP99.median],
    ['reconnect storm', (f) => f.syncAllMs],
    // The same figure for both sides at the same N: never one server's slope beside another's single point.
    // Scoped: a peer that is handed every workload's resources holds all views before the first client, so
    // (RSS with − RSS before) / N would compare view costs on one side only; the RSS with the N clients does not.
    [
      'RSS per client (steady state; scoped: RSS with the N clients)',
      (f) => (f.kind === 'scoped' ? f.rssWithClientsBytes : f.rssPerClientBytes),
    ],
  ];
  const header = [
    'services',
    'clients',
    ...peers.flatMap((peer) => metrics.map(([name]) => `${name} vs ${SERVER_LABEL[peer]}`)),
  ];
  lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
  // The mTLS workload runs on Spillway alone: it has a section of its own.
  for (const cell of report.cells.filter((c) => !isMtlsKind(c.kind))) {
    const spillway = figureOf(cell, 'spillway');
    const values = peers.flatMap((peer) => {
      const other = figureOf(cell, peer);
      return metrics.map(([, pick]) => (spillway && other ? times(ratio(pick(spillway), pick(other))) : 'n/a'));
    });
    lines.push(`| ${cell.services} | ${clientsLabel(cell)} | ${values.join(' | ')} |`);
  }
  return lines;
}

function sizeTable(cells: Cell[], servers: ServerName[]): string[] {
  const lines = [
    `| clients | figure | ${servers.map((server) => SERVER_LABEL[server]).join(' | ')} |`,
    `|---|---|${servers.map(() => '---:').join('|')}|`,
  ];
  const rows: [string, (f: Figures) => string][] = [
    ['reconnect storm: N connect at once → all synced (ms)', (f) => fixed(f.syncAllMs)],
    [
      'CPU during the storm (s): server / load generators',
      (f) => `${fixed(f.syncServerCpuS, 1)} / ${fixed(f.syncLoadCpuS, 1)}`,
    ],
    ['server CPU per synced client during the storm (ms)', (f) => fixed(f.syncServerCpuPerClientMs, 2)],
    [
      `cores busy during the storm (of ${os.cpus().length}): server / load generators`,
      (f) => `${fixed(f.syncServerCores, 2)} / ${fixed(f.syncLoadCores, 2)}`,
    ],
    ['endpoint change → last client has it (ms)', (f) => fixed(f.pushAllMs)],
    ['endpoint change → half the clients have it (ms)', (f) => fixed(f.pushHalfMs)],
    ['change → ACKed, p50 of clients (ms): median (min–p99) of flips', (f) => spreadText(f.ackP50)],
    ['change → ACKed, p99 of clients (ms): median (min–p99) of flips', (f) => spreadText(f.ackP99)],
    ['change → ACKed, max of clients (ms): median (min–p99) of flips', (f) => spreadText(f.ackMax)],
    ['server CPU per push (ms)', (f) => fixed(f.cpuPerPushMs, 1)],
    ['server CPU per push per client (µs)', (f) => fixed(f.cpuPerPushPerClientUs, 0)],
    ['run by run: reconnect storm (ms)', (f) => f.perRun.map((r) => fixed(r.syncAllMs)).join(', ')],
    [
      "run by run: p99 change→ACK, median of the run's flips (ms)",
      (f) => f.perRun.map((r) => fixed(r.ackP99Ms)).join(', '),
    ],
    [
      "run by run: server CPU per push, median of the run's flips (ms)",
      (f) => f.perRun.map((r) => fixed(r.cpuPerPushMs, 1)).join(', '),
    ],
    ['run by run: load average (1 min) before the run', (f) => f.perRun.map((r) => fixed(r.loadAverage, 2)).join(', ')],
    ['bytes all clients receive per change (KiB)', (f) => kib(f.bytesPerChange)],
    [
      'bytes per client per change (B) / responses per change',
      (f) => `${fixed(f.bytesPerChangePerClient)} / ${fixed(f.responsesPerChange)}`,
    ],
    ['server RSS per client, steady state: (RSS − RSS before) / N (KiB)', (f) => kib(f.rssPerClientBytes)],
    [
      'server RSS with the N clients / before them, steady state (MiB)',
      (f) => `${mib(f.rssWithClientsBytes)} / ${mib(f.rssBaselineBytes)}`,
    ],
    ['live heap per client after a full GC: (heap − heap before) / N (KiB)', (f) => kib(f.heapPerClientBytes)],
    [
      'live heap with the N clients after a full GC (MiB): Node heapUsed + external, Go HeapAlloc',
      (f) => mib(f.heapWithClientsBytes),
    ],
    [
      'server RSS per client: slope of RSS over N (KiB; shown, never a ratio)',
      (f) => (f.rssSlopeOver.length > 1 ? `${kib(f.rssSlopeBytes)} (N = ${f.rssSlopeOver.join(', ')})` : 'one N only'),
    ],
    ['bytes a client receives to sync (KiB)', (f) => kib(f.bytesPerClient)],
    [
      'resources a client holds (CDS/EDS/LDS/RDS)',
      (f) => `${f.held.clusters}/${f.held.endpoints}/${f.held.listeners}/${f.held.routes}`,
    ],
    ['streams refused before sync, retried (all runs)', (f) => String(f.reconnects)],
    ['runs', (f) => String(f.runs)],
  ];
  for (const cell of cells) {
    for (const [label, show] of rows) {
      const values = servers.map((server) => {
        const figures = figureOf(cell, server);
        if (figures) return show(figures);
        const notRun =
          unsupportedKind(server, cell.kind) !== undefined ||
          cell.errors.some((e) => e.startsWith(`${server}: not run`));
        return notRun ? 'not run' : 'failed';
      });
      lines.push(`| ${clientsLabel(cell)} | ${label} | ${values.join(' | ')} |`);
    }
  }
  return lines;
}

/** The issue's targets, against Spillway's figures at the largest N of this run (Envoy-like clients). */
function targetsSection(report: Report): string[] {
  const lines: string[] = [];
  // Full mesh (every sidecar holds every service) and scoped (each holds what its workload calls): both shapes stay visible.
  for (const kind of ['envoy', 'scoped'] as const) {
    const measured = report.cells.filter((c) => c.kind === kind && figureOf(c, 'spillway'));
    if (measured.length === 0) continue;
    const n = Math.max(...measured.map((c) => c.clients));
    const shape =
      kind === 'envoy'
        ? 'full mesh: every sidecar holds every service'
        : `scoped: each sidecar holds the ${report.options.callsPerWorkload} services its workload calls`;
    lines.push(
      `### Targets (Spillway, largest N of this run; ${shape})`,
      '',
      '| services | N | p99 change→ACK (target < 1 s at 10k) | RSS per client, steady state (target < 30 KB) | N clients (re)connect at once → all synced (target < 20 s at 10k) | CPU during the storm: server / load generators |',
      '|---|---|---|---|---|---|',
    );
    for (const cell of measured.filter((c) => c.clients === n)) {
      const f = figureOf(cell, 'spillway') as Figures;
      const rss = `${kib(f.rssPerClientBytes)} KiB${f.rssSlopeOver.length > 1 ? ` (slope over N = ${f.rssSlopeOver.join(', ')}: ${kib(f.rssSlopeBytes)} KiB)` : ''}`;
      lines.push(
        `| ${cell.services} | ${n} | ${fixed(f.ackP99.median)} ms | ${rss} | ${fixed(f.syncAllMs / 1000, 1)} s | ${fixed(f.syncServerCpuS, 1)} s / ${fixed(f.syncLoadCpuS, 1)} s |`,
      );
    }
    if (n < 10_000)
      lines.push('', `N = 10000 was not run here (largest: ${n}); the targets are stated for 10k clients.`);
    lines.push('');
  }
  return lines;
}

/** Ratio and whether it is within its target, as a table cell. */
function againstTarget(value: number, target: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${times(value)} ${value <= target ? '(met)' : '(not met)'}`;
}

/**
 * The mTLS workload (issue 14): sidecars that are each a pod of their own against sidecars sharing one
 * view, per mesh size and N, with the targets (pods cost at most 1.5x the push p99, 1.2x the RSS).
 */
function mtlsPodsSection(report: Report): string[] {
  const pods = report.cells.filter((c) => c.kind === 'mtls-pods');
  if (pods.length === 0) return [];
  const lines = [
    '### mTLS mesh: every sidecar a pod of its own vs one shared view (Spillway)',
    '',
    `The same mesh with every service \`mtls: true\` (endpoints' \`sidecarPort\` ${SIDECAR_PORT}). **pods**: N workload sidecars, each with ` +
      `the node metadata of a pod of its own (INSTANCE_IP a distinct endpoint address of its cluster, INBOUND_PORT ${SIDECAR_PORT}, TLS_DIR); ` +
      "**shared**: N sidecars with the metadata of their cluster's first pod (one view per cluster). Both are measured in the same run, " +
      'one after the other at each N, each on a fresh server. The peers are not run: they do not implement these per-pod inputs. ' +
      'Targets: pods cost at most 1.5× the p99 change→ACK and 1.2× the RSS per client of shared.',
    '',
    '| services | N | p99 change→ACK (ms): pods / shared | pods / shared (target ≤ 1.5×) | RSS per client (KiB): pods / shared | pods / shared (target ≤ 1.2×) | reconnect storm (ms): pods / shared | CPU per push (ms): pods / shared |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const cell of pods) {
    const shared = report.cells.find(
      (c) => c.kind === 'mtls-shared' && c.services === cell.services && c.clients === cell.clients,
    );
    const p = figureOf(cell, 'spillway');
    const q = shared ? figureOf(shared, 'spillway') : undefined;
    const pair = (pick: (f: Figures) => string) => `${p ? pick(p) : 'failed'} / ${q ? pick(q) : 'failed'}`;
    const rssText = (f: Figures) =>
      f.rssSlopeOver.length > 1
        ? `${kib(f.rssSlopeBytes)} (at this N: ${kib(f.rssPerClientBytes)})`
        : kib(f.rssPerClientBytes);
    const p99Ratio = p && q ? ratio(p.ackP99.median, q.ackP99.median) : Number.NaN;
    const rssRatio = p && q ? ratio(rssPerClient(p), rssPerClient(q)) : Number.NaN;
    lines.push(
      `| ${cell.services} | ${cell.clients} | ${pair((f) => fixed(f.ackP99.median))} | ${againstTarget(p99Ratio, 1.5)} | ${pair(rssText)} | ${againstTarget(rssRatio, 1.2)} | ` +
        `${pair((f) => fixed(f.syncAllMs))} | ${pair((f) => fixed(f.cpuPerPushMs, 1))} |`,
    );
  }
  lines.push(
    '',
    'RSS per client is the slope of RSS over N (each kind over its own runs) where the run has several N, in parentheses the figure at this N; ' +
      'the ratio uses the slope. The full figures, and why a run failed, are in the per-size tables above (rows "mTLS pods" and "mTLS shared").',
  );
  return lines;
}

function methodSection(options: BenchOptions): string[] {
  const idle = `${(options.steadyIdleMs / 1000).toFixed(0)} s`;
  return [
    '### Method',
    '',
    `- **Mesh**: S services (one HTTP port each) with ${options.endpointsPerCluster} endpoints in each of ${options.clusters} clusters, all exported. ` +
      'Every server is given the same services and endpoints in its own input format (below).',
    '- **Clients**: raw ADS streams (one HTTP/2 connection each, like separate Envoys) held by a load-generator process of its own, ' +
      "so client work is not counted as the server's. Each behaves like Envoy 1.40 as captured against Spillway by a recording proxy " +
      '(test/e2e/envoy-request-order.test.ts): CDS as a wildcard; on the CDS response, the EDS names of its EDS clusters, sent before the CDS ACK; ' +
      'LDS as a wildcard once the first EDS response is in, sent before the EDS ACK; RDS for the routes the listener names, before the LDS ACK; ' +
      'every response ACKed, each ACK repeating the names of the subscription in the same order. Envoy lists EDS names neither sorted nor in the ' +
      'CDS order but in a fixed permutation of its own hashing (the same in two Envoy processes), and puts a cluster added later first; the ' +
      "clients do the same with a hash permutation of their own (bench/load/envoy-order.ts), not Envoy's exact one. " +
      'Clients are spread evenly over the mesh clusters (Spillway views). ' +
      `Stream mode: ${options.mode === 'sotw' ? 'state of the world (SotW) ADS' : 'incremental (delta) ADS'}.`,
    '- **Each run** starts a fresh server, connects one anchor client per view (so views exist), reads its memory (below), opens N streams at once ' +
      'and times until the last one holds all four types (**reconnect storm**; the CPU seconds the server and the load generators used meanwhile ' +
      'are shown, because on a small machine they share the cores). ' +
      `**Memory, the same way for every server**: once the anchors have synced, and again once all N clients have synced, nothing is sent for ${idle} ` +
      "(no collection is forced), then the server's RSS (/proc) is read, and after it the runtime's own live heap, each runtime asked to run " +
      "a full collection first: Node's `process.memoryUsage()` heapUsed + external (Buffers, where Spillway keeps encoded responses) after " +
      "`gc()`, asked over the bench server's IPC (the process runs with --expose-gc for that); Go's HeapAlloc after `runtime.GC()` " +
      '(`runtime.MemStats` in the go-control-plane peer; istiod: `/debug/pprof/heap?gc=1`, then `go_memstats_heap_alloc_bytes` on its ' +
      'monitoring port). **RSS per client** is ' +
      '(RSS with the N clients − RSS before them) / N at that steady state; the ratios use it for every server at the same N. ' +
      'The memory guard projects from it. The tables also show the slope of ' +
      'RSS against N, fitted (least squares) over every client count of the run for that mesh, each run giving the points (0, RSS before the ' +
      'clients) and (N, RSS with them): the intercept takes what does not grow with N, but memory that grows with N without being held by a ' +
      'client (heap headroom a runtime keeps in proportion to its live data, garbage not yet collected at the moment of reading) stays in the ' +
      'slope; it is never used for a ratio. ' +
      `Then it makes ${options.flips} endpoint changes, one at a time: change k toggles one endpoint of service k mod ${FLIPPED_SERVICES} ` +
      '(not ready on one pass, ready again on the next), so every change touches exactly one assignment: ' +
      '**push to all** is the time from handing the change to the server until the last client has an EDS response with the changed service; ' +
      "**CPU per push** is the server's CPU time (all threads, /proc schedstat) from the change until 300 ms after the last client has it " +
      '(ACKs included), minus what the server burns idle over as long.',
    `- Figures are medians over ${options.repetitions} run(s) (sync, RSS) or over all flips of all runs (push, CPU); ` +
      '"median (min–p99) of flips" gives the spread over all flips, the "run by run" rows the spread between runs, with the 1-minute ' +
      'load average read just before each run started (the machine is shared: other work raises it). ' +
      'Sizes and servers are interleaved within each repetition, so drift in machine load affects all of them alike. ' +
      '**Primary ratios**: server CPU per synced client during the storm and server CPU per client per push: CPU time is what the ' +
      'server itself spent, so it depends least on the load generators sharing the cores; the times (storm, p99) also include waiting ' +
      'for a core. "Cores busy during the storm" (server CPU seconds over the storm\'s wall time) tells whether the server or the load ' +
      'generators were the bottleneck: a server near 1 core is busy throughout (Node serves on one thread; Go servers can use both cores).',
    '- **Spillway**: the real pipeline (mesh store with its default debounce ' +
      `${DEFAULT_DEBOUNCE.quietMs} ms quiet / ${DEFAULT_DEBOUNCE.maxDelayMs} ms max, translation, snapshot cache, xDS server) in a Node process, ` +
      'fed the way a discovery source feeds it: a whole shard replaced per change (bench/servers/spillway-main.ts). Log level info (to a file). ' +
      'Process settings as in its container image (MALLOC_MMAP_THRESHOLD_=131072, see docs/OPERATIONS.md).',
    `- **Scoped workload** (rows "scoped"): the same mesh, every service declaring the ${options.callsPerWorkload} services it calls ` +
      `(mesh file \`calls:\`; the ${FLIPPED_SERVICES} services the endpoint changes touch, then the next ones after itself), and Envoy-like ` +
      'sidecars that name their workload in node metadata SERVICE (`svc-<i>.bench`, the workloads other than the changed services, in turn): each holds only ' +
      'the services its workload calls, and there is one view per (cluster, workload). go-control-plane serves the same scoped resources ' +
      "(Spillway's translation per workload, keyed by CLUSTER_ID/SERVICE). One anchor per cluster; the other workloads' views are made by " +
      'the measured clients.',
    '- **mTLS workload** (rows "mTLS pods" and "mTLS shared"): the same mesh with every service `mtls: true` and every endpoint\'s sidecar on ' +
      `port ${SIDECAR_PORT}, and Envoy-like workload sidecars whose node metadata is that of a real mTLS sidecar (docs/OPERATIONS.md): CLUSTER_ID, ` +
      `INSTANCE_IP (the pod's address: an endpoint of its cluster), INBOUND_PORT ${SIDECAR_PORT}, TLS_DIR. "pods": every sidecar a pod of its own ` +
      '(distinct INSTANCE_IPs); "shared": every sidecar of a cluster with its first pod\'s metadata. The anchors of both are the shared pods, so ' +
      'both start from the same views. Spillway only; the same figures and RSS slope as above, per kind.',
    "- **Memory guard**: a server whose RSS, projected from its run with fewer clients, would not fit in 60% of the machine's memory is not " +
      'run at that N (the table says "not run" and why); a server whose RSS passes that limit during a run is stopped and the run reported as failed.',
    "- **go-control-plane**: bench/peers/go-control-plane, a small ADS server (go-control-plane's SotW and delta servers) that serves " +
      "Spillway's resources: the harness translates with Spillway's translator and hands the peer only the resources whose bytes changed, " +
      'as encoded `Any`s. Two configurations, the same binary with `-cache`: **LinearCache** (the one the ratios use): one `LinearCache` per ' +
      '(mesh cluster, type) behind a mux on node.metadata.CLUSTER_ID; versions are per resource, an update wakes only the watches of the ' +
      'changed names (and wildcard watches), and a SotW EDS or RDS response carries only the changed resources (CDS and LDS are full state, ' +
      'as the protocol requires); each resource is marshalled once. **SnapshotCache** (reference row): one snapshot per mesh cluster with a ' +
      'version per type, so an endpoint change re-sends every EDS resource a SotW client subscribes to, marshalled again for each response. ' +
      'What each sends per change is in the "bytes per client per change" row. The peer has no debounce, and translation is not part of its ' +
      "time or CPU (go-control-plane is a library without it): its figures leave out work that Spillway's and istiod's include, and are " +
      'not a bound on what a control plane built on it would achieve (that depends on how it is configured, as the two rows show).',
    '- **istiod**: `pilot-discovery` built from the Go module proxy by scripts/bench-peers.sh, with one small patch (bench/peers/istiod/patches): ' +
      'it lets its ServiceEntry registry start without Kubernetes (upstream dereferences a missing multicluster controller). ' +
      'It is fed one ServiceEntry per service (MESH_INTERNAL, STATIC, endpoints with localities) over its MCP config source (mesh config ' +
      '`configSources: xds://…`, bench/servers/istiod-config-source.ts): a change sends the list again with a new resource version on the changed ' +
      'entry only, so istiod sees one changed ServiceEntry per endpoint change, as from a Kubernetes informer, and pushes incrementally (its own ' +
      'metrics: one EDS push per sidecar per change). An endpoint that is not ready is left out (ServiceEntry endpoints have no readiness). ' +
      `Its push debounce is set to Spillway's (PILOT_DEBOUNCE_AFTER=${DEFAULT_DEBOUNCE.quietMs}ms, PILOT_DEBOUNCE_MAX=${DEFAULT_DEBOUNCE.maxDelayMs}ms). ` +
      `Two configurations: **admission limit lifted** (PILOT_MAX_REQUESTS_PER_SECOND=${ISTIOD_MAX_REQUESTS_PER_SECOND}) and **defaults**: istiod then ` +
      `admits ${ISTIOD_DEFAULT_REQUESTS_PER_SECOND} new streams per second on this machine (min(15 + 5 × cores, 100), burst 1) and refuses a stream it cannot ` +
      'admit within 1 s with RESOURCE_EXHAUSTED; the clients retry as Envoy does (a delay drawn from [0, 500 ms × 2^k), at most 30 s) or grpc-js ' +
      '(1 s, × 1.6 per attempt, ± 20%), and the "streams refused" row counts the retries. Its gRPC-like clients get its `grpc` generator, which ' +
      "on every push, endpoint-only ones included, rebuilds and resends the client's LDS, RDS and CDS beside the changed EDS (4 responses per " +
      "change); building the route configuration walks every service the client can see. Its sidecars get Istio's own config (extra " +
      "passthrough/blackhole clusters and listeners, all endpoints in one assignment with localities), so the bytes differ from Spillway's: " +
      'see the "bytes" and "resources" rows. On the scoped workload istiod is scoped the way Istio does it: one `Sidecar` ' +
      '(networking.istio.io/v1) per service, in the mesh namespace and sent over the same config source, whose `workloadSelector` is the ' +
      "workload's label (`app: svc-<i>`) and whose one egress listener lists the services it calls as hosts " +
      '(`bench/svc-<k>.bench.svc.cluster.local`); each scoped sidecar reports that label in node metadata LABELS, which istiod matches (no ' +
      "registry knows the proxy's address). Such a sidecar holds the clusters of those services plus istiod's BlackHoleCluster, " +
      "PassthroughCluster and InboundPassthroughCluster (istiod's /debug/sidecarz and /debug/config_dump show the matched Sidecar and " +
      'these clusters; a sidecar without the label, on the same mesh, holds every service).',
  ];
}

export function renderReport(report: Report, intro: string): string {
  const { options, machine } = report;
  const servers = options.servers.filter((server) => !report.skipped.has(server));
  // Ratios only against each peer's best configuration; reference configurations stay in the per-size tables.
  const peers = servers.filter((server) => server !== 'spillway' && !REFERENCE_ONLY.has(server));
  const lines: string[] = [intro.trimEnd(), '', GENERATED_MARKER, '', '## Latest run', ''];
  lines.push(
    `Run ${machine.date}, ${(report.elapsedMs / 60_000).toFixed(1)} min, ${options.quick ? 'quick check (--quick)' : options.workload === 'pods' ? 'mTLS workload only (--workload pods)' : 'full run'}` +
      `${report.interrupted ? `, **stopped early** after ${report.interrupted.completedRuns} of ${report.interrupted.totalRuns} runs (each column's "runs" row says how many repetitions its figures hold)` : ''}.`,
    '',
    `- Machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, ${machine.kernel}; load average at start ${machine.loadAverage} (shared machine).`,
    `- Software: Node ${machine.node}; Go ${machine.go}; ${machine.goControlPlane}; ${machine.istio} (pilot-discovery, patched: see Method).`,
    `- Meshes: ${options.services.join(' / ')} services × ${options.endpointsPerCluster} endpoints × ${options.clusters} clusters; ` +
      `${options.clients.length > 0 ? options.clients.join(' / ') : 'no plain'} clients` +
      `${options.podClients.length > 0 ? `, ${options.podClients.join(' / ')} mTLS workload sidecars (pods and shared)` : ''}; ` +
      `${options.repetitions} repetition(s), ${options.flips} endpoint flips per run; ${options.mode === 'sotw' ? 'SotW' : 'delta'} ADS.`,
  );
  for (const [server, reason] of report.skipped) lines.push(`- **${server} did not run**: ${reason}`);
  lines.push('', '### Spillway / peer (below 1: Spillway is faster or lighter)', '', ...ratiosTable(report, peers), '');
  const references = servers.filter((server) => REFERENCE_ONLY.has(server));
  if (references.length > 0) {
    lines.push(
      `Ratios are against each peer in its best configuration for this workload. ${references.map((r) => SERVER_LABEL[r]).join(' and ')} ` +
        'are measured in the same run at the smallest client count of each kind and shown in the tables below, but not used for ratios: ' +
        'the SnapshotCache re-sends every subscribed EDS resource on a change (see the "bytes per client per change" row), and istiod\'s ' +
        'default admission limit paces new streams at 25 per second, so a ratio against either measures that choice, not the server.',
      '',
    );
  }
  for (const services of options.services) {
    const cells = report.cells.filter((cell) => cell.services === services);
    if (cells.length === 0) continue;
    const endpoints = services * options.endpointsPerCluster * options.clusters;
    lines.push(
      `### ${services} services (${endpoints} endpoints in ${options.clusters} clusters)`,
      '',
      ...sizeTable(cells, servers),
      '',
    );
    const errors = cells.flatMap((cell) => cell.errors.map((error) => `${clientsLabel(cell)} clients: ${error}`));
    if (errors.length > 0) lines.push('Failed runs:', '', ...errors.map((error) => `- ${error}`), '');
  }
  lines.push(...targetsSection(report), '');
  const mtls = mtlsPodsSection(report);
  if (mtls.length > 0) lines.push(...mtls, '');
  lines.push(...methodSection(options), '');
  return lines.join('\n');
}

/** The intro to keep: what the file has above the marker, or a default for a new file. */
export function existingIntro(path: string): string {
  if (!fs.existsSync(path)) return DEFAULT_INTRO;
  const text = fs.readFileSync(path, 'utf8');
  const at = text.indexOf(GENERATED_MARKER);
  return at >= 0 ? text.slice(0, at) : text;
}
