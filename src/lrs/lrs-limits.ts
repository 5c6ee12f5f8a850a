// What one load report may hold and what the server keeps of all of them: the `serve --lrs-*` flags.
// Defaults fit a proxy with several thousand Envoy clusters (Envoy sends ~120 bytes per cluster even
// without traffic, plus ~60 per locality with traffic) and refuse the multi-megabyte reports that used
// to pile up in memory.

export interface LrsLimits {
  /** Largest LoadStatsRequest accepted; a larger one ends the stream with RESOURCE_EXHAUSTED. */
  maxReportBytes: number;
  /** Cluster stats entries in one report. */
  maxClustersPerReport: number;
  /** Upstream locality stats entries in one report, over all its clusters. */
  maxLocalitiesPerReport: number;
  /** Distinct (client cluster, Envoy cluster, target cluster) series kept over the window, server-wide. */
  maxSeries: number;
}

export const DEFAULT_LRS_LIMITS: LrsLimits = {
  maxReportBytes: 1024 * 1024,
  maxClustersPerReport: 10_000,
  maxLocalitiesPerReport: 20_000,
  maxSeries: 100_000,
};

/** Spillway asks for a report a second; a stream sending far more is cut off (token bucket). */
export const REPORTS_PER_SECOND = 5;
export const REPORT_BURST = 10;

/** Node ids are echoed in logs and statuses only up to this many characters. */
export const MAX_LOGGED_ID_CHARS = 128;

export function shortId(id: string): string {
  return id.length <= MAX_LOGGED_ID_CHARS
    ? id
    : `${id.slice(0, MAX_LOGGED_ID_CHARS)}... (${id.length} chars, truncated)`;
}
