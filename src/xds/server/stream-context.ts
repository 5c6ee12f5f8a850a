// What a server hands each of its streams: the parts shared server-wide (cache watcher, registry, budgets,
// response encoding) and the settings every stream applies. The server owns all of it.
import type { Logger } from 'pino';
import { ConfigWatcher } from '../cache/snapshot-cache';
import { IdentityPolicy } from '../node/client-identity';
import { ViewRescoper, ViewResolver } from '../node/view-resolution';
import { ClientLimits } from './client-limits';
import { ClientRegistry } from './client-registry';
import { NameSetBudget } from './name-budget';
import { NonceSource } from './nonce';
import { ResponseEncoder } from './response-encoder';
import { SendBudget } from './send-budget';
import { SotwDifferences } from './sotw-differences';
import { DeltaDifferences } from './delta-differences';
import { EmptyResources } from './empty-resources';
import { RescopableStreams } from './view-watch';

export interface StreamLimits {
  requestsPerSecond: number;
  requestBurst: number;
}

export interface StreamContext {
  readonly watcher: ConfigWatcher;
  readonly resolveView: ViewResolver;
  readonly registry: ClientRegistry;
  readonly logger: Logger;
  readonly nonces: NonceSource;
  readonly nextStreamId: () => number;
  /** When set, a client's certificate must name the cluster it claims. */
  readonly identity?: IdentityPolicy;
  readonly limits: StreamLimits;
  /** What one client may make the server hold, log or show. */
  readonly clientLimits: ClientLimits;
  /** Shared by all streams of the server: bounds the distinct subscribed names held. */
  readonly nameBudget: NameSetBudget;
  /** Shared by all streams of the server: bounds response bytes queued for the transport. */
  readonly sendBudget: SendBudget;
  /** Encodes responses, sharing SotW ones between the streams that send exactly the same. */
  readonly responses: ResponseEncoder;
  /** What SotW clients of a view do not hold yet, computed once for all of them. */
  readonly sotwDifferences: SotwDifferences;
  /** What delta clients of a view do not hold yet, computed once for all of them. */
  readonly deltaDifferences: DeltaDifferences;
  /** Answers for names a view lacks, per interned name set. */
  readonly emptyResources: EmptyResources;
  /**
   * The view a stream of a workload should have now (the workload's declared calls may have appeared or
   * gone since it connected); absent: views never change after connecting.
   */
  readonly rescopeView?: ViewRescoper;
  /** Streams whose view may change with the mesh (sidecars that name their workload). */
  readonly rescopable: RescopableStreams;
}
