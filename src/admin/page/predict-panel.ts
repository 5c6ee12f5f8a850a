// The live page's what-if panel and drill banner: markup, style and an inline script of their own, put into
// page.ts. The script polls /debug/drill (banner) and asks /debug/what-if when the operator presses the
// button; it only reads (drills start from the CLI or a POST with the admin token, never from the page).
// Data reaches the DOM through textContent only. No backticks or dollar-brace sequences in the script.

export const PREDICT_PANEL_STYLE = `
.state-remote{background:#6366f1}
.drill-banner{margin:0 0 16px;padding:10px 14px;border-radius:8px;background:#fef3c7;border:1px solid #f59e0b;color:#78350f;font-weight:600}
.what-if-form{display:flex;gap:8px;align-items:center;margin:0 0 10px}
.what-if-form input{padding:4px 8px;border:1px solid #d1d5db;border-radius:6px;min-width:240px}
.what-if-warnings li{color:#b91c1c}
`;

export const DRILL_BANNER_HTML = `<div class="drill-banner" id="drill-banner" data-testid="drill-banner" hidden></div>`;

export const PREDICT_PANEL_HTML = `
  <section>
    <h2>What if…</h2>
    <p class="hint">Where traffic would go if a cluster (east) or a service in it (east/checkout.shop) failed, and whether it fits. Several: a,b.</p>
    <div class="what-if-form"><input id="wi-in" data-testid="what-if-input" maxlength="600"><button id="wi-go" data-testid="what-if-button" type="button">Predict</button></div>
    <p class="error" id="wi-err" hidden></p>
    <table data-testid="what-if-table" id="wi-table" hidden><thead><tr><th>Client cluster</th><th>Service</th><th>Subset</th><th>Now</th><th>After</th><th>Load</th></tr></thead><tbody id="wi-body"></tbody></table>
    <ul class="what-if-warnings" id="wi-warn" data-testid="what-if-warnings"></ul>
  </section>`;

export const PREDICT_PANEL_SCRIPT = String.raw`
'use strict';
(() => {
const $ = (id) => document.getElementById(id);
const pct = (s) => Object.entries(s || {}).filter((e) => e[1] > 0).sort((a, b) => b[1] - a[1]).map((e) => e[0] + ' ' + Math.round(e[1] * 100) + '%').join(' ') || '-';
const el = (tag, text, attrs) => {
  const e = document.createElement(tag);
  e.textContent = text;
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  return e;
};
async function banner() {
  try {
    const body = await (await fetch('debug/drill', { cache: 'no-store' })).json();
    const d = body.active, b = $('drill-banner');
    b.hidden = !d;
    if (d) b.textContent = d.phase === 'running' ? 'Drill: ' + d.failure + ' is served as not ready for ' + Math.max(0, Math.round((d.deadlineMs - body.generatedAtMs) / 1000)) + ' s more (started by ' + d.by + ')' : 'Drill: ' + d.failure + ' is over, traffic is coming back';
  } catch (e) {} finally { setTimeout(banner, 2000); }
}
async function predict() {
  const q = $('wi-in').value.split(',').map((s) => s.trim()).filter(Boolean).map((f) => 'fail=' + encodeURIComponent(f)).join('&');
  $('wi-err').hidden = true;
  if (!q) return;
  try {
    const res = await fetch('debug/what-if?' + q, { cache: 'no-store' });
    const r = await res.json();
    if (!res.ok) throw new Error(r.error || 'HTTP ' + res.status);
    $('wi-body').replaceChildren(...r.routes.map((x) => {
      const tr = el('tr', '', { 'data-testid': 'what-if-row', 'data-client-cluster': x.clientCluster, 'data-subset': x.subset });
      tr.append(el('td', x.clientCluster), el('td', x.service.replace(/\.svc\.cluster\.local$/, '') + ':' + x.port), el('td', x.subset || 'all'), el('td', pct(x.before)),
        el('td', x.deadEnd ? 'fails' : x.fallsBackTo ? 'falls back to ' + x.fallsBackTo : pct(x.after), { 'data-testid': 'what-if-after' }), el('td', x.requestsPerSecond === undefined ? '-' : x.requestsPerSecond + ' req/s'));
      return tr;
    }));
    $('wi-table').hidden = !r.routes.length;
    $('wi-warn').replaceChildren(...r.warnings.map((w) => el('li', w)));
  } catch (e) {
    $('wi-err').textContent = String(e.message || e);
    $('wi-err').hidden = false;
  }
}
$('wi-go').addEventListener('click', predict);
$('wi-in').addEventListener('keydown', (e) => { if (e.key === 'Enter') predict(); });
banner();
})();
`;
