// An SVG plot written by the bench: p99 (across clients) of change → ACKed against the number of
// clients, one line per server and client kind, for the largest mesh of the run. Log-scaled N axis.
import { SERVER_LABEL, ServerName } from '../servers/server-under-test';
import { Cell } from './summary';

const COLORS: Record<ServerName, string> = {
  spillway: '#1f77b4',
  'go-control-plane': '#2ca02c',
  'go-control-plane-snapshot': '#98df8a',
  istiod: '#d62728',
  'istiod-default': '#ff9896',
};
const W = 760;
const H = 400;
// Room on the right for legend labels such as "go-control-plane (SnapshotCache)".
const M = { left: 60, right: 250, top: 40, bottom: 50 };

const SERIES_SUFFIX = { envoy: '', grpc: ' (gRPC)', 'mtls-pods': ' (mTLS pods)' } as const;
/** Stroke dash pattern per client kind (none for Envoy-like clients). */
const DASHES = { envoy: undefined, grpc: '6,4', 'mtls-pods': '2,3' } as const;

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function renderPlot(cells: Cell[], servers: ServerName[]): string {
  const services = Math.max(0, ...cells.map((c) => c.services));
  const mine = cells.filter((c) => c.services === services);
  const series: { label: string; color: string; dash: string | undefined; points: [number, number][] }[] = [];
  for (const server of servers) {
    // The mTLS workload's distinct pods are plotted too, so a regression there shows beside the rest.
    for (const kind of ['envoy', 'grpc', 'mtls-pods'] as const) {
      const points: [number, number][] = [];
      for (const cell of mine.filter((c) => c.kind === kind).sort((a, b) => a.clients - b.clients)) {
        const f = cell.figures.find((x) => x.server === server);
        if (f && Number.isFinite(f.ackP99.median)) points.push([cell.clients, f.ackP99.median]);
      }
      if (points.length > 0)
        series.push({
          label: `${SERVER_LABEL[server]}${SERIES_SUFFIX[kind]}`,
          color: COLORS[server],
          dash: DASHES[kind],
          points,
        });
    }
  }
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const xMin = Math.log10(Math.min(...xs, 100));
  const xMax = Math.max(Math.log10(Math.max(...xs, 100)), xMin + 1);
  const yMax = Math.max(100, ...all.map((p) => p[1])) * 1.1;
  const px = (n: number) => M.left + ((Math.log10(n) - xMin) / (xMax - xMin)) * (W - M.left - M.right);
  const py = (ms: number) => H - M.bottom - (ms / yMax) * (H - M.top - M.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - 60}" y="20" text-anchor="middle" font-size="14">endpoint change → ACKed, p99 of clients (ms), ${services} services</text>`,
    `<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="black"/>`,
    `<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="black"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">clients (N, log scale)</text>`,
  ];
  for (const n of [...new Set(xs)].sort((a, b) => a - b)) {
    out.push(
      `<line x1="${px(n)}" y1="${H - M.bottom}" x2="${px(n)}" y2="${H - M.bottom + 5}" stroke="black"/>`,
      `<text x="${px(n)}" y="${H - M.bottom + 18}" text-anchor="middle">${n}</text>`,
    );
  }
  for (let k = 0; k <= 4; k++) {
    const ms = (yMax / 4) * k;
    out.push(
      `<line x1="${M.left - 5}" y1="${py(ms)}" x2="${W - M.right}" y2="${py(ms)}" stroke="#ddd"/>`,
      `<text x="${M.left - 8}" y="${py(ms) + 4}" text-anchor="end">${ms.toFixed(0)}</text>`,
    );
  }
  series.forEach((s, i) => {
    const d = s.points.map(([n, ms], j) => `${j === 0 ? 'M' : 'L'}${px(n).toFixed(1)},${py(ms).toFixed(1)}`).join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
    );
    for (const [n, ms] of s.points)
      out.push(`<circle cx="${px(n).toFixed(1)}" cy="${py(ms).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = M.top + 10 + i * 18;
    out.push(
      `<line x1="${W - M.right + 10}" y1="${ly}" x2="${W - M.right + 35}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
    );
    out.push(`<text x="${W - M.right + 40}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  if (series.length === 0) out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text>`);
  out.push('</svg>', '');
  return out.join('\n');
}
