// The gRPC front of the xDS server: binds the port and hands every stream to a SotW or delta stream
// object. All protocol work lives in those siblings.
import * as grpc from '@grpc/grpc-js';
import * as net from 'net';
import type { Logger } from 'pino';
import { ConfigWatcher } from '../cache/snapshot-cache';
import { ClientRegistry } from './client-registry';
import { ViewRescoper, ViewResolver } from '../node/view-resolution';
import { DeltaStream } from './delta-stream';
import { NonceSource } from './nonce';
import { DISCOVERY_SERVICES } from './services';
import { SotwStream } from './sotw-stream';
import { StreamContext } from './stream-context';
import { ResponseEncoder } from './response-encoder';
import { SotwDifferences } from './sotw-differences';
import { DeltaDifferences } from './delta-differences';
import { EmptyResources } from './empty-resources';
import { RescopableStreams } from './view-watch';
import { DeltaRequest, SotwRequest } from './wire';
import { IdentityPolicy } from '../node/client-identity';
import { DEFAULT_SEND_BUDGET_BYTES, SendBudget } from './send-budget';
import { parseHostPort } from '../../net/host-port';
import { ClientLimits, clientLimitsWith } from './client-limits';
import { NameSetBudget } from './name-budget';
import { releaseRequestChunksAfterDecoding } from './grpc-request-chunks';

/**
 * Largest request grpc-js buffers for us (it refuses a bigger one from its length prefix, before reading
 * it). A delta reconnect listing 20,000 initial_resource_versions is about 2 MB; an ACK of 20,000 EDS names
 * about 1.5 MB; a load report is bounded lower (--lrs-max-report-bytes).
 */
export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;
export const KEEPALIVE_TIME_MS = 30_000;
export const KEEPALIVE_TIMEOUT_MS = 10_000;
/** Envoy pings every few seconds when told to; allow it rather than answering with GOAWAY. */
export const MIN_CLIENT_PING_INTERVAL_MS = 1_000;

/**
 * Pending connections the kernel queues for us (capped by net.core.somaxconn). grpc-js listens with Node's
 * default of 511; when thousands of proxies reconnect at once (a replica restarted), a short queue turns
 * most of them away with a reset and they come back only after their backoff.
 */
export const LISTEN_BACKLOG = 4_096;

/** Defaults sized for real proxies (a few requests per second at most) with room for reconnect bursts. */
export const DEFAULT_MAX_REQUESTS_PER_SECOND = 50;
export const DEFAULT_REQUEST_BURST = 200;
/** ADS needs one stream (LRS a second); more on one connection is a misbehaving client. */
export const DEFAULT_MAX_STREAMS_PER_CONNECTION = 16;

export interface XdsTlsOptions {
  certChain: Buffer;
  privateKey: Buffer;
  /** Require client certificates issued by this CA (and, with `identity`, naming the claimed cluster). */
  clientCa?: Buffer;
}

export interface XdsServerOptions {
  watcher: ConfigWatcher;
  resolveView: ViewResolver;
  logger: Logger;
  registry?: ClientRegistry;
  tls?: XdsTlsOptions;
  identity?: IdentityPolicy;
  maxRequestBytes?: number;
  maxStreamsPerConnection?: number;
  maxRequestsPerSecond?: number;
  requestBurst?: number;
  /** Response bytes queued for the transport server-wide before streams take turns (default 64 MiB). */
  sendBudgetBytes?: number;
  /** What one client may make the server hold, log or show (defaults: DEFAULT_CLIENT_LIMITS). */
  clientLimits?: Partial<ClientLimits>;
  /** The view a sidecar stream of a workload should have now (see rescopeStreams). */
  rescopeView?: ViewRescoper;
  /** ControlPlane{identifier} in every response, so clients can tell which server answered (default "spillway"). */
  controlPlaneIdentifier?: string;
}

export class XdsServer {
  readonly registry: ClientRegistry;
  /** Distinct subscribed names held server-wide (--xds-max-names-bytes-total). */
  readonly nameBudget: NameSetBudget;
  private readonly server: grpc.Server;
  private readonly context: StreamContext;
  private streamCounter = 0;
  private readonly tls?: XdsTlsOptions;
  private listener?: net.Server;
  private injector?: grpc.ConnectionInjector;

  constructor(options: XdsServerOptions) {
    this.registry = options.registry ?? new ClientRegistry();
    if (!releaseRequestChunksAfterDecoding()) {
      options.logger.warn(
        'grpc-js internals changed: each idle stream keeps its last request in memory (see grpc-request-chunks.ts)',
      );
    }
    const clientLimits = clientLimitsWith(options.clientLimits);
    this.nameBudget = new NameSetBudget(clientLimits.maxNamesBytesTotal);
    const nonces = new NonceSource();
    this.context = {
      watcher: options.watcher,
      resolveView: options.resolveView,
      registry: this.registry,
      logger: options.logger,
      nonces,
      nextStreamId: () => ++this.streamCounter,
      identity: options.identity,
      limits: {
        requestsPerSecond: options.maxRequestsPerSecond ?? DEFAULT_MAX_REQUESTS_PER_SECOND,
        requestBurst: options.requestBurst ?? DEFAULT_REQUEST_BURST,
      },
      clientLimits,
      nameBudget: this.nameBudget,
      sendBudget: new SendBudget(options.sendBudgetBytes ?? DEFAULT_SEND_BUDGET_BYTES),
      responses: new ResponseEncoder(nonces.processPrefix, options.controlPlaneIdentifier),
      sotwDifferences: new SotwDifferences(),
      deltaDifferences: new DeltaDifferences(),
      emptyResources: new EmptyResources(),
      rescopeView: options.rescopeView,
      rescopable: new RescopableStreams(),
    };
    this.tls = options.tls;
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
      'grpc.max_concurrent_streams': options.maxStreamsPerConnection ?? DEFAULT_MAX_STREAMS_PER_CONNECTION,
      'grpc.max_send_message_length': -1,
      'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
      'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': MIN_CLIENT_PING_INTERVAL_MS,
      'grpc.http2.max_ping_strikes': 0,
    });
    for (const spec of DISCOVERY_SERVICES) {
      const service = spec.service;
      this.server.addService(spec.definition, {
        [spec.sotwMethod]: (call: grpc.ServerDuplexStream<SotwRequest, Buffer>) => {
          new SotwStream(call, this.context, 'sotw', service, spec.types);
        },
        [spec.deltaMethod]: (call: grpc.ServerDuplexStream<DeltaRequest, Buffer>) => {
          new DeltaStream(call, this.context, 'delta', service, spec.types);
        },
      });
    }
  }

  /** Which workloads declare calls changed: streams of sidecars that name a workload move to the view they would get now. */
  rescopeStreams(): void {
    this.context.rescopable.rescopeAll();
  }

  /** Adds a sibling gRPC service (e.g. load reporting) on the same port; call before listen(). */
  addService(definition: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation): void {
    this.server.addService(definition, handlers);
  }

  /**
   * Binds host:port (port 0 picks a free one) and returns the bound port. The socket is our own (with a
   * deep accept backlog); every accepted connection is handed to grpc-js, which does TLS and HTTP/2.
   */
  listen(address: string): Promise<number> {
    const hostPort = parseHostPort(address);
    if (!hostPort) return Promise.reject(new Error(`cannot listen for xDS on "${address}": not HOST:PORT`));
    const credentials = this.tls
      ? grpc.ServerCredentials.createSsl(
          this.tls.clientCa ?? null,
          [{ cert_chain: this.tls.certChain, private_key: this.tls.privateKey }],
          this.tls.clientCa !== undefined,
        )
      : grpc.ServerCredentials.createInsecure();
    const injector = this.server.createConnectionInjector(credentials);
    const listener = net.createServer((socket) => injector.injectConnection(socket));
    return new Promise((resolve, reject) => {
      listener.once('error', (error) => {
        injector.destroy();
        reject(
          new Error(
            `cannot listen for xDS on ${address}: ${error.message} (is another server using the port? pick one with --xds)`,
          ),
        );
      });
      listener.listen({ host: hostPort.host, port: hostPort.port, backlog: LISTEN_BACKLOG }, () => {
        this.listener = listener;
        this.injector = injector;
        resolve((listener.address() as net.AddressInfo).port);
      });
    });
  }

  /** Stops accepting streams; open streams get `graceMs` to finish, then are cut. */
  stop(graceMs = 1_000): Promise<void> {
    this.listener?.close();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.injector?.destroy();
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Cuts every stream at once (clients reconnect elsewhere). */
  forceStop(): void {
    this.listener?.close();
    this.injector?.destroy();
    this.server.forceShutdown();
  }
}
