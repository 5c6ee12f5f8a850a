// The what-if panel and the drill banner. The banner polls /debug/drill; the panel asks /debug/what-if when
// the operator presses the button. Both only read: drills start from the CLI or a POST with the admin token.
import type { DrillStatusJson, ErrorJson, Shares, WhatIfReportJson, WhatIfRouteJson } from '../api-types';
import { getDebugJson } from './debug-json';
import { byId, h, messageOf } from './dom';

const BANNER_POLL_MS = 2000;

/** "west 67% south 33%", largest share first. */
function sharesText(shares: Shares | undefined): string {
  const parts = Object.entries(shares ?? {})
    .filter(([, share]) => share > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([cluster, share]) => `${cluster} ${Math.round(share * 100)}%`);
  return parts.join(' ') || '-';
}

function bannerText(status: DrillStatusJson): string | undefined {
  const drill = status.active;
  if (!drill) return undefined;
  if (drill.phase !== 'running') return `Drill: ${drill.failure} is over, traffic is coming back`;
  const left = Math.max(0, Math.round((drill.deadlineMs - status.generatedAtMs) / 1000));
  return `Drill: ${drill.failure} is served as not ready for ${left} s more (started by ${drill.by})`;
}

async function pollBanner(): Promise<void> {
  try {
    const text = bannerText(await getDebugJson<DrillStatusJson>('drill'));
    const banner = byId('drill-banner');
    banner.hidden = text === undefined;
    if (text !== undefined) banner.textContent = text;
  } catch {
    // The live tables show when the admin server cannot be reached; the banner keeps its last state.
  } finally {
    setTimeout(() => void pollBanner(), BANNER_POLL_MS);
  }
}

function afterText(route: WhatIfRouteJson): string {
  if (route.deadEnd) return 'fails';
  if (route.fallsBackTo) return `falls back to ${route.fallsBackTo}`;
  return sharesText(route.after);
}

function routeRow(route: WhatIfRouteJson): HTMLElement {
  return h(
    'tr',
    { 'data-testid': 'what-if-row', 'data-client-cluster': route.clientCluster, 'data-subset': route.subset },
    h('td', null, route.clientCluster),
    h('td', null, `${route.service.replace(/\.svc\.cluster\.local$/, '')}:${route.port}`),
    h('td', null, route.subset || 'all'),
    h('td', null, sharesText(route.before)),
    h('td', { 'data-testid': 'what-if-after' }, afterText(route)),
    h('td', null, route.requestsPerSecond === undefined ? '-' : `${route.requestsPerSecond} req/s`),
  );
}

/** `fail=a&fail=b` from the input's comma-separated failures. */
function failQuery(input: string): string {
  return input
    .split(',')
    .map((failure) => failure.trim())
    .filter(Boolean)
    .map((failure) => `fail=${encodeURIComponent(failure)}`)
    .join('&');
}

async function predict(): Promise<void> {
  const query = failQuery(byId('wi-in', HTMLInputElement).value);
  const errorLine = byId('wi-err');
  errorLine.hidden = true;
  if (!query) return;
  try {
    const response = await fetch(`debug/what-if?${query}`, { cache: 'no-store' });
    const body = (await response.json()) as WhatIfReportJson | ErrorJson;
    if (!response.ok || 'error' in body) throw new Error('error' in body ? body.error : `HTTP ${response.status}`);
    byId('wi-body').replaceChildren(...body.routes.map(routeRow));
    byId('wi-table').hidden = body.routes.length === 0;
    byId('wi-warn').replaceChildren(...body.warnings.map((warning) => h('li', null, warning)));
  } catch (error) {
    errorLine.textContent = messageOf(error);
    errorLine.hidden = false;
  }
}

/** Wires the button and Enter in the input, and starts the banner's polling. */
export function startWhatIfPanel(): void {
  byId('wi-go').addEventListener('click', () => void predict());
  byId('wi-in', HTMLInputElement).addEventListener('keydown', (event) => {
    if (event.key === 'Enter') void predict();
  });
  void pollBanner();
}
