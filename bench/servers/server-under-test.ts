// What the harness needs from each xDS server it measures, whatever it is built on.
import { BenchNode } from '../load/protocol';
import { MeshSize, NotReady } from '../mesh/generate-mesh';

export type ServerName = 'spillway' | 'go-control-plane' | 'istiod';

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
  /** One client per client view, connected before the measured ones so views already exist. */
  anchorNodes(): BenchNode[];
  /** EDS resource that changes when an endpoint of `service` changes. */
  edsNameOf(service: number): string;
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
