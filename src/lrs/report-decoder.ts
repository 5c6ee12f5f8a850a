// Reads a LoadStatsRequest straight off the wire, keeping only what the failover view uses (cluster
// names, sub_zones and request counts) and enforcing the per-report entry limits while it reads. A full
// protobufjs decode would first build every object of an overfull report (endpoint stats, load
// metrics, ...) and only then let us count them; here skipped fields cost nothing and an overfull
// report is refused at the first entry over the limit.
import * as protobuf from 'protobufjs';
import type { LrsLimits } from './lrs-limits';

export interface LocalityLoad {
  /** The mesh cluster that served the requests: Spillway puts it in the locality's sub_zone. */
  subZone: string;
  requests: number;
  errors: number;
}

export interface ClusterLoad {
  name: string;
  /** Only localities that saw requests. */
  localities: LocalityLoad[];
}

export interface DecodedReport {
  /** The encoded envoy.config.core.v3.Node, decoded only for the first report of a stream. */
  node?: Uint8Array;
  clusters: ClusterLoad[];
}

export type ReportRefusal = 'too_many_clusters' | 'too_many_localities' | 'invalid';
export type DecodeResult = { ok: true; report: DecodedReport } | { ok: false; reason: ReportRefusal; message: string };

const LENGTH_DELIMITED = 2;

class TooMany extends Error {
  constructor(
    readonly reason: Exclude<ReportRefusal, 'invalid'>,
    message: string,
  ) {
    super(message);
  }
}

function toNumber(value: protobuf.Long | number): number {
  return typeof value === 'number' ? value : value.high * 0x1_0000_0000 + (value.low >>> 0);
}

/** Fields 1..n of a sub-message: calls `field` for each tag until the message's end. */
function readMessage(
  reader: protobuf.Reader,
  end: number,
  field: (fieldNumber: number, wireType: number) => void,
): void {
  while (reader.pos < end) {
    const tag = reader.uint32();
    field(tag >>> 3, tag & 7);
  }
  if (reader.pos !== end) throw new Error('a field runs past the end of its message');
}

function readSubZone(reader: protobuf.Reader): string {
  const end = reader.uint32() + reader.pos;
  let subZone = '';
  readMessage(reader, end, (fieldNumber, wireType) => {
    if (fieldNumber === 3 && wireType === LENGTH_DELIMITED) subZone = reader.string();
    else reader.skipType(wireType);
  });
  return subZone;
}

class ReportReader {
  private localities = 0;

  constructor(
    private readonly reader: protobuf.Reader,
    private readonly limits: Pick<LrsLimits, 'maxClustersPerReport' | 'maxLocalitiesPerReport'>,
  ) {}

  read(): DecodedReport {
    const reader = this.reader;
    const report: DecodedReport = { clusters: [] };
    readMessage(reader, reader.len, (fieldNumber, wireType) => {
      if (fieldNumber === 1 && wireType === LENGTH_DELIMITED) {
        report.node = reader.bytes();
      } else if (fieldNumber === 2 && wireType === LENGTH_DELIMITED) {
        if (report.clusters.length >= this.limits.maxClustersPerReport) {
          throw new TooMany(
            'too_many_clusters',
            `load report with more than ${this.limits.maxClustersPerReport} cluster stats: raise --lrs-max-clusters-per-report`,
          );
        }
        report.clusters.push(this.readCluster());
      } else {
        reader.skipType(wireType);
      }
    });
    return report;
  }

  private readCluster(): ClusterLoad {
    const reader = this.reader;
    const end = reader.uint32() + reader.pos;
    const cluster: ClusterLoad = { name: '', localities: [] };
    readMessage(reader, end, (fieldNumber, wireType) => {
      if (fieldNumber === 1 && wireType === LENGTH_DELIMITED) {
        cluster.name = reader.string();
      } else if (fieldNumber === 2 && wireType === LENGTH_DELIMITED) {
        if (++this.localities > this.limits.maxLocalitiesPerReport) {
          throw new TooMany(
            'too_many_localities',
            `load report with more than ${this.limits.maxLocalitiesPerReport} locality stats: raise --lrs-max-localities-per-report`,
          );
        }
        const locality = this.readLocality();
        if (locality.requests > 0) cluster.localities.push(locality);
      } else {
        reader.skipType(wireType);
      }
    });
    return cluster;
  }

  private readLocality(): LocalityLoad {
    const reader = this.reader;
    const end = reader.uint32() + reader.pos;
    let subZone = '';
    let successful = 0;
    let errors = 0;
    readMessage(reader, end, (fieldNumber, wireType) => {
      if (fieldNumber === 1 && wireType === LENGTH_DELIMITED) subZone = readSubZone(reader);
      else if (fieldNumber === 2 && wireType === 0) successful = toNumber(reader.uint64());
      else if (fieldNumber === 4 && wireType === 0) errors = toNumber(reader.uint64());
      else reader.skipType(wireType);
    });
    return { subZone, requests: successful + errors, errors };
  }
}

export function decodeLoadReport(
  bytes: Uint8Array,
  limits: Pick<LrsLimits, 'maxClustersPerReport' | 'maxLocalitiesPerReport'>,
): DecodeResult {
  try {
    return { ok: true, report: new ReportReader(protobuf.Reader.create(bytes), limits).read() };
  } catch (error) {
    if (error instanceof TooMany) return { ok: false, reason: error.reason, message: error.message };
    const why = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      reason: 'invalid',
      message: `load report is not a valid envoy.service.load_stats.v3.LoadStatsRequest (${why.slice(0, 80)})`,
    };
  }
}
