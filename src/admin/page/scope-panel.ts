// The live page's scope panel: per workload, declared vs observed callees and the `calls:` line to paste
// (/debug/scope, polled every 5 s). Its markup, included by page.ts; its script is browser/scope-panel.ts.
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
