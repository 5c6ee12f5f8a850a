// The failover table as text: shared by `spillway status` (read from the admin API) and the demo's console
// (read from the tracker itself), so both print the same thing.
import type { FailoverEntry, FailoverReport, Shares } from '../admin/page/api-types';
import { formatAge, formatColumns } from './text-table';

/** "west 98% east 2%": biggest share first; "-" when traffic goes nowhere. */
export function formatShares(shares: Shares): string {
  const parts = Object.entries(shares)
    .filter(([, share]) => share > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (parts.length === 0) return '-';
  return parts
    .map(([cluster, share]) => `${cluster} ${share > 0 && share < 0.01 ? '<1' : Math.round(share * 100)}%`)
    .join(' ');
}

/** `checkout.shop.svc.cluster.local` -> `checkout.shop`: the suffix is the same on every row. */
export function shortHost(host: string): string {
  return host.replace(/\.svc\.cluster\.local$/, '');
}

function measuredText(entry: FailoverEntry): string {
  const m = entry.measured;
  if (!m) return 'no traffic';
  return `${formatShares(m.shares)} (${m.requests} req/${Math.round(m.windowMs / 1000)}s)`;
}

function byServicePortSubsetClient(a: FailoverEntry, b: FailoverEntry): number {
  return (
    a.service.localeCompare(b.service) ||
    a.port - b.port ||
    a.subset.localeCompare(b.subset) ||
    a.clientCluster.localeCompare(b.clientCluster)
  );
}

/** The failover table; "since" is measured against the report's own clock. */
export function formatFailoverTable(report: FailoverReport): string {
  if (report.entries.length === 0)
    return 'no failover entries yet (one appears per client cluster, service port and subset)';
  const rows = [...report.entries]
    .sort(byServicePortSubsetClient)
    .map((e) => [
      e.clientCluster,
      `${shortHost(e.service)}:${e.port}`,
      e.subset || 'all',
      e.state,
      formatAge(report.generatedAtMs - e.sinceMs),
      formatShares(e.expected.shares),
      measuredText(e),
    ]);
  return formatColumns(['CLIENT', 'SERVICE', 'SUBSET', 'STATE', 'SINCE', 'EXPECTED', 'MEASURED'], rows);
}
