// The admin API's JSON as its readers (the live page and `spillway status|clients`) see it, coded
// against docs/ADMIN-API.md. Wire shapes, not server internals: a reader must cope with a server of
// another version, so everything the doc does not promise is optional. Compiled twice, for Node and for
// the browser (page/browser/): plain types and pure functions only, no Node or DOM API.

/** `remote`: the subset runs only in other clusters (remote by design, not a failover). */
export type FailoverState = 'local' | 'partial' | 'spilled' | 'unavailable' | 'remote';

export interface FailoverTarget {
  cluster: string;
  address: string;
  weight: number;
  /** `local` or `gateway` today; a newer server may send other kinds. */
  kind: string;
}

export interface FailoverPriority {
  priority: number;
  targets: FailoverTarget[];
}

/** Share of traffic (0..1) per target cluster. */
export type Shares = Record<string, number>;

export interface FailoverEntry {
  clientCluster: string;
  service: string;
  port: number;
  /** "" for the whole service. */
  subset: string;
  priorities: FailoverPriority[];
  expected: { state: FailoverState; shares: Shares };
  /** Absent when there was no traffic in the window. `state` is decided on `recent` when it has requests. */
  measured?: {
    state: FailoverState;
    shares: Shares;
    requests: number;
    windowMs: number;
    recent?: { shares: Shares; requests: number; windowMs: number };
  };
  state: FailoverState;
  sinceMs: number;
}

export interface FailoverReport {
  generatedAtMs: number;
  entries: FailoverEntry[];
}

export interface NackJson {
  version: string;
  nonce: string;
  message: string;
  atMs: number;
}

export interface TypeStatusJson {
  sentVersion?: string;
  sentNonce?: string;
  sentAtMs?: number;
  responses: number;
  ackedVersion?: string;
  ackedAtMs?: number;
  lastNack?: NackJson;
  nacks: number;
}

export interface ClientInfoJson {
  streamId: number;
  nodeId: string;
  clusterId: string;
  role: string;
  view: string;
  userAgent: string;
  mode: string;
  service: string;
  peer: string;
  connectedAtMs: number;
  types: Record<string, TypeStatusJson>;
}

export interface ClientsReport {
  totals: Record<string, number>;
  /** Connected streams; `clients` holds at most `limit` of them (NACKing ones first). */
  total?: number;
  limit?: number;
  clients: ClientInfoJson[];
}

export interface CanaryJson {
  stable: string;
  canary: string;
  /** Percent of traffic to the canary subset. */
  weight: number;
}

export interface MeshReport {
  clusters: { name: string; region?: string; zone?: string }[];
  services: { host: string; canary?: CanaryJson }[];
}

/** The xDS types a proxy's sync status is shown for, in push order. */
export const SYNC_TYPES = ['CDS', 'EDS', 'LDS', 'RDS'] as const;

export type SyncStatus = 'in sync' | 'pending' | 'NACK' | '-';

/**
 * NACK wins when the last NACK is newer than the last ACK (the proxy runs older config and says why);
 * otherwise "in sync" once the sent version is ACKed, "pending" while a response awaits its ACK.
 * The live page (page/browser/) and `spillway status` both use this function.
 */
export function syncStatus(status: TypeStatusJson | undefined): SyncStatus {
  if (!status) return '-';
  if (status.lastNack && status.lastNack.atMs > (status.ackedAtMs ?? -Infinity)) return 'NACK';
  if (status.sentVersion === undefined) return '-';
  return status.ackedVersion === status.sentVersion ? 'in sync' : 'pending';
}

/** What a source serves instead of a version it rejected. */
export interface ServingJson {
  /** First 12 hex digits of the SHA-256 of the accepted file (`sha256sum FILE` starts with it). */
  version: string;
  acceptedAtMs: number;
  clusters: number;
  services: number;
  endpoints: number;
}

/** A discovery source's problem an operator must see: a rejected mesh file (error), a big removal (warning). */
export interface SourceIssueJson {
  source: string;
  severity: 'error' | 'warning';
  /** One line: what happened. */
  summary: string;
  /** Lines such as `FILE:LINE: PATH: MESSAGE`. */
  details: string[];
  /** When it started: the first rejection since the last accepted version, or when the warning was raised. */
  sinceMs: number;
  lastSeenMs: number;
  serving?: ServingJson;
}

/** `/debug/issues`: source problems, then translation problems per view. */
export interface IssuesReport {
  sources?: SourceIssueJson[];
  views?: Record<string, { service: string; message: string }[]>;
}

/** An error answer of any admin path (`400`, `409`, `429`, ...). */
export interface ErrorJson {
  error: string;
}

/** One route of a what-if: first-priority shares today and after the failures. */
export interface WhatIfRouteJson {
  clientCluster: string;
  service: string;
  port: number;
  /** "" for the whole service. */
  subset: string;
  before: Shares;
  after: Shares;
  /** Clusters of each later priority after the failures. */
  thenAfter: string[][];
  /** A canary subset left empty: the subset its aggregate goes to next. */
  fallsBackTo?: string;
  /** Nowhere to go after the failures: why, in words. */
  deadEnd?: string;
  requestsPerSecond?: number;
}

export interface WhatIfFitJson {
  service: string;
  port: number;
  cluster: string;
  readyEndpoints: number;
  todayRps: number;
  predictedRps: number;
  factor?: number;
  overload?: string;
}

/** `/debug/what-if?fail=...`. */
export interface WhatIfReportJson {
  failures: string[];
  generatedAtMs: number;
  loadWindowMs: number;
  routes: WhatIfRouteJson[];
  fit: WhatIfFitJson[];
  /** Overloads and dead ends, one sentence each. */
  warnings: string[];
}

export interface ActiveDrillJson {
  id: number;
  failure: string;
  startedAtMs: number;
  deadlineMs: number;
  /** The caller's address, with ` (token)` when it showed the admin token. */
  by: string;
  /** `ending` between the end and the outcome, while traffic comes back. */
  phase: 'running' | 'ending';
}

export interface DrillOutcomeJson {
  id: number;
  failure: string;
  startedAtMs: number;
  endedAtMs: number;
  endedBy: 'deadline' | 'stop';
  routes: {
    clientCluster: string;
    service: string;
    port: number;
    subset: string;
    expected: Shares;
    measured?: Shares;
    requests: number;
  }[];
  requests: number;
  failedRequests: number;
  warnings: string[];
}

/** `/debug/drill`. */
export interface DrillStatusJson {
  generatedAtMs: number;
  active?: ActiveDrillJson;
  outcomes: DrillOutcomeJson[];
  maxDurationMs: number;
}

export interface WorkloadScopeJson {
  workload: string;
  /** Absent when the workload declares no calls. */
  declared?: string[];
  observed: { service: string; requests: number; lastSeenMs: number }[];
  observedNotDeclared: string[];
  declaredNotObserved: string[];
  suggestion: { calls: string[]; meshFile: string; annotation: string };
}

/** `/debug/scope[?limit=N]`. */
export interface ScopeReportJson {
  generatedAtMs: number;
  observingSinceMs: number;
  defaultScope: string;
  total: number;
  limit: number;
  workloads: WorkloadScopeJson[];
  observedPairs: number;
  droppedPairs: number;
  unidentifiedReports: number;
}
