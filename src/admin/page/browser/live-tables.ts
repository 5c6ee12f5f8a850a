// The live page's tables: polls /debug/{mesh,clients,failover,issues} every second and updates the summary,
// the failover and canary tables, the connected proxies and the source issues in place.
import type {
  CanaryJson,
  ClientInfoJson,
  ClientsReport,
  FailoverEntry,
  FailoverReport,
  IssuesReport,
  MeshReport,
  Shares,
  SourceIssueJson,
  SyncStatus,
  TypeStatusJson,
} from '../api-types';
import { SYNC_TYPES, syncStatus } from '../api-types';
import { getDebugJson } from './debug-json';
import { byId, h, messageOf, type Child } from './dom';

const POLL_MS = 1000;
const PALETTE = ['#3b82f6', '#a855f7', '#f59e0b', '#14b8a6', '#ec4899', '#64748b', '#84cc16', '#0ea5e9'] as const;

/** The last answer of each debug path (kept when a later poll fails). */
interface View {
  mesh?: MeshReport;
  clients?: ClientsReport;
  failover?: FailoverReport;
  issues?: IssuesReport;
  /** Server clock minus browser clock: relative times use the server's clock, the browser's may be off. */
  skewMs: number;
}

const view: View = { skewMs: 0 };
const renderedSignature = new WeakMap<Element, string>();

const shortHost = (host: string) => host.replace(/\.svc\.cluster\.local$/, '');
const percent = (share: number) => {
  const p = share * 100;
  return (p > 0 && p < 1 ? '<1' : String(Math.round(p))) + '%';
};
const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;
const serverNow = () => Date.now() + view.skewMs;

function ago(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 1) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

function clusterOrder(): string[] {
  return (view.mesh?.clusters ?? []).map((c) => c.name).sort();
}

/** A stable colour per mesh cluster, so "west" looks the same in every bar. */
function colorOf(cluster: string): string {
  const index = clusterOrder().indexOf(cluster);
  if (index >= 0) return PALETTE[index % PALETTE.length];
  let hash = 0;
  for (const ch of cluster) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

function canaryOf(host: string): CanaryJson | undefined {
  return view.mesh?.services.find((s) => s.host === host)?.canary;
}

/** Whether a subset is the service's canary or stable one. */
function canaryRole(canary: CanaryJson, subset: string): 'canary' | 'stable' | undefined {
  if (subset === canary.canary) return 'canary';
  if (subset === canary.stable) return 'stable';
  return undefined;
}

/** Reuses a row while its data is unchanged, so open NACK details and hover survive each poll. */
function syncRows<T>(
  tbody: HTMLElement,
  items: readonly T[],
  keyOf: (item: T) => string,
  render: (item: T) => HTMLElement,
  extraSignature: string,
): void {
  const old = new Map<string, HTMLElement>();
  for (const tr of tbody.children)
    if (tr instanceof HTMLElement && tr.dataset.key !== undefined) old.set(tr.dataset.key, tr);
  const seen = new Set<string>();
  items.forEach((item, index) => {
    const key = keyOf(item);
    seen.add(key);
    const signature = `${JSON.stringify(item)}|${extraSignature}`;
    let row = old.get(key);
    if (!row || renderedSignature.get(row) !== signature) {
      const fresh = render(item);
      fresh.dataset.key = key;
      renderedSignature.set(fresh, signature);
      if (row) {
        const open = new Set([...row.querySelectorAll<HTMLDetailsElement>('details[open]')].map((d) => d.dataset.type));
        for (const d of fresh.querySelectorAll<HTMLDetailsElement>('details')) d.open = open.has(d.dataset.type);
        row.replaceWith(fresh);
      }
      row = fresh;
    }
    if (tbody.children[index] !== row) tbody.insertBefore(row, tbody.children[index] ?? null);
  });
  for (const [key, row] of old) if (!seen.has(key)) row.remove();
}

function sharesView(shares: Shares | undefined, testId: string, color: (cluster: string) => string = colorOf): Child[] {
  const parts = Object.entries(shares ?? {})
    .filter(([, share]) => share > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const bar = h(
    'div',
    { class: 'bar', 'data-testid': testId },
    parts.map(([cluster, share]) =>
      h('span', {
        class: 'seg',
        'data-cluster': cluster,
        'data-share': share,
        title: `${cluster} ${percent(share)}`,
        style: { width: `${share * 100}%`, background: color(cluster) },
      }),
    ),
  );
  const labels = h(
    'div',
    { class: 'shares' },
    parts.length
      ? parts.map(([cluster, share]) =>
          h(
            'span',
            null,
            h('i', { class: 'dot', style: { background: color(cluster) } }),
            `${cluster} ${percent(share)}`,
          ),
        )
      : h('span', { class: 'muted' }, 'no target'),
  );
  return [bar, labels];
}

function subsetCell(entry: FailoverEntry): HTMLElement {
  const canary = canaryOf(entry.service);
  const role = canary && canaryRole(canary, entry.subset);
  return h(
    'td',
    null,
    entry.subset ? entry.subset : h('span', { class: 'muted' }, 'all'),
    role && h('span', { class: `tag ${role}` }, role),
  );
}

function failoverRow(e: FailoverEntry): HTMLElement {
  const m = e.measured;
  return h(
    'tr',
    {
      'data-testid': 'failover-row',
      'data-client-cluster': e.clientCluster,
      'data-service': e.service,
      'data-port': e.port,
      'data-subset': e.subset,
      'data-state': e.state,
    },
    h('td', { class: 'strong' }, e.clientCluster),
    h('td', { title: e.service }, shortHost(e.service), h('span', { class: 'port' }, `:${e.port}`)),
    subsetCell(e),
    h(
      'td',
      null,
      h('span', { class: `badge state-${e.state}`, 'data-testid': 'state' }, e.state),
      h('div', { class: 'since', 'data-since-ms': e.sinceMs }),
    ),
    h('td', null, sharesView(e.expected.shares, 'expected-shares')),
    h(
      'td',
      null,
      m
        ? [
            sharesView(m.shares, 'measured-shares'),
            h(
              'div',
              { class: 'muted small', 'data-testid': 'measured-requests' },
              `${m.requests} req in ${seconds(m.windowMs)}`,
            ),
          ]
        : h('span', { class: 'muted' }, 'no traffic'),
    ),
  );
}

/** Measured requests to a service's canary and stable subsets from one client cluster. */
interface CanarySplit {
  key: string;
  clientCluster: string;
  service: string;
  port: number;
  config: CanaryJson;
  canary: number;
  stable: number;
}

/** Canary vs stable, side by side, from the rows whose subset is the service's canary or stable one. */
function canarySplits(entries: readonly FailoverEntry[]): CanarySplit[] {
  const splits = new Map<string, CanarySplit>();
  for (const e of entries) {
    const canary = canaryOf(e.service);
    const role = canary && canaryRole(canary, e.subset);
    if (!canary || !role) continue;
    const key = `${e.clientCluster}|${e.service}|${e.port}`;
    let split = splits.get(key);
    if (!split) {
      split = {
        key,
        clientCluster: e.clientCluster,
        service: e.service,
        port: e.port,
        config: canary,
        canary: 0,
        stable: 0,
      };
      splits.set(key, split);
    }
    split[role] = e.measured ? e.measured.requests : 0;
  }
  return [...splits.values()].sort((a, b) => a.key.localeCompare(b.key));
}

function canaryRow(s: CanarySplit): HTMLElement {
  const total = s.canary + s.stable;
  const canaryLabel = `${s.config.canary} canary`;
  const splitColor = (label: string) => (label === canaryLabel ? '#f97316' : '#6366f1');
  const count = (label: string, subset: string, n: number) =>
    h(
      'span',
      { class: 'count' },
      h('b', { 'data-testid': `${label}-requests` }, n),
      ' req ',
      h('span', { class: 'muted' }, `${label} (${subset})`),
    );
  return h(
    'tr',
    {
      'data-testid': 'canary-row',
      'data-client-cluster': s.clientCluster,
      'data-service': s.service,
      'data-port': s.port,
      'data-canary-requests': s.canary,
      'data-stable-requests': s.stable,
    },
    h('td', { class: 'strong' }, s.clientCluster),
    h('td', { title: s.service }, shortHost(s.service), h('span', { class: 'port' }, `:${s.port}`)),
    h(
      'td',
      null,
      h(
        'div',
        { class: 'counts' },
        count('canary', s.config.canary, s.canary),
        count('stable', s.config.stable, s.stable),
      ),
    ),
    h(
      'td',
      null,
      total
        ? sharesView(
            { [canaryLabel]: s.canary / total, [`${s.config.stable} stable`]: s.stable / total },
            'canary-shares',
            splitColor,
          )
        : h('span', { class: 'muted' }, 'no traffic'),
    ),
    h('td', { class: 'muted' }, `${s.config.weight}%`),
  );
}

/** `data-sync` values of a sync cell (the tests and the CSS read them). */
const SYNC_ATTRIBUTE: Record<SyncStatus, string> = {
  '-': 'none',
  'in sync': 'in-sync',
  pending: 'pending',
  NACK: 'nack',
};

function syncCell(type: string, s: TypeStatusJson | undefined): HTMLElement {
  const status = syncStatus(s);
  const td = h('td', { 'data-testid': 'sync', 'data-type': type, 'data-sync': SYNC_ATTRIBUTE[status] });
  if (!s || status === '-') td.append(h('span', { class: 'muted' }, '-'));
  else if (status === 'in sync')
    td.append(h('span', { class: 'badge sync-in-sync', title: `version ${s.ackedVersion ?? ''} ACKed` }, 'in sync'));
  else if (status === 'pending')
    td.append(
      h(
        'span',
        { class: 'badge sync-pending', title: `sent version ${s.sentVersion ?? ''}, waiting for the ACK` },
        'pending',
      ),
    );
  else if (s.lastNack) {
    const n = s.lastNack;
    const nacks = `${s.nacks} NACK${s.nacks === 1 ? '' : 's'}`;
    td.append(
      h(
        'details',
        { class: 'nack', 'data-type': type },
        h('summary', { class: 'badge sync-nack', title: n.message }, 'NACK'),
        h(
          'pre',
          { class: 'nack-text', 'data-testid': 'nack-message' },
          `${n.message}\n(version ${n.version}, ${nacks})`,
        ),
      ),
    );
  }
  return td;
}

function clientRow(c: ClientInfoJson): HTMLElement {
  return h(
    'tr',
    { 'data-testid': 'client-row', 'data-node-id': c.nodeId, 'data-cluster': c.clusterId },
    h('td', { class: 'strong mono', title: c.view }, c.nodeId),
    h('td', null, c.clusterId),
    h('td', null, c.role),
    h('td', null, c.mode),
    h('td', { class: 'mono small nowrap' }, c.userAgent),
    h('td', { class: 'small muted', 'data-since-ms': c.connectedAtMs }),
    SYNC_TYPES.map((type) => syncCell(type, c.types[type])),
  );
}

/** A source problem (a rejected mesh file, a big removal): what, where, since when, what is served instead. */
function issueView(issue: SourceIssueJson): HTMLElement {
  const s = issue.serving;
  const error = issue.severity === 'error';
  return h(
    'div',
    {
      class: `issue ${issue.severity}`,
      'data-testid': 'source-issue',
      'data-severity': issue.severity,
      'data-source': issue.source,
    },
    h(
      'div',
      null,
      h('b', null, error ? 'Mesh rejected: ' : 'Warning: '),
      issue.summary,
      h(
        'span',
        { class: 'small' },
        error ? ' (first rejected ' : ' (',
        h('span', { 'data-since-ms': issue.sinceMs }),
        ')',
      ),
    ),
    issue.details.length > 0 && h('pre', { 'data-testid': 'issue-details' }, issue.details.join('\n')),
    s &&
      h(
        'div',
        { class: 'small', 'data-testid': 'issue-serving' },
        'Serving instead: version ',
        h('code', null, s.version),
        ', accepted ',
        h('span', { 'data-since-ms': s.acceptedAtMs }),
        ` (${s.clusters} clusters, ${s.services} services, ${s.endpoints} endpoints)`,
      ),
  );
}

function renderIssues(): void {
  if (!view.issues) return;
  const issues = view.issues.sources ?? [];
  const box = byId('source-issues');
  const signature = JSON.stringify(issues);
  // Rebuilt only when the issues change, so text stays selectable between polls.
  if (box.dataset.signature !== signature) {
    box.replaceChildren(...issues.map(issueView));
    box.dataset.signature = signature;
  }
  box.hidden = issues.length === 0;
}

function showSectionError(name: string, error: unknown): void {
  const el = byId(`${name}-error`);
  el.hidden = error === undefined;
  el.textContent = error === undefined ? '' : `Cannot load /debug/${name}: ${messageOf(error)}`;
}

function renderSummary(): void {
  const set = (id: string, value: number | undefined) => {
    byId(id).textContent = value === undefined ? '-' : String(value);
  };
  set('summary-clusters', view.mesh?.clusters.length);
  set('summary-services', view.mesh?.services.length);
  // /debug/clients lists at most its limit of proxies; the count is of all of them.
  set('summary-proxies', view.clients && (view.clients.total ?? view.clients.clients.length));
  set('summary-failing-over', view.failover?.entries.filter((e) => e.state !== 'local' && e.state !== 'remote').length);
}

function renderLegend(): void {
  byId('legend').replaceChildren(
    ...clusterOrder().map((name) =>
      h('span', null, h('i', { class: 'dot', style: { background: colorOf(name) } }), name),
    ),
  );
}

function renderFailover(): void {
  if (!view.failover) return;
  const entries = [...view.failover.entries].sort(
    (a, b) =>
      a.service.localeCompare(b.service) ||
      a.port - b.port ||
      a.subset.localeCompare(b.subset) ||
      a.clientCluster.localeCompare(b.clientCluster),
  );
  const meshSignature = JSON.stringify(view.mesh ?? null);
  syncRows(
    byId('failover-body'),
    entries,
    (e) => [e.clientCluster, e.service, e.port, e.subset].join('|'),
    failoverRow,
    meshSignature,
  );
  byId('failover-empty').hidden = entries.length > 0;
  const splits = canarySplits(entries);
  byId('canary-section').hidden = splits.length === 0;
  syncRows(byId('canary-body'), splits, (s) => s.key, canaryRow, '');
}

function renderClients(): void {
  if (!view.clients) return;
  const clients = [...view.clients.clients].sort(
    (a, b) => a.clusterId.localeCompare(b.clusterId) || a.nodeId.localeCompare(b.nodeId) || a.streamId - b.streamId,
  );
  syncRows(byId('clients-body'), clients, (c) => String(c.streamId), clientRow, '');
  byId('clients-empty').hidden = clients.length > 0;
}

function renderTimes(): void {
  const now = serverNow();
  for (const el of document.querySelectorAll<HTMLElement>('[data-since-ms]'))
    el.textContent = ago(now - Number(el.dataset.sinceMs));
}

/** Keeps a fulfilled answer and shows or clears the section's error; true when fulfilled. */
function take<T>(name: string, result: PromiseSettledResult<T>, keep: (value: T) => void): boolean {
  if (result.status === 'fulfilled') keep(result.value);
  showSectionError(name, result.status === 'rejected' ? (result.reason as unknown) : undefined);
  return result.status === 'fulfilled';
}

async function refresh(): Promise<void> {
  const [mesh, clients, failover, issues] = await Promise.allSettled([
    getDebugJson<MeshReport>('mesh'),
    getDebugJson<ClientsReport>('clients'),
    getDebugJson<FailoverReport>('failover'),
    getDebugJson<IssuesReport>('issues'),
  ]);
  const fulfilled = [
    take('mesh', mesh, (value) => (view.mesh = value)),
    take('clients', clients, (value) => (view.clients = value)),
    take('failover', failover, (value) => {
      view.failover = value;
      view.skewMs = value.generatedAtMs - Date.now();
    }),
    take('issues', issues, (value) => (view.issues = value)),
  ];
  const failed = fulfilled.filter((ok) => !ok).length;
  byId('connection').dataset.ok = String(failed === 0);
  byId('connection-text').textContent =
    failed === fulfilled.length
      ? 'cannot reach the admin server, retrying'
      : (failed ? 'partly updated ' : 'live, updated ') + new Date().toLocaleTimeString();
  for (const step of [renderSummary, renderLegend, renderIssues, renderFailover, renderClients, renderTimes]) {
    try {
      step();
    } catch (error) {
      console.error(error);
    }
  }
}

async function poll(): Promise<void> {
  try {
    await refresh();
  } finally {
    setTimeout(() => void poll(), POLL_MS);
  }
}

/** Starts polling; the first poll runs now. */
export function startLiveTables(): void {
  void poll();
}
