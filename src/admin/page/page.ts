// The admin server's live page at `/`: one self-contained HTML document (inline CSS and JS, no other
// request but the debug JSON it polls), so it works wherever the admin port is reachable.
import * as fs from 'fs';
import * as path from 'path';
import type { AdminHandler } from '../admin-server';
import { PAGE_STYLE } from './page-style';
import { DRILL_BANNER_HTML, PREDICT_PANEL_HTML, PREDICT_PANEL_STYLE } from './predict-panel';
import { SCOPE_PANEL_HTML } from './scope-panel';

/** The browser script (browser/*.ts) as `npm run build:page` bundles it, next to this module in dist/. */
export const PAGE_BUNDLE_FILE = path.join(__dirname, 'page-bundle.js');

/** The bundle, or a script that says on the page that it was not built (only tsc ran). */
function pageScript(): string {
  try {
    // `</script` in a string would end the inline script early; `<\/script` is the same string to JS.
    return fs.readFileSync(PAGE_BUNDLE_FILE, 'utf8').replace(/<\/script/gi, '<\\/script');
  } catch {
    return "document.body.prepend('The page script was not built: run npm run build (or npm run build:page).');";
  }
}

// Static markup only: every piece of live data is put in by the script through DOM text APIs.
const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Spillway</title>
<style>${PAGE_STYLE}${PREDICT_PANEL_STYLE}</style>
</head>
<body>
<header>
  <div class="brand">Spillway<small>multi-cluster failover, live</small></div>
  <div class="stats">
    <div class="stat"><b id="summary-clusters" data-testid="summary-clusters">-</b><span>clusters</span></div>
    <div class="stat"><b id="summary-services" data-testid="summary-services">-</b><span>services</span></div>
    <div class="stat"><b id="summary-proxies" data-testid="summary-proxies">-</b><span>connected proxies</span></div>
    <div class="stat"><b id="summary-failing-over" data-testid="summary-failing-over">-</b><span>rows not local</span></div>
  </div>
  <div class="conn" id="connection" data-testid="connection"><i></i><span id="connection-text">connecting</span></div>
</header>
<main>
  ${DRILL_BANNER_HTML}
  <div id="source-issues" data-testid="source-issues" hidden></div>
  <p class="error" id="issues-error" hidden></p>
  <p class="error" id="mesh-error" hidden></p>
  <section>
    <h2>Failover</h2>
    <p class="hint">Per client cluster, service port and subset: where traffic is expected to go, and where load reports say it went.</p>
    <div class="legend" id="legend"></div>
    <table data-testid="failover-table">
      <thead><tr><th>Client cluster</th><th>Service</th><th>Subset</th><th>State</th><th>Expected</th><th>Measured</th></tr></thead>
      <tbody id="failover-body"></tbody>
    </table>
    <p class="empty" id="failover-empty">No failover entries yet.</p>
    <p class="error" id="failover-error" hidden></p>
  </section>
${PREDICT_PANEL_HTML}
  <section id="canary-section" hidden>
    <h2>Canary vs stable</h2>
    <p class="hint">Measured requests to the canary and the stable subset, per client cluster.</p>
    <table data-testid="canary-table">
      <thead><tr><th>Client cluster</th><th>Service</th><th>Requests</th><th>Split</th><th>Weight</th></tr></thead>
      <tbody id="canary-body"></tbody>
    </table>
  </section>
  <section>
    <h2>Connected proxies</h2>
    <p class="hint">Sync status per type: in sync once the sent version is ACKed; click a NACK for Envoy's error.</p>
    <table data-testid="clients-table">
      <thead><tr><th>Node</th><th>Cluster</th><th>Role</th><th>Mode</th><th>User agent</th><th>Connected</th><th>CDS</th><th>EDS</th><th>LDS</th><th>RDS</th></tr></thead>
      <tbody id="clients-body"></tbody>
    </table>
    <p class="empty" id="clients-empty">No proxies connected.</p>
    <p class="error" id="clients-error" hidden></p>
  </section>
${SCOPE_PANEL_HTML}
</main>
<script>${pageScript()}</script>
</body>
</html>
`;

/** Serves the live page; register it for the path `/`. */
export const pageHandler: AdminHandler = (url) =>
  url.pathname === '/' ? { status: 200, contentType: 'text/html; charset=utf-8', body: PAGE_HTML } : undefined;

/** The page's size in bytes, for the test that keeps it small. */
export const PAGE_BYTES = Buffer.byteLength(PAGE_HTML);
