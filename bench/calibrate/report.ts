// The calibration table: per server and client kind, change → ACK across clients and server CPU per push,
// each the median over all flips of all repetitions (with min–max over flips), and Envoy / load generator.
import { max, median, min } from '../measure/statistics';
import { SERVER_LABEL, ServerName } from '../servers/server-under-test';
import { CalibrationKind, CalibrationResult, KIND_LABEL } from './calibrate-run';
import { MeshSize } from '../mesh/generate-mesh';

export interface CalibrationReport {
  command: string;
  size: MeshSize;
  clients: number;
  /** How K was chosen (one Envoy's private memory, the memory share), for the text above the table. */
  clientsReason: string;
  /** How processes were placed on cores. */
  placement: string;
  results: CalibrationResult[];
  errors: string[];
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(0) : 'n/a');

function spread(values: number[]): string {
  return `${ms(median(values))} (${ms(min(values))}–${ms(max(values))})`;
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a';
}

const KINDS: CalibrationKind[] = ['envoy', 'load-generator'];

export function renderCalibration(report: CalibrationReport): string {
  const servers = [...new Set(report.results.map((r) => r.server))] as ServerName[];
  const lines = [
    `\`${report.command}\`: ${report.size.services} services × ${report.size.endpointsPerCluster} endpoints × ${report.size.clusters} clusters, K = ${report.clients} clients of each kind (${report.clientsReason}); ${report.placement}.`,
    '',
    '| server | clients | runs (load average at start) | machine CPU busy during flips | change → response sent, p50 / p99 (ms) | change → ACK p50 (ms) | change → ACK p99 (ms) | server CPU per push (ms) | bytes per change per client: to / from the clients | client CPU per push, per client (ms) | client private memory per client (MiB) | NACKs |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const summary: string[] = [];
  for (const server of servers) {
    const byKind = new Map<CalibrationKind, CalibrationResult[]>();
    for (const kind of KINDS)
      byKind.set(
        kind,
        report.results.filter((r) => r.server === server && r.kind === kind),
      );
    for (const kind of KINDS) {
      const runs = byKind.get(kind) as CalibrationResult[];
      if (runs.length === 0) continue;
      const flips = runs.flatMap((r) => r.flips);
      const perClient = (values: number[]) => median(values.map((v) => v / report.clients));
      lines.push(
        `| ${SERVER_LABEL[server]} | ${KIND_LABEL[kind]} | ${runs.length} (${runs.map((r) => r.loadAverage.toFixed(1)).join(', ')}) | ` +
          `${(100 * median(flips.map((f) => f.machineBusyShare))).toFixed(0)}% | ` +
          `${ms(median(flips.map((f) => f.responseP50Ms)))} / ${ms(median(flips.map((f) => f.responseP99Ms)))} | ` +
          `${spread(flips.map((f) => f.ackP50Ms))} | ${spread(flips.map((f) => f.ackP99Ms))} | ${spread(flips.map((f) => f.serverCpuMs))} | ` +
          `${perClient(flips.map((f) => f.bytesDown)).toFixed(0)} / ${perClient(flips.map((f) => f.bytesUp)).toFixed(0)} B | ${perClient(flips.map((f) => f.clientCpuMs)).toFixed(2)} | ` +
          `${(median(runs.map((r) => r.clientMemoryPerClientBytes)) / 2 ** 20).toFixed(1)} | ${runs.reduce((s, r) => s + r.nacks, 0)} |`,
      );
    }
    const envoy = (byKind.get('envoy') as CalibrationResult[]).flatMap((r) => r.flips);
    const load = (byKind.get('load-generator') as CalibrationResult[]).flatMap((r) => r.flips);
    if (envoy.length > 0 && load.length > 0) {
      const m = (flips: typeof envoy, pick: (f: (typeof envoy)[number]) => number) => median(flips.map(pick));
      summary.push(
        `| ${SERVER_LABEL[server]} | ${ratio(
          m(envoy, (f) => f.ackP50Ms),
          m(load, (f) => f.ackP50Ms),
        )} | ${ratio(
          m(envoy, (f) => f.ackP99Ms),
          m(load, (f) => f.ackP99Ms),
        )} | ` +
          `${ratio(
            m(envoy, (f) => f.serverCpuMs),
            m(load, (f) => f.serverCpuMs),
          )} | ${ratio(
            m(envoy, (f) => f.bytesDown),
            m(load, (f) => f.bytesDown),
          )} |`,
      );
    }
  }
  if (summary.length > 0) {
    lines.push(
      '',
      '| server | real Envoy / load generator: p50 | p99 | server CPU per push | bytes per change |',
      '|---|---|---|---|---|',
      ...summary,
    );
  }
  if (report.errors.length > 0) lines.push('', 'Runs that failed:', '', ...report.errors.map((e) => `- ${e}`));
  return lines.join('\n') + '\n';
}
