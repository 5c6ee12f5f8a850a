// The Load Reporting Service (envoy.service.load_stats.v3): Envoys and gRPC clients stream their load
// per cluster and locality; Spillway asks for every cluster once a second and keeps a sliding window.
// Reports are bounded (size, entries, rate) before they are read, and count only for what the
// reporting node was actually sent over its own live xDS stream (see attribution.ts).
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { messageType } from '../xds/protos';
import { durationFromMs } from '../xds/duration';
import { RawNode, decodeNode, structToPlain } from '../xds/node/node-decoding';
import { IdentityPolicy, checkClusterIdentity } from '../xds/node/client-identity';
import { TokenBucket } from '../net/token-bucket';
import { LoadReportStore, LoadSample } from './load-report-store';
import { workloadHost } from '../xds/translate/workload-identity';
import { DecodedReport, decodeLoadReport } from './report-decoder';
import { DROP_REASONS, DropReason, attribute } from './attribution';
import { ReportingClients } from './reporting-clients';
import { LrsLimits, REPORTS_PER_SECOND, REPORT_BURST, shortId } from './lrs-limits';
import { ThrottledLog } from '../throttled-log';

export const LOAD_REPORTING_INTERVAL_MS = 1_000;
const SERVICE = 'envoy.service.load_stats.v3.LoadReportingService';

export const REFUSE_REASONS = [
  'too_large',
  'too_many_clusters',
  'too_many_localities',
  'rate',
  'invalid',
  'unknown_cluster',
  'identity',
] as const;
export type RefuseReason = (typeof REFUSE_REASONS)[number];

/** Counters for metrics: reports refused (their stream ended), and loads dropped from accepted reports. */
export interface LrsStats {
  refused: Record<RefuseReason, number>;
  dropped: Record<DropReason, number>;
}

export interface LoadReportingOptions {
  store: LoadReportStore;
  clients: ReportingClients;
  logger: Logger;
  limits: LrsLimits;
  /** With xDS mTLS: the certificate must name the cluster the node claims, as on ADS. */
  identity?: IdentityPolicy;
  /** Told what each report counted, with the workload of the reporting sidecar (scope suggestions). */
  onCounted?: (workload: string | undefined, samples: readonly LoadSample[]) => void;
}

interface Reporter {
  nodeId: string;
  cluster: string;
  /** The workload the node fronts (node metadata SERVICE, or Istio's NAMESPACE and app label). */
  workload?: string;
}

class StreamRefused extends Error {
  constructor(
    readonly reason: RefuseReason,
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

function end(call: grpc.ServerDuplexStream<Buffer, Buffer>, code: grpc.status, details: string): void {
  call.emit('error', { code, details, message: details, name: 'LrsError' } as grpc.ServiceError);
}

function encodeResponse(): Buffer {
  const type = messageType('envoy.service.load_stats.v3.LoadStatsResponse');
  const message = type.fromObject({
    send_all_clusters: true,
    load_reporting_interval: durationFromMs(LOAD_REPORTING_INTERVAL_MS),
  });
  return Buffer.from(type.encode(message).finish());
}

export class LoadReportingService {
  readonly stats: LrsStats = { refused: zeroCounts(REFUSE_REASONS), dropped: zeroCounts(DROP_REASONS) };
  private readonly throttled: ThrottledLog;

  constructor(private readonly options: LoadReportingOptions) {
    this.throttled = new ThrottledLog(options.logger);
  }

  definition(): grpc.ServiceDefinition {
    return {
      StreamLoadStats: {
        path: `/${SERVICE}/StreamLoadStats`,
        requestStream: true,
        responseStream: true,
        // Raw bytes: the size is checked before anything is decoded.
        requestSerialize: (value: Buffer) => value,
        requestDeserialize: (value: Buffer) => value,
        responseSerialize: (value: Buffer) => value,
        responseDeserialize: (value: Buffer) => value,
      },
    };
  }

  handlers(): grpc.UntypedServiceImplementation {
    return { StreamLoadStats: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => this.serve(call) };
  }

  private serve(call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
    // All a stream holds: who reports, and its rate budget. Released with the stream.
    let reporter: Reporter | undefined;
    let ended = false;
    const rate = new TokenBucket(REPORTS_PER_SECOND, REPORT_BURST);
    call.on('data', (bytes: Buffer) => {
      if (ended) return;
      try {
        const report = this.admitReport(bytes, rate);
        if (!reporter) {
          reporter = this.admitReporter(call, report);
          call.write(encodeResponse());
        }
        this.count(reporter, report);
      } catch (error) {
        ended = true;
        const node = reporter ? shortId(reporter.nodeId) : undefined;
        if (error instanceof StreamRefused) {
          this.stats.refused[error.reason]++;
          this.throttled.warn(
            `refused:${error.reason}`,
            { node, reason: error.reason, error: error.message },
            'load reporting stream refused',
          );
          end(call, error.code, error.message);
        } else {
          // A bug, not the client's fault: end this stream only, never the process.
          this.options.logger.error(
            { node, err: error instanceof Error ? error.message : String(error) },
            'load report handling failed: a Spillway bug, please report it with this line',
          );
          end(call, grpc.status.INTERNAL, 'internal error handling the load report; see the spillway log');
        }
      }
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
  }

  /** Size, rate and entry limits, before anything is kept. */
  private admitReport(bytes: Buffer, rate: TokenBucket): DecodedReport {
    const { limits } = this.options;
    if (bytes.length > limits.maxReportBytes) {
      throw new StreamRefused(
        'too_large',
        grpc.status.RESOURCE_EXHAUSTED,
        `load report of ${bytes.length} bytes is over the limit of ${limits.maxReportBytes}: raise --lrs-max-report-bytes`,
      );
    }
    if (!rate.take()) {
      throw new StreamRefused(
        'rate',
        grpc.status.RESOURCE_EXHAUSTED,
        `more than ${REPORTS_PER_SECOND} load reports a second on one stream; Spillway asks for one a second`,
      );
    }
    const decoded = decodeLoadReport(bytes, limits);
    if (!decoded.ok)
      throw new StreamRefused(
        decoded.reason,
        decoded.reason === 'invalid' ? grpc.status.INVALID_ARGUMENT : grpc.status.RESOURCE_EXHAUSTED,
        decoded.message,
      );
    return decoded.report;
  }

  /** The first report names the node: a known mesh cluster, and under mTLS the certificate must match it. */
  private admitReporter(call: grpc.ServerDuplexStream<Buffer, Buffer>, report: DecodedReport): Reporter {
    let node: RawNode | undefined;
    try {
      node = decodeNode(report.node);
    } catch {
      throw new StreamRefused(
        'invalid',
        grpc.status.INVALID_ARGUMENT,
        "the load report's node is not a valid envoy.config.core.v3.Node",
      );
    }
    const nodeId = node?.id ?? '';
    const claimed = structToPlain(node?.metadata).CLUSTER_ID;
    if (typeof claimed !== 'string' || !this.options.clients.isMeshCluster(claimed)) {
      throw new StreamRefused(
        'unknown_cluster',
        grpc.status.FAILED_PRECONDITION,
        `load reports need a node whose metadata CLUSTER_ID names a known cluster (node "${shortId(nodeId)}")`,
      );
    }
    if (this.options.identity) {
      const check = checkClusterIdentity(this.options.identity, call.getAuthContext().sslPeerCertificate, claimed);
      if (!check.ok) throw new StreamRefused('identity', grpc.status.PERMISSION_DENIED, check.message);
    }
    this.options.logger.debug({ node: shortId(nodeId), cluster: claimed }, 'load reporting stream opened');
    const workload = workloadHost({ metadata: structToPlain(node?.metadata) });
    return { nodeId, cluster: claimed, ...(workload ? { workload } : {}) };
  }

  private count(reporter: Reporter, report: DecodedReport): void {
    const attribution = attribute(reporter, report.clusters, this.options.clients);
    const storeFull = this.options.store.record(attribution.samples);
    this.options.onCounted?.(reporter.workload, attribution.samples);
    if (storeFull > 0) attribution.dropped.store_full = storeFull;
    for (const reason of DROP_REASONS) {
      const dropped = attribution.dropped[reason];
      if (!dropped) continue;
      this.stats.dropped[reason] += dropped;
      this.throttled.warn(
        `dropped:${reason}`,
        {
          node: shortId(reporter.nodeId),
          cluster: reporter.cluster,
          reason,
          loads: dropped,
          example: attribution.example,
        },
        DROP_HINTS[reason],
      );
    }
  }
}

const DROP_HINTS: Record<DropReason, string> = {
  no_xds_stream:
    'load report dropped: the node has no live xDS stream for its CLUSTER_ID on this replica (reports count only from proxies this replica serves)',
  cluster_not_sent: 'load report dropped: it names Envoy clusters this node was never sent',
  unknown_locality: 'load report dropped: a locality sub_zone names no mesh cluster',
  store_full: 'load report dropped: the load store is full; raise --lrs-max-series',
};
