// The admin API's JSON as its readers (the live page and `spillway status|clients`) see it, coded
// against docs/ADMIN-API.md. Wire shapes, not server internals: a reader must cope with a server of
// another version, so everything the doc does not promise is optional.

/** `remote`: the subset runs only in other clusters (remote by design, not a failover). */
export type FailoverState = 'local' | 'partial' | 'spilled' | 'unavailable' | 'remote';

export interface FailoverTarget {
  cluster: string;
  address: string;
  weight: number;
  kind: 'local' | 'gateway' | string;
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
  measured?: { state: FailoverState; shares: Shares; requests: number; windowMs: number; recent?: { shares: Shares; requests: number; windowMs: number } };
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

export interface MeshReport {
  clusters: { name: string; region?: string; zone?: string }[];
  services: { host: string; canary?: { stable: string; canary: string; weight: number } }[];
}

/** The xDS types a proxy's sync status is shown for, in push order. */
export const SYNC_TYPES = ['CDS', 'EDS', 'LDS', 'RDS'] as const;

export type SyncStatus = 'in sync' | 'pending' | 'NACK' | '-';

/**
 * NACK wins when the last NACK is newer than the last ACK (the proxy runs older config and says why);
 * otherwise "in sync" once the sent version is ACKed, "pending" while a response awaits its ACK.
 * The page's inline script applies the same rule (page-script.ts): keep the two in step.
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
