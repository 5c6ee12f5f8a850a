// The live page's scope panel: per workload, declared vs observed callees and the `calls:` line to paste
// (/debug/scope, polled every 5 s). Its own markup and script, included by page.ts. Data reaches the DOM
// only through textContent. No backticks or dollar-brace sequences in the script: it is a template literal.
export const SCOPE_PANEL_HTML = `
  <section id="scope-section" data-testid="scope-section">
    <h2>Scope: what each workload calls</h2>
    <p class="hint">Declared calls (mesh file <code>calls:</code>, annotation <code>spillway.io/calls</code>) and callees seen in load reports; paste the suggestion to give its sidecars only these. Nothing is trimmed automatically.</p>
    <table data-testid="scope-table">
      <thead><tr><th>Workload</th><th>Declared</th><th>Observed</th><th>Suggestion</th></tr></thead>
      <tbody id="scope-body"></tbody>
    </table>
    <p class="empty" id="scope-empty">No workload declares calls or was seen calling yet.</p>
    <p class="error" id="scope-error" hidden></p>
  </section>`;

export const SCOPE_PANEL_SCRIPT = String.raw`
'use strict';
(() => {
const POLL_MS = 5000;
const byId = (id) => document.getElementById(id);
function cell(text, attrs) {
  const td = document.createElement('td');
  for (const [name, value] of Object.entries(attrs || {})) td.setAttribute(name, String(value));
  td.textContent = text;
  return td;
}
function render(report) {
  const body = byId('scope-body');
  const rows = (report.workloads || []).map((w) => {
    const tr = document.createElement('tr');
    tr.setAttribute('data-workload', w.workload);
    const observed = (w.observed || []).map((o) => o.service + ' (' + o.requests + ')').join(', ') || '-';
    const declared = w.declared ? (w.declared.join(', ') || '(nothing)') : 'not declared';
    const warn = (w.observedNotDeclared || []).length > 0 ? ' - called but not declared: ' + w.observedNotDeclared.join(', ') : '';
    tr.append(cell(w.workload), cell(declared + warn, warn ? { class: 'error' } : {}), cell(observed), cell(w.suggestion.meshFile, { 'data-testid': 'scope-suggestion' }));
    return tr;
  });
  body.replaceChildren(...rows);
  byId('scope-empty').hidden = rows.length > 0;
}
async function poll() {
  const error = byId('scope-error');
  try {
    const response = await fetch('debug/scope?limit=200', { cache: 'no-store' });
    if (!response.ok) throw new Error('debug/scope answered ' + response.status);
    render(await response.json());
    error.hidden = true;
  } catch (e) {
    error.textContent = 'scope: ' + (e && e.message ? e.message : String(e));
    error.hidden = false;
  }
}
poll();
setInterval(poll, POLL_MS);
})();
`;
