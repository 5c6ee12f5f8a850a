// Messages between the harness and the load-generator child process (over the fork IPC channel).

export interface BenchNode {
  id: string;
  /** String metadata (CLUSTER_ID, ...), as an Envoy bootstrap would set it. */
  metadata: Record<string, string>;
  /** The workload's labels, sent as node metadata LABELS (a nested Struct), as an Istio sidecar reports its pod's. */
  labels?: Record<string, string>;
  locality?: { region: string; zone: string };
  /** Envoy-like (the default) or gRPC-like (proxyless: named LDS for `targets`, then RDS/CDS/EDS by name). */
  kind?: ClientProtocol;
  /** gRPC-like clients: the `<host>:<port>` listener names their channels target. */
  targets?: string[];
}

/** How a client speaks xDS: like Envoy (wildcards) or like grpc-js-xds (names only). */
export type ClientProtocol = 'envoy' | 'grpc';

/**
 * What a run's clients are. `mtls-pods` and `mtls-shared` are Envoy-like workload sidecars on an mTLS
 * mesh: every one a pod of its own (distinct INSTANCE_IP), or all of a cluster with one pod's metadata.
 */
export type ClientKind = ClientProtocol | MtlsKind | 'scoped';
export type MtlsKind = 'mtls-pods' | 'mtls-shared';
// `scoped`: Envoy-like sidecars of workloads that each declare the services they call (a few of the mesh).

export function isMtlsKind(kind: ClientKind): kind is MtlsKind {
  return kind === 'mtls-pods' || kind === 'mtls-shared';
}

export type StreamMode = 'sotw' | 'delta';

export type ToLoadGenerator =
  | { kind: 'connect'; group: string; address: string; nodes: BenchNode[]; mode: StreamMode }
  /** From now on, report when every client of the group has an EDS response naming `edsName`. */
  | { kind: 'arm'; group: string; edsName: string }
  | { kind: 'close'; group: string }
  /** Totals of the group so far (bytes and responses received by all its clients). */
  | { kind: 'stats'; group: string };

/** Resource counts one client holds after its initial sync. */
export interface HeldCounts {
  clusters: number;
  endpoints: number;
  listeners: number;
  routes: number;
}

export type FromLoadGenerator =
  | {
      kind: 'synced';
      group: string;
      /** Per client: ms from the start of the connect to its complete initial sync. */
      syncMs: number[];
      /** Median bytes a client received until synced. */
      bytesPerClient: number;
      held: HeldCounts;
      /** Streams the server refused or dropped before they synced, opened again by their client. */
      reconnects: number;
    }
  | { kind: 'armed'; group: string }
  /** process.hrtime.bigint() of each client's arrival, as decimal strings (the clock is system-wide). */
  | { kind: 'updated'; group: string; arrivalsNs: string[]; ackedNs: string[] }
  | { kind: 'stats'; group: string; bytes: number; responses: number }
  | { kind: 'closed'; group: string }
  | { kind: 'failed'; group: string; message: string };
