// What the harness needs from each xDS server it measures, whatever it is built on.
import { BenchNode, ClientKind, isMtlsKind } from '../load/protocol';
import { MeshSize, NotReady } from '../mesh/generate-mesh';

/**
 * 'go-control-plane' is the peer in the configuration an experienced user would pick for this workload
 * (LinearCache per view and type); 'go-control-plane-snapshot' the same peer over its SnapshotCache, kept
 * as a labelled reference row. 'istiod' has its admission limit for new streams lifted; 'istiod-default' runs
 * with istiod's defaults (only the push debounce set like Spillway's).
 */
export type ServerName = 'spillway' | 'go-control-plane' | 'go-control-plane-snapshot' | 'istiod' | 'istiod-default';

/** How each server is named in the report's tables and the plot. */
export const SERVER_LABEL: Record<ServerName, string> = {
  spillway: 'spillway',
  'go-control-plane': 'go-control-plane (LinearCache)',
  'go-control-plane-snapshot': 'go-control-plane (SnapshotCache)',
  istiod: 'istiod (admission limit lifted)',
  'istiod-default': 'istiod (defaults)',
};

/**
 * Configurations shown in the tables but left out of the ratios, and measured at the smallest client count
 * only: a ratio against them measures the configuration (the SnapshotCache re-sends every assignment;
 * istiod's default admission limit paces the storm at 25 new streams per second by design).
 */
export const REFERENCE_ONLY: ReadonlySet<ServerName> = new Set<ServerName>([
  'go-control-plane-snapshot',
  'istiod-default',
]);

export const isGoControlPlane = (server: ServerName): boolean =>
  server === 'go-control-plane' || server === 'go-control-plane-snapshot';

export interface ServerUnderTest {
  readonly name: ServerName;
  /** The process whose CPU and memory are measured. */
  readonly pid: number;
  readonly xdsAddress: string;
  /** Node of measured client `index` of `group`; clients are spread over the mesh clusters. */
  node(group: string, index: number): BenchNode;
  /**
   * Node of a gRPC-like (proxyless) client whose channels target `targets` (`<host>:<port>`), or
   * undefined when the server has no notion of proxyless clients.
   */
  grpcNode?(group: string, index: number, targets: string[]): BenchNode;
  /**
   * Node of a workload sidecar on an mTLS mesh: a pod of its own (`distinct`) or one sharing its cluster's
   * first pod's metadata. Undefined when the server has no per-pod node inputs (INSTANCE_IP, INBOUND_PORT).
   */
  mtlsPodNode?(group: string, index: number, distinct: boolean): BenchNode;
  /**
   * Node of a sidecar of a scoped workload (scopedWorkloadOf) on a mesh whose services declare what they call
   * (the scoped workload): its configuration holds only those services. Undefined when not implemented.
   */
  scopedNode?(group: string, index: number): BenchNode;
  /** One client per client view, connected before the measured ones so views already exist. */
  anchorNodes(): BenchNode[];
  /** The same for the mTLS workload sidecars (the shared pods' views). */
  mtlsAnchorNodes?(): BenchNode[];
  /** EDS resource that changes when an endpoint of `service` changes. */
  edsNameOf(service: number): string;
  /**
   * The runtime's own figure for its live heap, in bytes, after a full collection it is asked to run
   * (Node: heapUsed + external, which holds Buffers; Go: HeapAlloc). Read after RSS, so the collection
   * does not change the RSS figure. Undefined when the server has no way to tell.
   */
  heapBytes?(): Promise<number>;
  /** How long N clients may take to sync when the server admits new streams slowly (default: the harness's own). */
  syncTimeoutMs?(clients: number): number;
  /** Hands the server a mesh where `notReady` endpoints are not ready; returns hrtime just before. */
  apply(notReady: NotReady): Promise<bigint>;
  stop(): Promise<void>;
}

export interface ServerFactory {
  readonly name: ServerName;
  /** Why this server cannot run here, or undefined when it can. */
  unavailable(): string | undefined;
  start(size: MeshSize, workDir: string): Promise<ServerUnderTest>;
}

/** Why `server` does not run clients of `kind` in this harness, or undefined when it does. */
export function unsupportedKind(server: ServerName, kind: ClientKind): string | undefined {
  // The peer serves only what an Envoy's wildcard requests get (no `<host>:<port>` API listeners).
  if (kind === 'grpc' && isGoControlPlane(server)) return 'the peer has no proxyless API listeners';
  // INSTANCE_IP, INBOUND_PORT and TLS_DIR are Spillway's node inputs; the peers here take none of them.
  if (isMtlsKind(kind) && server !== 'spillway')
    return 'the peer does not implement the per-pod node inputs (INSTANCE_IP, INBOUND_PORT, TLS_DIR)';
  if (kind === 'scoped' && server === 'go-control-plane-snapshot')
    return 'a reference configuration, run on the full mesh only';
  return undefined;
}
