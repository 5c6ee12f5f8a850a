// Prometheus metrics, all under `spillway_`. Counters and histograms follow registry events; gauges are
// computed when scraped from the state they describe, so they can never drift from it.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ClientRegistry } from '../xds/server/client-registry';
import { LoadReportStore } from '../lrs/load-report-store';
import { LrsStats } from '../lrs/lrs-server';
import { FailoverState, FailoverTracker } from './failover-tracker';
import type { DrillTotals } from '../drill/drill-manager';

export interface SourceStatus {
  name: string;
  reloads: number;
  rejected: number;
  /** When the source last had a good, current view of what it watches. */
  lastGoodAtMs?: number;
}

export interface MetricsSources {
  registry: ClientRegistry;
  tracker: FailoverTracker;
  loads: LoadReportStore;
  /** Refused load reports and dropped loads, by reason. */
  lrs: LrsStats;
  sources: () => SourceStatus[];
  rebuilds: () => { rebuilds: number; lastRebuildMs: number; servicesTranslated: number; servicesReused: number };
  /** Drills since start (`spillway drill`). */
  drills?: () => DrillTotals;
}

const LATENCY_BUCKETS_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const FAILOVER_STATES: FailoverState[] = ['local', 'partial', 'spilled', 'unavailable', 'remote'];

export class SpillwayMetrics {
  readonly registry = new Registry();

  constructor(sources: MetricsSources) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'spillway_process_' });

    new Gauge({
      name: 'spillway_xds_clients',
      help: 'Connected xDS streams by mesh cluster, role and protocol mode',
      labelNames: ['cluster', 'role', 'mode'],
      registers: [r],
      collect() {
        this.reset();
        for (const client of sources.registry.list())
          this.inc({ cluster: client.clusterId, role: client.role, mode: client.mode });
      },
    });
    new Gauge({
      name: 'spillway_xds_client_types',
      help: 'Connected clients by subscribed type',
      labelNames: ['type'],
      registers: [r],
      collect() {
        this.reset();
        for (const client of sources.registry.list()) for (const type of Object.keys(client.types)) this.inc({ type });
      },
    });
    const responses = new Counter({
      name: 'spillway_xds_responses_total',
      help: 'Discovery responses sent',
      labelNames: ['type'],
      registers: [r],
    });
    const acks = new Counter({
      name: 'spillway_xds_acks_total',
      help: 'ACKs received',
      labelNames: ['type'],
      registers: [r],
    });
    const nacks = new Counter({
      name: 'spillway_xds_nacks_total',
      help: 'NACKs received (config rejected by a client)',
      labelNames: ['type', 'cluster'],
      registers: [r],
    });
    const pushLatency = new Histogram({
      name: 'spillway_xds_push_latency_seconds',
      help: 'From a change first seen by a source to the response that carries it being sent',
      labelNames: ['type'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [r],
    });
    const ackLatency = new Histogram({
      name: 'spillway_xds_ack_latency_seconds',
      help: 'From a response sent to its ACK',
      labelNames: ['type'],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [r],
    });
    new Gauge({
      name: 'spillway_xds_rejected_streams',
      help: 'Streams refused (no node, unknown CLUSTER_ID, ...) since start',
      registers: [r],
      collect() {
        this.set(sources.registry.totals.rejectedStreams);
      },
    });
    sources.registry.onEvent((event) => {
      if (event.kind === 'sent') {
        responses.inc({ type: event.type });
        if (event.changeSeenAtMs !== undefined)
          pushLatency.observe({ type: event.type }, Math.max(0, event.atMs - event.changeSeenAtMs) / 1000);
      } else if (event.kind === 'ack') {
        acks.inc({ type: event.type });
        if (event.sentAtMs !== undefined)
          ackLatency.observe({ type: event.type }, Math.max(0, event.atMs - event.sentAtMs) / 1000);
      } else {
        nacks.inc({ type: event.type, cluster: event.client.clusterId });
      }
    });

    new Gauge({
      name: 'spillway_mesh_reloads',
      help: 'Accepted reloads per source since start',
      labelNames: ['source'],
      registers: [r],
      collect() {
        this.reset();
        for (const source of sources.sources()) this.set({ source: source.name }, source.reloads);
      },
    });
    new Gauge({
      name: 'spillway_mesh_rejected',
      help: 'Rejected (invalid) inputs per source since start; the last good mesh kept being served',
      labelNames: ['source'],
      registers: [r],
      collect() {
        this.reset();
        for (const source of sources.sources()) this.set({ source: source.name }, source.rejected);
      },
    });
    new Gauge({
      name: 'spillway_source_staleness_seconds',
      help: 'Seconds since each source last had a good, current view',
      labelNames: ['source'],
      registers: [r],
      collect() {
        this.reset();
        const now = Date.now();
        for (const source of sources.sources())
          if (source.lastGoodAtMs !== undefined) this.set({ source: source.name }, (now - source.lastGoodAtMs) / 1000);
      },
    });
    new Gauge({
      name: 'spillway_rebuilds',
      help: 'Completed rebuilds of every live view since start',
      registers: [r],
      collect() {
        this.set(sources.rebuilds().rebuilds);
      },
    });
    new Gauge({
      name: 'spillway_rebuild_services',
      help: 'Per-service translations since start: translated (its content, the clusters or the view scope changed) or reused',
      labelNames: ['outcome'],
      registers: [r],
      collect() {
        this.reset();
        const stats = sources.rebuilds();
        this.set({ outcome: 'translated' }, stats.servicesTranslated);
        this.set({ outcome: 'reused' }, stats.servicesReused);
      },
    });
    new Gauge({
      name: 'spillway_rebuild_last_seconds',
      help: 'How long the last completed rebuild took (wall time, spread over event-loop slices)',
      registers: [r],
      collect() {
        this.set(sources.rebuilds().lastRebuildMs / 1000);
      },
    });

    new Gauge({
      name: 'spillway_failover_state',
      help: 'Failover state per (client cluster, service, port, subset): 1 for the current state',
      labelNames: ['client_cluster', 'service', 'port', 'subset', 'state'],
      registers: [r],
      collect() {
        this.reset();
        for (const entry of sources.tracker.entries()) {
          for (const state of FAILOVER_STATES) {
            this.set(
              {
                client_cluster: entry.clientCluster,
                service: entry.service,
                port: String(entry.port),
                subset: entry.subset,
                state,
              },
              entry.state === state ? 1 : 0,
            );
          }
        }
      },
    });
    new Gauge({
      name: 'spillway_failover_remote_share',
      help: 'Measured share of requests served by other clusters (load reports, last window)',
      labelNames: ['client_cluster', 'service', 'port', 'subset'],
      registers: [r],
      collect() {
        this.reset();
        for (const entry of sources.tracker.entries()) {
          if (!entry.measured) continue;
          const remote = 1 - (entry.measured.shares[entry.clientCluster] ?? 0);
          this.set(
            {
              client_cluster: entry.clientCluster,
              service: entry.service,
              port: String(entry.port),
              subset: entry.subset,
            },
            remote,
          );
        }
      },
    });
    new Gauge({
      name: 'spillway_lrs_requests',
      help: 'Requests reported by clients through load reporting since start',
      registers: [r],
      collect() {
        this.set(sources.loads.totals.requests);
      },
    });
    new Gauge({
      name: 'spillway_lrs_refused_reports',
      help: 'Load reports refused since start, by reason (the stream was ended with an error status)',
      labelNames: ['reason'],
      registers: [r],
      collect() {
        for (const [reason, count] of Object.entries(sources.lrs.refused)) this.set({ reason }, count);
      },
    });
    new Gauge({
      name: 'spillway_lrs_dropped_loads',
      help: 'Loads (one cluster to one locality) from accepted reports not counted since start, by reason',
      labelNames: ['reason'],
      registers: [r],
      collect() {
        for (const [reason, count] of Object.entries(sources.lrs.dropped)) this.set({ reason }, count);
      },
    });
    new Gauge({
      name: 'spillway_lrs_series',
      help: 'Load series (client cluster, Envoy cluster, target cluster) held for the window; capped by --lrs-max-series',
      registers: [r],
      collect() {
        this.set(sources.loads.series);
      },
    });
    if (sources.drills) this.drillMetrics(sources.drills);
  }

  private drillMetrics(drills: () => DrillTotals): void {
    const r = this.registry;
    new Gauge({
      name: 'spillway_drill_active',
      help: '1 while a drill runs (the served views treat its failure as real), else 0',
      registers: [r],
      collect() {
        this.set(drills().active ? 1 : 0);
      },
    });
    new Gauge({
      name: 'spillway_drills_ended',
      help: 'Drills ended since start, by what ended them (deadline or stop)',
      labelNames: ['by'],
      registers: [r],
      collect() {
        for (const [by, count] of Object.entries(drills().endedBy)) this.set({ by }, count);
      },
    });
    new Gauge({
      name: 'spillway_drill_requests',
      help: 'Requests to drilled services that load reports counted during drills since start, by outcome (failed: what a drill cost callers)',
      labelNames: ['outcome'],
      registers: [r],
      collect() {
        const totals = drills();
        this.set({ outcome: 'ok' }, totals.requests - totals.failedRequests);
        this.set({ outcome: 'failed' }, totals.failedRequests);
      },
    });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
