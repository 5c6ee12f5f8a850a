// The live page's what-if panel and drill banner: markup and style, put into page.ts. Their script is
// browser/what-if-panel.ts: it polls /debug/drill (banner) and asks /debug/what-if when the operator presses
// the button; it only reads (drills start from the CLI or a POST with the admin token, never from the page).

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
