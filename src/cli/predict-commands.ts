// `spillway what-if --fail east [--fail west/checkout.shop]` and `spillway drill start|stop|status`:
// the what-if report and drills of a running `spillway serve`, through its admin API. Formatting is pure
// (unit-tested); only run* do I/O.
import * as fs from 'fs';
import * as http from 'http';
import type { DrillOutcome, ActiveDrill } from '../drill/drill-manager';
import type { WhatIfReport } from '../predict/what-if';
import type { FlagSpec, FlagValues, ValueFlag } from '../flags/flags';
import { formatAge, formatColumns } from '../format/text-table';
import { formatShares, shortHost } from '../format/failover-text';
import { ADMIN_FLAG, parseAdminCommand } from './admin-flags';

const FETCH_TIMEOUT_MS = 30_000;
const FAIL_FLAG: ValueFlag = {
  name: 'fail',
  value: 'CLUSTER[/SERVICE]',
  help: 'a cluster (or one service in it) to fail; repeat for several',
  multiple: true,
};
const TOKEN_FLAG: ValueFlag = {
  name: 'token-file',
  value: 'FILE',
  help: 'file holding the admin token (the server runs with --admin-token-file); not needed from loopback without one',
};

export interface DrillStatus {
  generatedAtMs: number;
  active?: ActiveDrill;
  outcomes: DrillOutcome[];
}

// ---- pure formatting ----

export function formatWhatIf(report: WhatIfReport): string {
  const lines = [`If ${report.failures.join(' and ')} failed:`, ''];
  if (report.routes.length === 0) lines.push('no service has endpoints there: nothing would move');
  else {
    const rows = [...report.routes]
      .sort(
        (a, b) =>
          a.service.localeCompare(b.service) ||
          a.port - b.port ||
          a.subset.localeCompare(b.subset) ||
          a.clientCluster.localeCompare(b.clientCluster),
      )
      .map((r) => [
        r.clientCluster,
        `${shortHost(r.service)}:${r.port}`,
        r.subset || 'all',
        formatShares(r.before),
        r.deadEnd ? 'FAILS' : r.fallsBackTo ? `falls back to ${r.fallsBackTo}` : formatShares(r.after),
        r.thenAfter.map((p) => p.join('+')).join(' > ') || '-',
        r.requestsPerSecond !== undefined ? `${r.requestsPerSecond} req/s` : '-',
      ]);
    lines.push(formatColumns(['CLIENT', 'SERVICE', 'SUBSET', 'NOW', 'AFTER', 'THEN', 'LOAD'], rows));
  }
  if (report.fit.length > 0) {
    lines.push('', `Load fit (load reports, last ${Math.round(report.loadWindowMs / 1000)} s):`);
    const rows = report.fit.map((f) => [
      f.cluster,
      `${shortHost(f.service)}:${f.port}`,
      String(f.readyEndpoints),
      String(f.todayRps),
      String(f.predictedRps),
      f.factor !== undefined ? `${f.factor}x` : '-',
    ]);
    lines.push(formatColumns(['CLUSTER', 'SERVICE', 'READY', 'REQ/S NOW', 'REQ/S AFTER', 'FACTOR'], rows));
  } else {
    lines.push('', 'Load fit: no load reports yet (no traffic measured), so only routing is predicted.');
  }
  if (report.warnings.length > 0) lines.push('', 'Warnings:', ...report.warnings.map((w) => `  ${w}`));
  return lines.join('\n');
}

/** One line for `spillway status` and `drill status` while a drill is on. */
export function drillBanner(active: ActiveDrill, nowMs: number): string {
  if (active.phase === 'ending')
    return `DRILL ${active.failure}: over, traffic coming back (outcome in a few seconds: spillway drill status)`;
  return `DRILL ${active.failure}: these endpoints are served as not ready for ${formatAge(active.deadlineMs - nowMs)} more (started by ${active.by}; spillway drill stop ends it)`;
}

export function formatOutcome(outcome: DrillOutcome): string {
  const lines = [
    `Drill ${outcome.id} (${outcome.failure}) ended by ${outcome.endedBy} after ${formatAge(outcome.endedAtMs - outcome.startedAtMs)}: ${outcome.requests} requests reported, ${outcome.failedRequests} failed`,
  ];
  const rows = outcome.routes
    .filter((r) => r.requests > 0)
    .map((r) => [
      r.clientCluster,
      `${shortHost(r.service)}:${r.port}`,
      r.subset || 'all',
      formatShares(r.expected),
      r.measured ? formatShares(r.measured) : '-',
      String(r.requests),
    ]);
  if (rows.length > 0)
    lines.push(formatColumns(['CLIENT', 'SERVICE', 'SUBSET', 'EXPECTED', 'MEASURED', 'REQUESTS'], rows));
  else lines.push('no traffic to the drilled services was reported during the drill');
  if (outcome.warnings.length > 0) lines.push('Differences:', ...outcome.warnings.map((w) => `  ${w}`));
  return lines.join('\n');
}

export function formatDrillStatus(status: DrillStatus): string {
  const lines = [status.active ? drillBanner(status.active, status.generatedAtMs) : 'no drill running'];
  for (const outcome of status.outcomes.slice(0, 1)) lines.push('', formatOutcome(outcome));
  return lines.join('\n');
}

/** `120s`, `2m`, `90` (seconds) -> seconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * (match[2] === 'm' ? 60 : 1);
}

// ---- I/O ----

function request(
  url: URL,
  method: 'GET' | 'POST',
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const req = http.request(url, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      response.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${FETCH_TIMEOUT_MS} ms`)), FETCH_TIMEOUT_MS);
    req.on('error', reject);
    req.on('close', () => clearTimeout(timer));
    req.end(payload);
  });
}

function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: show the text
  }
  return body.trim().slice(0, 300);
}

interface Call {
  base: URL;
  json: boolean;
  token?: string;
}

async function call(
  c: Call,
  path: string,
  method: 'GET' | 'POST',
  body?: unknown,
): Promise<{ ok: true; body: string } | { ok: false; code: number }> {
  const url = new URL(path, c.base);
  let answer: { status: number; body: string };
  try {
    answer = await request(url, method, body, c.token);
  } catch (error) {
    process.stderr.write(
      `spillway: cannot reach the admin server at ${c.base.href} (${error instanceof Error ? error.message : String(error)}; is spillway serve running? pass --admin URL)\n`,
    );
    return { ok: false, code: 1 };
  }
  if (answer.status !== 200) {
    process.stderr.write(`spillway: ${errorText(answer.body)}\n`);
    return { ok: false, code: 1 };
  }
  return { ok: true, body: answer.body };
}

function setup(
  argv: readonly string[],
  specs: readonly FlagSpec[],
  usage: string,
): { call: Call; flags: FlagValues; positional: string[] } | number {
  const args = parseAdminCommand(argv, specs, usage);
  if (typeof args === 'number') return args;
  let token: string | undefined;
  const tokenFile = args.flags.get('token-file');
  if (tokenFile) {
    try {
      token = fs.readFileSync(tokenFile, 'utf8').trim();
    } catch (error) {
      process.stderr.write(
        `spillway: --token-file ${tokenFile}: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      return 2;
    }
  }
  return { call: { base: args.base, json: args.json, token }, flags: args.flags, positional: args.positional };
}

const WHAT_IF_USAGE = `Usage: spillway what-if --fail CLUSTER[/SERVICE] [--fail ...] [--admin URL] [--json]

Where traffic would go if these failed (by the translator's own rules: priorities, ready counts, region
ladder, canary order), and whether the receiving clusters can take it (load reports).`;

export async function runWhatIf(argv: readonly string[]): Promise<number> {
  const ready = setup(argv, [FAIL_FLAG, ADMIN_FLAG], WHAT_IF_USAGE);
  if (typeof ready === 'number') return ready;
  const values = ready.flags.all(FAIL_FLAG.name);
  if (values.length === 0) {
    process.stderr.write('spillway: name what fails: --fail east or --fail east/checkout.shop (repeat for several)\n');
    return 2;
  }
  const query = new URLSearchParams(values.map((v): [string, string] => ['fail', v]));
  const answer = await call(ready.call, `debug/what-if?${query.toString()}`, 'GET');
  if (!answer.ok) return answer.code;
  process.stdout.write(ready.call.json ? answer.body : formatWhatIf(JSON.parse(answer.body) as WhatIfReport) + '\n');
  return 0;
}

const DRILL_USAGE = `Usage: spillway drill start --cluster CLUSTER [--service SERVICE] --for DURATION [--admin URL] [--token-file FILE]
       spillway drill stop [--admin URL] [--token-file FILE]
       spillway drill status [--admin URL] [--json]

A drill serves CLUSTER's endpoints (of SERVICE only, if given) as not ready for DURATION (e.g. 120s, 2m),
so real traffic moves as in a real failure, then comes back. One at a time; a restart of spillway ends it.`;

export async function runDrill(argv: readonly string[]): Promise<number> {
  const [first, ...others] = argv;
  // `spillway drill --help` is help, not an action.
  const [action, rest] = first === '--help' ? [undefined, argv] : [first, others];
  const specs = [
    ADMIN_FLAG,
    TOKEN_FLAG,
    { name: 'cluster', value: 'CLUSTER', help: 'the cluster whose endpoints the drill takes out' },
    { name: 'service', value: 'SERVICE', help: 'only this service (name.namespace)' },
    { name: 'for', value: 'DURATION', help: 'how long, e.g. 120s or 2m (the server caps it: --drill-max-duration-s)' },
  ];
  const ready = setup(rest, specs, DRILL_USAGE);
  if (typeof ready === 'number') return ready;
  if (action === 'status') {
    const answer = await call(ready.call, 'debug/drill', 'GET');
    if (!answer.ok) return answer.code;
    process.stdout.write(
      ready.call.json ? answer.body : formatDrillStatus(JSON.parse(answer.body) as DrillStatus) + '\n',
    );
    return 0;
  }
  if (action === 'stop') {
    const answer = await call(ready.call, 'debug/drill/stop', 'POST', {});
    if (!answer.ok) return answer.code;
    process.stdout.write(
      'drill stopped: traffic comes back now; spillway drill status shows the outcome in a few seconds\n',
    );
    return 0;
  }
  if (action !== 'start') {
    process.stderr.write(`spillway: drill needs start, stop or status\n\n${DRILL_USAGE}\n`);
    return 2;
  }
  const cluster = ready.flags.get('cluster');
  const forText = ready.flags.get('for');
  const durationS = forText === undefined ? undefined : parseDuration(forText);
  if (!cluster || durationS === undefined) {
    process.stderr.write('spillway: drill start needs --cluster CLUSTER and --for DURATION (e.g. 120s)\n');
    return 2;
  }
  const service = ready.flags.get('service');
  const answer = await call(ready.call, 'debug/drill/start', 'POST', {
    failure: service ? `${cluster}/${service}` : cluster,
    durationS,
  });
  if (!answer.ok) return answer.code;
  if (ready.call.json) {
    process.stdout.write(answer.body);
    return 0;
  }
  const started = JSON.parse(answer.body) as { drill: ActiveDrill; prediction: WhatIfReport };
  process.stdout.write(
    `${drillBanner(started.drill, started.drill.startedAtMs)}\n\nExpected:\n${formatWhatIf(started.prediction)}\n`,
  );
  return 0;
}

/** The drill line `spillway status` prints above its table; '' when none is on (or the server is older). */
export async function drillBannerOf(base: URL): Promise<string> {
  try {
    const answer = await request(new URL('debug/drill', base), 'GET');
    if (answer.status !== 200) return '';
    const status = JSON.parse(answer.body) as DrillStatus;
    return status.active ? drillBanner(status.active, status.generatedAtMs) : '';
  } catch {
    return '';
  }
}
