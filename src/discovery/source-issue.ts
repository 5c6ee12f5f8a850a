// A discovery source's problem that an operator must see without reading logs: served on /debug/issues,
// shown in the live page's banner and by `spillway status`. The wire shape is SourceIssueJson in
// src/admin/page/api-types.ts (what those readers code against): keep the two in step.

/** What a source keeps serving instead of a version it rejected. */
export interface ServedVersion {
  /** First 12 hex digits of the SHA-256 of what was accepted (for a file, `sha256sum FILE` starts with it). */
  version: string;
  acceptedAtMs: number;
  clusters: number;
  services: number;
  endpoints: number;
}

export interface SourceIssue {
  /** The source's name, as in the spillway_mesh_* metrics (`file`). */
  source: string;
  /** error: the source's latest input is not served; warning: it is served, but looks like a mistake. */
  severity: 'error' | 'warning';
  summary: string;
  /** One line each, e.g. `FILE:LINE: PATH: MESSAGE`. */
  details: string[];
  /** When it started: the first rejection since the last accepted version, or when the warning was raised. */
  sinceMs: number;
  lastSeenMs: number;
  serving?: ServedVersion;
}
