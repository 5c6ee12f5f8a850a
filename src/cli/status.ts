// `spillway status` and `spillway clients`: the live page's two tables as aligned text, read from a
// running `spillway serve`'s admin server. Formatting is pure (and unit-tested); only run* do I/O.
import * as http from 'http';
import {
  ClientsReport,
  FailoverEntry,
  FailoverReport,
  IssuesReport,
  SYNC_TYPES,
  SourceIssueJson,
  Shares,
  syncStatus,
} from '../admin/page/api-types';
import { FlagSpec, flagHelp, parseFlags } from './args';
import { drillBannerOf } from './predict-commands';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:15014';
const FETCH_TIMEOUT_MS = 3_000;
const JSON_FLAG = '--json';

const FLAGS: FlagSpec[] = [
  { name: 'admin', value: 'URL', help: 'admin server of spillway serve (HOST:PORT works too)', default: DEFAULT_ADMIN_URL },
];

// ---- pure formatting ----

/** Remote text (Envoy's NACK messages, user agents) must not break lines or send terminal escapes. */
function cell(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
}

/** Columns padded to their widest cell, two spaces apart; no trailing blanks. */
export function formatColumns(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows].map((row) => row.map(cell));
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all.map((row) => row.map((text, i) => text.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** Elapsed time, short: "12s", "3m", "2h", "4d". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** "west 98% east 2%": biggest share first; "-" when traffic goes nowhere. */
export function formatShares(shares: Shares): string {
  const parts = Object.entries(shares)
    .filter(([, share]) => share > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (parts.length === 0) return '-';
  return parts.map(([cluster, share]) => `${cluster} ${share > 0 && share < 0.01 ? '<1' : Math.round(share * 100)}%`).join(' ');
}

/** `checkout.shop.svc.cluster.local` -> `checkout.shop`: the suffix is the same on every row. */
export function shortHost(host: string): string {
  return host.replace(/\.svc\.cluster\.local$/, '');
}

function measuredText(entry: FailoverEntry): string {
  const m = entry.measured;
  if (!m) return 'no traffic';
  return `${formatShares(m.shares)} (${m.requests} req/${Math.round(m.windowMs / 1000)}s)`;
}

function byServicePortSubsetClient(a: FailoverEntry, b: FailoverEntry): number {
  return a.service.localeCompare(b.service) || a.port - b.port || a.subset.localeCompare(b.subset) || a.clientCluster.localeCompare(b.clientCluster);
}

/** The failover table; "since" is measured against the report's own clock. */
export function formatFailoverTable(report: FailoverReport): string {
  if (report.entries.length === 0) return 'no failover entries yet (one appears per client cluster, service port and subset)';
  const rows = [...report.entries].sort(byServicePortSubsetClient).map((e) => [
    e.clientCluster,
    `${shortHost(e.service)}:${e.port}`,
    e.subset || 'all',
    e.state,
    formatAge(report.generatedAtMs - e.sinceMs),
    formatShares(e.expected.shares),
    measuredText(e),
  ]);
  return formatColumns(['CLIENT', 'SERVICE', 'SUBSET', 'STATE', 'SINCE', 'EXPECTED', 'MEASURED'], rows);
}

/** The clients table, then each NACK's error text (too long for a column). */
export function formatClientsTable(report: ClientsReport, nowMs: number): string {
  if (report.clients.length === 0) return 'no proxies connected';
  const clients = [...report.clients].sort((a, b) => a.clusterId.localeCompare(b.clusterId) || a.nodeId.localeCompare(b.nodeId) || a.streamId - b.streamId);
  const rows = clients.map((c) => [
    c.nodeId,
    c.clusterId,
    c.role,
    c.mode,
    c.userAgent,
    formatAge(nowMs - c.connectedAtMs),
    ...SYNC_TYPES.map((type) => syncStatus(c.types[type])),
  ]);
  const table = formatColumns(['NODE', 'CLUSTER', 'ROLE', 'MODE', 'USER AGENT', 'CONNECTED', ...SYNC_TYPES], rows);
  const nacks = clients.flatMap((c) =>
    SYNC_TYPES.flatMap((type) => {
      const status = c.types[type];
      return status?.lastNack && syncStatus(status) === 'NACK' ? [`  ${c.nodeId} ${type} (version ${status.lastNack.version}): ${cell(status.lastNack.message)}`] : [];
    }),
  );
  const shown = report.total !== undefined && report.total > report.clients.length
    ? `\n\nshowing ${report.clients.length} of ${report.total} proxies (those with a NACK first); all of them: /debug/clients?limit=${report.total}`
    : '';
  return (nacks.length ? `${table}\n\nNACKs:\n${nacks.join('\n')}` : table) + shown;
}

function sourceIssueText(issue: SourceIssueJson, nowMs: number): string[] {
  const error = issue.severity === 'error';
  const label = error ? `${issue.source === 'file' ? 'MESH FILE' : cell(issue.source).toUpperCase()} REJECTED` : 'WARNING';
  const when = error ? `first rejected ${formatAge(nowMs - issue.sinceMs)} ago` : `${formatAge(nowMs - issue.sinceMs)} ago`;
  const lines = [`${label} (${when}): ${cell(issue.summary)}`, ...issue.details.map((line) => `  ${cell(line)}`)];
  const s = issue.serving;
  if (s) {
    lines.push(`  serving instead the last good version ${cell(s.version)}, accepted ${formatAge(nowMs - s.acceptedAtMs)} ago (${s.clusters} clusters, ${s.services} services, ${s.endpoints} endpoints)`);
  }
  return lines;
}

/**
 * What is wrong, above the table: each source problem (a rejected mesh file: where, since when, what is
 * served instead), then a count of translation problems. Empty when there is nothing to say.
 */
export function formatIssues(report: IssuesReport, nowMs: number): string {
  const lines = (report.sources ?? []).flatMap((issue) => sourceIssueText(issue, nowMs));
  const views = Object.values(report.views ?? {}).filter((issues) => issues.length > 0);
  const problems = views.reduce((sum, issues) => sum + issues.length, 0);
  if (problems > 0) lines.push(`TRANSLATION: ${problems} service problem${problems === 1 ? '' : 's'} in ${views.length} view${views.length === 1 ? '' : 's'} (those services are skipped; see /debug/issues)`);
  return lines.join('\n');
}

/** `--admin` value -> base URL; a bare HOST:PORT (what `serve --admin` takes) means http. */
export function adminBaseUrl(text: string): URL | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  try {
    const url = new URL(withScheme);
    if (url.protocol !== 'http:') return undefined;
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    return url;
  } catch {
    return undefined;
  }
}

// ---- I/O ----

/** The admin server did not answer at all (as opposed to answering with an error). */
class AdminUnreachable extends Error {}

function getText(url: URL): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', (error) => reject(new AdminUnreachable(error.message)));
    });
    const timer = setTimeout(() => request.destroy(new AdminUnreachable(`no answer within ${FETCH_TIMEOUT_MS} ms`)), FETCH_TIMEOUT_MS);
    request.on('error', (error) => reject(error instanceof AdminUnreachable ? error : new AdminUnreachable(error.message)));
    request.on('close', () => clearTimeout(timer));
  });
}

export interface Command<T> {
  name: string;
  path: string;
  summary: string;
  format: (report: T) => string;
  /** Also fetch /debug/issues: printed above the table, and as `issues` in --json. */
  withIssues?: boolean;
  /** A line above everything (an active drill). */
  banner?: (base: URL) => Promise<string>;
}

/** /debug/issues, or undefined from a server that does not have it (an older version): not an error. */
async function fetchIssues(base: URL): Promise<IssuesReport | undefined> {
  try {
    const answer = await getText(new URL('debug/issues', base));
    return answer.status === 200 ? (JSON.parse(answer.body) as IssuesReport) : undefined;
  } catch {
    return undefined;
  }
}

export async function runCommand<T>(argv: readonly string[], command: Command<T>): Promise<number> {
  const json = argv.includes(JSON_FLAG);
  const parsed = parseFlags(argv.filter((arg) => arg !== JSON_FLAG), FLAGS);
  if (!parsed.ok) {
    process.stderr.write(`spillway: ${parsed.error}\n`);
    return 2;
  }
  if (parsed.flags.has('help')) {
    process.stdout.write(`Usage: spillway ${command.name} [--admin URL] [--json]\n\n${command.summary}\n\n${flagHelp(FLAGS)}\n  --json                      print the admin server's JSON as is\n`);
    return 0;
  }
  const adminText = parsed.flags.get('admin') ?? DEFAULT_ADMIN_URL;
  const base = adminBaseUrl(adminText);
  if (!base) {
    process.stderr.write(`spillway: --admin "${adminText}" is not an http URL or HOST:PORT\n`);
    return 2;
  }
  const shownBase = base.href.replace(/\/$/, '');
  const url = new URL(command.path, base);
  let answer: { status: number; body: string };
  try {
    answer = await getText(url);
  } catch (error) {
    if (!(error instanceof AdminUnreachable)) throw error;
    process.stderr.write(`spillway: cannot reach the admin server at ${shownBase} (is spillway serve running? pass --admin URL)\n`);
    return 1;
  }
  if (answer.status !== 200) {
    process.stderr.write(`spillway: ${url.href} answered ${answer.status}: ${cell(answer.body).slice(0, 200)}\n`);
    return 1;
  }
  const issues = command.withIssues ? await fetchIssues(base) : undefined;
  if (json && !issues) {
    process.stdout.write(answer.body.endsWith('\n') ? answer.body : `${answer.body}\n`);
    return 0;
  }
  let report: T;
  try {
    report = JSON.parse(answer.body) as T;
  } catch {
    process.stderr.write(`spillway: ${url.href} did not answer JSON (is ${shownBase} a spillway admin server?)\n`);
    return 1;
  }
  if (json) {
    process.stdout.write(JSON.stringify({ ...report, issues }, null, 2) + '\n');
    return 0;
  }
  const issuesText = issues ? formatIssues(issues, Date.now()) : '';
  const banner = command.banner ? await command.banner(base) : '';
  process.stdout.write((banner ? `${banner}\n\n` : '') + (issuesText ? `${issuesText}\n\n` : '') + command.format(report) + '\n');
  return 0;
}

/** `spillway status`: failover state per client cluster, service port and subset. */
export function runStatus(argv: string[]): Promise<number> {
  return runCommand<FailoverReport>(argv, {
    name: 'status',
    path: 'debug/failover',
    summary: 'Failover state per client cluster, service port and subset: where traffic is expected to go and where it went. A rejected mesh file (and other source problems) is shown above the table; --json adds them as "issues".',
    format: formatFailoverTable,
    withIssues: true,
    banner: drillBannerOf,
  });
}

/** `spillway clients`: connected proxies and their per-type sync status. */
export function runClients(argv: string[]): Promise<number> {
  return runCommand<ClientsReport>(argv, {
    name: 'clients',
    path: 'debug/clients',
    summary: 'Connected proxies and, per type (CDS EDS LDS RDS), whether they ACKed what they were sent.',
    format: (report) => formatClientsTable(report, Date.now()),
  });
}
