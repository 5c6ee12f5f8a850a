// The scope panel: per workload, declared vs observed callees and the `calls:` line to paste
// (/debug/scope, polled every 5 s).
import type { ScopeReportJson, WorkloadScopeJson } from '../api-types';
import { getDebugJson } from './debug-json';
import { byId, h, messageOf } from './dom';

const POLL_MS = 5000;
/** Workloads asked for: the panel is a page section, not the full report (`spillway scope` is). */
const WORKLOAD_LIMIT = 200;

function workloadRow(w: WorkloadScopeJson): HTMLElement {
  const observed = w.observed.map((o) => `${o.service} (${o.requests})`).join(', ') || '-';
  const declared = w.declared ? w.declared.join(', ') || '(nothing)' : 'not declared';
  const warn =
    w.observedNotDeclared.length > 0 ? ` - called but not declared: ${w.observedNotDeclared.join(', ')}` : '';
  return h(
    'tr',
    { 'data-workload': w.workload },
    h('td', null, w.workload),
    h('td', warn ? { class: 'error' } : null, declared + warn),
    h('td', null, observed),
    h('td', { 'data-testid': 'scope-suggestion' }, w.suggestion.meshFile),
  );
}

function render(report: ScopeReportJson): void {
  const rows = report.workloads.map(workloadRow);
  byId('scope-body').replaceChildren(...rows);
  byId('scope-empty').hidden = rows.length > 0;
}

async function poll(): Promise<void> {
  const error = byId('scope-error');
  try {
    render(await getDebugJson<ScopeReportJson>(`scope?limit=${WORKLOAD_LIMIT}`));
    error.hidden = true;
  } catch (e) {
    error.textContent = `scope: ${messageOf(e)}`;
    error.hidden = false;
  }
}

/** Polls now and every POLL_MS. */
export function startScopePanel(): void {
  void poll();
  setInterval(() => void poll(), POLL_MS);
}
