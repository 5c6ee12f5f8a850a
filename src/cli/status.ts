// `spillway status` and `spillway clients`: the live page's two tables as aligned text, read from a
// running `spillway serve`'s admin server. Formatting is pure (and unit-tested); only run* do I/O.
import * as http from 'http';
import {
  ClientsReport,
  FailoverReport,
  IssuesReport,
  SYNC_TYPES,
  SourceIssueJson,
  syncStatus,
} from '../admin/page/api-types';
import { cell, formatAge, formatColumns } from '../format/text-table';
import { formatFailoverTable } from '../format/failover-text';
import { ADMIN_FLAG, parseAdminCommand } from './admin-flags';
import { drillBannerOf } from './predict-commands';

const FETCH_TIMEOUT_MS = 3_000;

// ---- pure formatting ----

/** The clients table, then each NACK's error text (too long for a column). */
export function formatClientsTable(report: ClientsReport, nowMs: number): string {
  if (report.clients.length === 0) return 'no proxies connected';
  const clients = [...report.clients].sort(
    (a, b) => a.clusterId.localeCompare(b.clusterId) || a.nodeId.localeCompare(b.nodeId) || a.streamId - b.streamId,
  );
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
      return status?.lastNack && syncStatus(status) === 'NACK'
        ? [`  ${c.nodeId} ${type} (version ${status.lastNack.version}): ${cell(status.lastNack.message)}`]
        : [];
    }),
  );
  const shown =
    report.total !== undefined && report.total > report.clients.length
      ? `\n\nshowing ${report.clients.length} of ${report.total} proxies (those with a NACK first); all of them: /debug/clients?limit=${report.total}`
      : '';
  return (nacks.length ? `${table}\n\nNACKs:\n${nacks.join('\n')}` : table) + shown;
}

function sourceIssueText(issue: SourceIssueJson, nowMs: number): string[] {
  const error = issue.severity === 'error';
  const label = error
    ? `${issue.source === 'file' ? 'MESH FILE' : cell(issue.source).toUpperCase()} REJECTED`
    : 'WARNING';
  const when = error
    ? `first rejected ${formatAge(nowMs - issue.sinceMs)} ago`
    : `${formatAge(nowMs - issue.sinceMs)} ago`;
  const lines = [`${label} (${when}): ${cell(issue.summary)}`, ...issue.details.map((line) => `  ${cell(line)}`)];
  const s = issue.serving;
  if (s) {
    lines.push(
      `  serving instead the last good version ${cell(s.version)}, accepted ${formatAge(nowMs - s.acceptedAtMs)} ago (${s.clusters} clusters, ${s.services} services, ${s.endpoints} endpoints)`,
    );
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
  if (problems > 0)
    lines.push(
      `TRANSLATION: ${problems} service problem${problems === 1 ? '' : 's'} in ${views.length} view${views.length === 1 ? '' : 's'} (those services are skipped; see /debug/issues)`,
    );
  return lines.join('\n');
}

// ---- I/O ----

/** The admin server did not answer at all (as opposed to answering with an error). */
class AdminUnreachable extends Error {}

function getText(url: URL): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', (error) => reject(new AdminUnreachable(error.message)));
    });
    const timer = setTimeout(
      () => request.destroy(new AdminUnreachable(`no answer within ${FETCH_TIMEOUT_MS} ms`)),
      FETCH_TIMEOUT_MS,
    );
    request.on('error', (error) =>
      reject(error instanceof AdminUnreachable ? error : new AdminUnreachable(error.message)),
    );
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
  const args = parseAdminCommand(
    argv,
    [ADMIN_FLAG],
    `Usage: spillway ${command.name} [--admin URL] [--json]\n\n${command.summary}`,
  );
  if (typeof args === 'number') return args;
  const { base, json } = args;
  const shownBase = base.href.replace(/\/$/, '');
  const url = new URL(command.path, base);
  let answer: { status: number; body: string };
  try {
    answer = await getText(url);
  } catch (error) {
    if (!(error instanceof AdminUnreachable)) throw error;
    process.stderr.write(
      `spillway: cannot reach the admin server at ${shownBase} (is spillway serve running? pass --admin URL)\n`,
    );
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
  process.stdout.write(
    (banner ? `${banner}\n\n` : '') + (issuesText ? `${issuesText}\n\n` : '') + command.format(report) + '\n',
  );
  return 0;
}

/** `spillway status`: failover state per client cluster, service port and subset. */
export function runStatus(argv: string[]): Promise<number> {
  return runCommand<FailoverReport>(argv, {
    name: 'status',
    path: 'debug/failover',
    summary:
      'Failover state per client cluster, service port and subset: where traffic is expected to go and where it went. A rejected mesh file (and other source problems) is shown above the table; --json adds them as "issues".',
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
