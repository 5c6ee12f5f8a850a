// The live page's inline script: polls the debug JSON every second and updates the tables in place.
// Plain browser JS in a string (the project compiles without DOM types); the e2e test drives it in a
// real Chromium. Every piece of data reaches the DOM through textContent/setAttribute, never innerHTML.
// No backticks or dollar-brace sequences below: this is a template literal.
export const PAGE_SCRIPT = String.raw`
'use strict';
(() => {
const POLL_MS = 1000;
const FETCH_TIMEOUT_MS = 3000;
const SYNC_TYPES = ['CDS', 'EDS', 'LDS', 'RDS'];
const PALETTE = ['#3b82f6', '#a855f7', '#f59e0b', '#14b8a6', '#ec4899', '#64748b', '#84cc16', '#0ea5e9'];
const view = { mesh: undefined, clients: undefined, failover: undefined, issues: undefined, skewMs: 0 };
const renderedSignature = new WeakMap();
const byId = (id) => document.getElementById(id);

/** h('td', {class: 'x', 'data-y': 1}, 'text', child): builds an element; strings become text nodes. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'style') Object.assign(el.style, value);
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

const shortHost = (host) => String(host).replace(/\.svc\.cluster\.local$/, '');
const percent = (share) => {
  const p = share * 100;
  return (p > 0 && p < 1 ? '<1' : String(Math.round(p))) + '%';
};
const seconds = (ms) => Math.round(ms / 1000) + ' s';
const serverNow = () => Date.now() + view.skewMs;

function ago(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 1) return 'just now';
  if (s < 60) return s + 's ago';
  if (s < 3600) return Math.floor(s / 60) + 'm ago';
  if (s < 86400) return Math.floor(s / 3600) + 'h ago';
  return Math.floor(s / 86400) + 'd ago';
}

function clusterOrder() {
  return ((view.mesh && view.mesh.clusters) || []).map((c) => c.name).sort();
}

/** A stable colour per mesh cluster, so "west" looks the same in every bar. */
function colorOf(cluster) {
  const index = clusterOrder().indexOf(cluster);
  if (index >= 0) return PALETTE[index % PALETTE.length];
  let hash = 0;
  for (const ch of String(cluster)) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

function canaryOf(host) {
  const service = ((view.mesh && view.mesh.services) || []).find((s) => s.host === host);
  return service && service.canary;
}

/** Same rule as syncStatus() in api-types.ts: a NACK newer than the last ACK wins. */
function syncStatus(s) {
  if (!s) return 'none';
  if (s.lastNack && s.lastNack.atMs > (s.ackedAtMs === undefined ? -Infinity : s.ackedAtMs)) return 'nack';
  if (s.sentVersion === undefined) return 'none';
  return s.ackedVersion === s.sentVersion ? 'in-sync' : 'pending';
}

/** Reuses a row while its data is unchanged, so open NACK details and hover survive each poll. */
function syncRows(tbody, items, keyOf, render, extraSignature) {
  const old = new Map([...tbody.children].map((tr) => [tr.dataset.key, tr]));
  const seen = new Set();
  items.forEach((item, index) => {
    const key = keyOf(item);
    seen.add(key);
    const signature = JSON.stringify(item) + '|' + extraSignature;
    let row = old.get(key);
    if (!row || renderedSignature.get(row) !== signature) {
      const fresh = render(item);
      fresh.dataset.key = key;
      renderedSignature.set(fresh, signature);
      if (row) {
        const open = new Set([...row.querySelectorAll('details[open]')].map((d) => d.dataset.type));
        for (const d of fresh.querySelectorAll('details')) d.open = open.has(d.dataset.type);
        row.replaceWith(fresh);
      }
      row = fresh;
    }
    if (tbody.children[index] !== row) tbody.insertBefore(row, tbody.children[index] || null);
  });
  for (const [key, row] of old) if (!seen.has(key)) row.remove();
}

function sharesView(shares, testId, color = colorOf) {
  const parts = Object.entries(shares || {})
    .filter(([, share]) => share > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const bar = h('div', { class: 'bar', 'data-testid': testId },
    parts.map(([cluster, share]) => h('span', {
      class: 'seg', 'data-cluster': cluster, 'data-share': share, title: cluster + ' ' + percent(share),
      style: { width: share * 100 + '%', background: color(cluster) },
    })));
  const labels = h('div', { class: 'shares' }, parts.length
    ? parts.map(([cluster, share]) => h('span', null, h('i', { class: 'dot', style: { background: color(cluster) } }), cluster + ' ' + percent(share)))
    : h('span', { class: 'muted' }, 'no target'));
  return [bar, labels];
}

function subsetCell(entry) {
  const canary = canaryOf(entry.service);
  const role = canary && (entry.subset === canary.canary ? 'canary' : entry.subset === canary.stable ? 'stable' : undefined);
  return h('td', null, entry.subset ? entry.subset : h('span', { class: 'muted' }, 'all'), role && h('span', { class: 'tag ' + role }, role));
}

function failoverRow(e) {
  const m = e.measured;
  return h('tr', {
    'data-testid': 'failover-row', 'data-client-cluster': e.clientCluster, 'data-service': e.service,
    'data-port': e.port, 'data-subset': e.subset, 'data-state': e.state,
  },
  h('td', { class: 'strong' }, e.clientCluster),
  h('td', { title: e.service }, shortHost(e.service), h('span', { class: 'port' }, ':' + e.port)),
  subsetCell(e),
  h('td', null, h('span', { class: 'badge state-' + e.state, 'data-testid': 'state' }, e.state), h('div', { class: 'since', 'data-since-ms': e.sinceMs })),
  h('td', null, sharesView(e.expected && e.expected.shares, 'expected-shares')),
  h('td', null, m
    ? [sharesView(m.shares, 'measured-shares'), h('div', { class: 'muted small', 'data-testid': 'measured-requests' }, m.requests + ' req in ' + seconds(m.windowMs))]
    : h('span', { class: 'muted' }, 'no traffic')));
}

/** Canary vs stable, side by side, from the rows whose subset is the service's canary or stable one. */
function canarySplits(entries) {
  const splits = new Map();
  for (const e of entries) {
    const canary = canaryOf(e.service);
    if (!canary) continue;
    const role = e.subset === canary.canary ? 'canary' : e.subset === canary.stable ? 'stable' : undefined;
    if (!role) continue;
    const key = e.clientCluster + '|' + e.service + '|' + e.port;
    if (!splits.has(key)) splits.set(key, { key, clientCluster: e.clientCluster, service: e.service, port: e.port, config: canary, canary: 0, stable: 0 });
    splits.get(key)[role] = e.measured ? e.measured.requests : 0;
  }
  return [...splits.values()].sort((a, b) => a.key.localeCompare(b.key));
}

function canaryRow(s) {
  const total = s.canary + s.stable;
  const canaryLabel = s.config.canary + ' canary';
  const splitColor = (label) => (label === canaryLabel ? '#f97316' : '#6366f1');
  const count = (label, subset, n) => h('span', { class: 'count' }, h('b', { 'data-testid': label + '-requests' }, n), ' req ', h('span', { class: 'muted' }, label + ' (' + subset + ')'));
  return h('tr', {
    'data-testid': 'canary-row', 'data-client-cluster': s.clientCluster, 'data-service': s.service, 'data-port': s.port,
    'data-canary-requests': s.canary, 'data-stable-requests': s.stable,
  },
  h('td', { class: 'strong' }, s.clientCluster),
  h('td', { title: s.service }, shortHost(s.service), h('span', { class: 'port' }, ':' + s.port)),
  h('td', null, h('div', { class: 'counts' }, count('canary', s.config.canary, s.canary), count('stable', s.config.stable, s.stable))),
  h('td', null, total
    ? sharesView({ [canaryLabel]: s.canary / total, [s.config.stable + ' stable']: s.stable / total }, 'canary-shares', splitColor)
    : h('span', { class: 'muted' }, 'no traffic')),
  h('td', { class: 'muted' }, s.config.weight + '%'));
}

function syncCell(type, s) {
  const status = syncStatus(s);
  const td = h('td', { 'data-testid': 'sync', 'data-type': type, 'data-sync': status });
  if (status === 'none') td.append(h('span', { class: 'muted' }, '-'));
  if (status === 'in-sync') td.append(h('span', { class: 'badge sync-in-sync', title: 'version ' + s.ackedVersion + ' ACKed' }, 'in sync'));
  if (status === 'pending') td.append(h('span', { class: 'badge sync-pending', title: 'sent version ' + s.sentVersion + ', waiting for the ACK' }, 'pending'));
  if (status === 'nack') {
    const n = s.lastNack;
    td.append(h('details', { class: 'nack', 'data-type': type },
      h('summary', { class: 'badge sync-nack', title: n.message }, 'NACK'),
      h('pre', { class: 'nack-text', 'data-testid': 'nack-message' }, n.message + '\n(version ' + n.version + ', ' + s.nacks + ' NACK' + (s.nacks === 1 ? '' : 's') + ')')));
  }
  return td;
}

function clientRow(c) {
  return h('tr', { 'data-testid': 'client-row', 'data-node-id': c.nodeId, 'data-cluster': c.clusterId },
    h('td', { class: 'strong mono', title: c.view }, c.nodeId),
    h('td', null, c.clusterId),
    h('td', null, c.role),
    h('td', null, c.mode),
    h('td', { class: 'mono small nowrap' }, c.userAgent),
    h('td', { class: 'small muted', 'data-since-ms': c.connectedAtMs }),
    SYNC_TYPES.map((type) => syncCell(type, (c.types || {})[type])));
}

/** A source problem (a rejected mesh file, a big removal): what, where, since when, what is served instead. */
function issueView(issue) {
  const s = issue.serving;
  const error = issue.severity === 'error';
  return h('div', { class: 'issue ' + issue.severity, 'data-testid': 'source-issue', 'data-severity': issue.severity, 'data-source': issue.source },
    h('div', null, h('b', null, error ? 'Mesh rejected: ' : 'Warning: '), issue.summary,
      h('span', { class: 'small' }, error ? ' (first rejected ' : ' (', h('span', { 'data-since-ms': issue.sinceMs }), ')')),
    issue.details.length > 0 && h('pre', { 'data-testid': 'issue-details' }, issue.details.join('\n')),
    s && h('div', { class: 'small', 'data-testid': 'issue-serving' }, 'Serving instead: version ', h('code', null, s.version), ', accepted ',
      h('span', { 'data-since-ms': s.acceptedAtMs }), ' (' + s.clusters + ' clusters, ' + s.services + ' services, ' + s.endpoints + ' endpoints)'));
}

function renderIssues() {
  if (!view.issues) return;
  const issues = view.issues.sources || [];
  const box = byId('source-issues');
  const signature = JSON.stringify(issues);
  // Rebuilt only when the issues change, so text stays selectable between polls.
  if (box.dataset.signature !== signature) {
    box.replaceChildren(...issues.map(issueView));
    box.dataset.signature = signature;
  }
  box.hidden = issues.length === 0;
}

function showSectionError(name, error) {
  const el = byId(name + '-error');
  el.hidden = !error;
  el.textContent = error ? 'Cannot load /debug/' + name + ': ' + error.message : '';
}

function renderSummary() {
  const set = (id, value) => { byId(id).textContent = value === undefined ? '-' : String(value); };
  set('summary-clusters', view.mesh && view.mesh.clusters.length);
  set('summary-services', view.mesh && view.mesh.services.length);
  // /debug/clients lists at most its limit of proxies; the count is of all of them.
  set('summary-proxies', view.clients && (view.clients.total === undefined ? view.clients.clients.length : view.clients.total));
  set('summary-failing-over', view.failover && view.failover.entries.filter((e) => e.state !== 'local' && e.state !== 'remote').length);
}

function renderLegend() {
  byId('legend').replaceChildren(...clusterOrder().map((name) => h('span', null, h('i', { class: 'dot', style: { background: colorOf(name) } }), name)));
}

function renderFailover() {
  if (!view.failover) return;
  const entries = [...view.failover.entries].sort((a, b) =>
    a.service.localeCompare(b.service) || a.port - b.port || a.subset.localeCompare(b.subset) || a.clientCluster.localeCompare(b.clientCluster));
  const meshSignature = JSON.stringify(view.mesh || null);
  syncRows(byId('failover-body'), entries, (e) => [e.clientCluster, e.service, e.port, e.subset].join('|'), failoverRow, meshSignature);
  byId('failover-empty').hidden = entries.length > 0;
  const splits = canarySplits(entries);
  byId('canary-section').hidden = splits.length === 0;
  syncRows(byId('canary-body'), splits, (s) => s.key, canaryRow, '');
}

function renderClients() {
  if (!view.clients) return;
  const clients = [...view.clients.clients].sort((a, b) => a.clusterId.localeCompare(b.clusterId) || a.nodeId.localeCompare(b.nodeId) || a.streamId - b.streamId);
  syncRows(byId('clients-body'), clients, (c) => String(c.streamId), clientRow, '');
  byId('clients-empty').hidden = clients.length > 0;
}

function renderTimes() {
  const now = serverNow();
  for (const el of document.querySelectorAll('[data-since-ms]')) el.textContent = ago(now - Number(el.dataset.sinceMs));
}

async function getJson(name) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
  try {
    const response = await fetch('debug/' + name, { cache: 'no-store', signal: abort.signal });
    if (!response.ok) throw new Error('HTTP ' + response.status);
    return await response.json();
  } finally {
    clearTimeout(timer);
  }
}

async function poll() {
  try {
    await refresh();
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

async function refresh() {
  const names = ['mesh', 'clients', 'failover', 'issues'];
  const results = await Promise.allSettled(names.map(getJson));
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') view[names[i]] = result.value;
    showSectionError(names[i], result.status === 'rejected' ? result.reason : undefined);
  });
  // Relative times use the server's clock: the browser's may be off.
  if (results[2].status === 'fulfilled') view.skewMs = view.failover.generatedAtMs - Date.now();
  const failed = results.filter((r) => r.status === 'rejected').length;
  byId('connection').dataset.ok = String(failed === 0);
  byId('connection-text').textContent = failed === names.length
    ? 'cannot reach the admin server, retrying'
    : (failed ? 'partly updated ' : 'live, updated ') + new Date().toLocaleTimeString();
  for (const step of [renderSummary, renderLegend, renderIssues, renderFailover, renderClients, renderTimes]) {
    try { step(); } catch (error) { console.error(error); }
  }
}

poll();
})();
`;
