// The xDS control plane: mesh store -> translation -> snapshot cache -> xDS server, with load reporting
// (LRS) on the same port and the failover tracker over both. It owns the rebuild loop; discovery sources
// feed the store and the admin server reads what the accessors below give (src/composition-root.ts
// wires them). Nothing flows backwards.
import type { Logger } from 'pino';
import { MeshStore } from '../mesh/store';
import { SnapshotCache, ViewKey } from '../xds/cache/snapshot-cache';
import { Snapshot } from '../xds/cache/snapshot';
import { ScopeOptions, makeViewResolver, rescopedViewKey } from '../xds/translate/client-view';
import { viewSteps } from '../xds/translate/translator';
import { PUSH_ORDER } from '../xds/resource-types';
import { ServiceParts } from '../xds/translate/service-parts';
import { Steps, TimeSlicer, runToEnd } from '../xds/steps';
import { ViewTranslation } from '../xds/translate/sidecar-translator';
import { ResourceCollector } from '../xds/translate/resource-collector';
import { EncodeMemo } from '../xds/cache/encode-memo';
import { LoadReportStore } from '../lrs/load-report-store';
import { LoadReportingService, LrsStats } from '../lrs/lrs-server';
import { DEFAULT_LRS_LIMITS, LrsLimits } from '../lrs/lrs-limits';
import { XdsReportingClients } from './xds-reporting-clients';
import { FailoverTracker } from '../visibility/failover-tracker';
import { DEFAULT_MAX_OBSERVED_CALLS, ObservedCalls } from '../visibility/observed-calls';
import { declaringWorkloads } from '../xds/translate/workload-identity';
import { ModelOverlay } from '../predict/model-overlay';
import { FailbackRamp } from '../predict/failback-ramp';
import { MeshModel } from '../mesh/model';
import { TranslationIssue } from '../xds/translate/translation-issues';
import { XdsServer, XdsServerOptions } from '../xds/server/xds-server';
import { ViewResolver } from '../xds/node/view-resolution';

const FAILOVER_EVALUATION_INTERVAL_MS = 1_000;
/** How long a rebuild may hold the event loop before it yields (health checks must answer within ~1 s). */
export const DEFAULT_REBUILD_SLICE_MS = 50;
const SLOW_REBUILD_MS = 2_000;

export interface ControlPlaneOptions {
  store: MeshStore;
  logger: Logger;
  /** host:port for xDS; port 0 picks a free port. */
  xdsAddress: string;
  /** Replace the snapshot builder (tests that serve hand-made resources). */
  buildSnapshot?: (view: ViewKey) => Snapshot;
  /** How long a rebuild holds the event loop before yielding (default DEFAULT_REBUILD_SLICE_MS). */
  rebuildSliceMs?: number;
  resolveView?: ViewResolver;
  /** TLS, client identity and abuse limits of the xDS server. */
  serverOptions?: Pick<XdsServerOptions, 'tls' | 'identity' | 'maxRequestBytes' | 'maxStreamsPerConnection' | 'maxRequestsPerSecond' | 'requestBurst' | 'sendBudgetBytes' | 'clientLimits'>;
  /** Bounds of load reports and of what is kept of them (`serve --lrs-*`). */
  lrsLimits?: LrsLimits;
  /** What sidecars whose workload declares no calls get (`serve --scope`). */
  scope?: ScopeOptions;
  /** (workload, callee) pairs learned from load reports and kept for scope suggestions (`serve --scope-max-observed-calls`). */
  maxObservedCalls?: number;
}

/** What others may do with the served snapshots: read them and watch views, never rebuild or replace. */
export type SnapshotReader = Pick<SnapshotCache, 'snapshot' | 'ready' | 'watch' | 'viewKeys'>;

/** Counters of the rebuild loop since start (spillway_rebuilds and friends). */
export interface RebuildStats {
  rebuilds: number;
  lastRebuildMs: number;
  servicesTranslated: number;
  servicesReused: number;
}

export class ControlPlane {
  /** The gRPC server (xDS and LRS): its client registry and name budget are what the admin shows. */
  readonly server: XdsServer;
  /** Failures laid over the model for a bounded time (drills); in memory only, so a restart ends them. */
  readonly overlay = new ModelOverlay();
  /** Where load reports land (LRS); read by the failover view, what-if, drills and metrics. */
  readonly loads: LoadReportStore;
  /** Which services each workload was seen calling (scope suggestions; never changes what proxies get). */
  readonly observedCalls: ObservedCalls;
  readonly tracker: FailoverTracker;

  private readonly snapshots: SnapshotCache;
  private readonly lrs: LoadReportingService;
  /** Latest translation issues per view, for logs and debug endpoints. */
  private readonly issues = new Map<string, TranslationIssue[]>();
  private readonly stats: RebuildStats = { rebuilds: 0, lastRebuildMs: 0, servicesTranslated: 0, servicesReused: 0 };
  /** Shared by all views: a resource identical in many views is encoded once. */
  private readonly memo = new EncodeMemo();
  /** Shared by all views and rebuilds: a service is translated again only when what it is built from changed. */
  private readonly parts = new ServiceParts();
  /** Clusters taking their traffic back over their services' slowStartWindowMs (failback-ramp.ts). */
  private readonly ramp = new FailbackRamp();
  private readonly sliceMs: number;
  private xdsPort = 0;
  private rebuilding?: Promise<void>;
  private rebuildRequested = false;
  private pendingChangeSeenAtMs?: number;
  private stopped = false;
  private unsubscribe?: () => void;
  private unsubscribeOverlay?: () => void;
  private unsubscribeRamp?: () => void;
  private trackerTimer?: NodeJS.Timeout;
  /** Which workloads declare calls, as last seen: sidecars connected before a change move to their new view. */
  private declaring = '';

  constructor(private readonly options: ControlPlaneOptions) {
    this.sliceMs = options.rebuildSliceMs ?? DEFAULT_REBUILD_SLICE_MS;
    const log = options.logger;
    this.snapshots = new SnapshotCache(
      options.buildSnapshot ?? ((view) => runToEnd(this.buildSteps(view))),
      // A new view is built a slice at a time too: the first proxy of a new kind on a big mesh must not
      // stall health checks and every other client for the seconds its translation takes.
      async (view) => {
        const snapshot = await new TimeSlicer(this.sliceMs).run(this.buildSteps(view));
        // run() gives undefined only to a caller that can abandon it; this one cannot.
        if (!snapshot) throw new Error(`the build of view ${view} ended without a snapshot`);
        return snapshot;
      },
    );
    this.server = new XdsServer({
      watcher: this.snapshots,
      resolveView: options.resolveView ?? makeViewResolver(() => options.store.current(), options.scope),
      rescopeView: (view, workload, stream) => rescopedViewKey(view, workload, options.store.current(), stream, options.scope),
      logger: log.child({ component: 'xds' }),
      ...options.serverOptions,
    });
    const lrsLimits = options.lrsLimits ?? DEFAULT_LRS_LIMITS;
    this.loads = new LoadReportStore(lrsLimits.maxSeries);
    // LRS sees the xDS side only through this read-only lookup: who is connected, and what it was sent.
    const clients = new XdsReportingClients({ registry: this.server.registry, snapshot: (view) => this.snapshots.ready(view), model: () => this.servedModel() });
    this.observedCalls = new ObservedCalls(options.maxObservedCalls ?? DEFAULT_MAX_OBSERVED_CALLS, (host) => options.store.current().services.has(host));
    this.lrs = new LoadReportingService({
      store: this.loads,
      clients,
      logger: log.child({ component: 'lrs' }),
      limits: lrsLimits,
      identity: options.serverOptions?.identity,
      onCounted: (workload, samples) => this.observedCalls.record(workload, samples),
    });
    this.server.addService(this.lrs.definition(), this.lrs.handlers());
    this.tracker = new FailoverTracker(() => this.servedModel(), this.loads, log.child({ component: 'failover' }));
  }

  /** The snapshots served per view, read-only (debug endpoints, tests). */
  get cache(): SnapshotReader {
    return this.snapshots;
  }

  /** Latest translation issues per view, by the view key's text (/debug/issues). */
  translationIssues(): ReadonlyMap<string, readonly TranslationIssue[]> {
    return this.issues;
  }

  /** A copy of the rebuild counters. */
  rebuildStats(): Readonly<RebuildStats> {
    return { ...this.stats };
  }

  /** Services translated and reused since start, by rebuilds and first builds of new views alike. */
  serviceTranslations(): { translated: number; reused: number } {
    return { translated: this.parts.misses, reused: this.parts.hits };
  }

  /** Refused load reports and dropped loads, by reason (live counters, for metrics). */
  get lrsStats(): Readonly<LrsStats> {
    return this.lrs.stats;
  }

  private rescopeIfDeclarationsChanged(model: MeshModel): void {
    const next = declaringWorkloads(model);
    if (next === this.declaring) return;
    this.declaring = next;
    this.server.rescopeStreams();
  }

  /** The model the views are built from: the store's, with any drill's failures laid over it. */
  servedModel(): MeshModel {
    return this.ramp.apply(this.overlay.apply(this.options.store.current()));
  }

  async start(): Promise<number> {
    this.xdsPort = await this.server.listen(this.options.xdsAddress);
    this.declaring = declaringWorkloads(this.options.store.current());
    this.unsubscribe = this.options.store.onChange((model, changeSeenAtMs) => {
      this.rescopeIfDeclarationsChanged(model);
      void this.rebuild(changeSeenAtMs);
    });
    this.unsubscribeOverlay = this.overlay.onChange(() => void this.rebuild());
    this.unsubscribeRamp = this.ramp.onChange(() => void this.rebuild());
    // Evaluated on a timer too, so failover transitions are logged when they happen, not when looked at.
    this.trackerTimer = setInterval(() => this.tracker.evaluate(), FAILOVER_EVALUATION_INTERVAL_MS);
    this.trackerTimer.unref();
    this.options.logger.info({ xds: this.options.xdsAddress.replace(/:0$/, `:${this.xdsPort}`) }, 'xDS server listening');
    return this.xdsPort;
  }

  /**
   * Rebuilds every watched view from the current model, a slice of the event loop at a time (health
   * checks, admin and pushes keep flowing while a big mesh is translated). Each service is translated
   * again only when its content, the mesh's clusters or the view's scope changed (service-parts.ts). A
   * change that arrives mid-way restarts the pass on the newest model; what was already translated is kept.
   * A small mesh finishes before the first yield, so callers see the new snapshots at once.
   */
  rebuild(changeSeenAtMs = Date.now()): Promise<void> {
    this.pendingChangeSeenAtMs = Math.min(this.pendingChangeSeenAtMs ?? changeSeenAtMs, changeSeenAtMs);
    this.rebuildRequested = true;
    this.rebuilding ??= this.runRebuilds().finally(() => {
      this.rebuilding = undefined;
    });
    return this.rebuilding;
  }

  private async runRebuilds(): Promise<void> {
    while (this.rebuildRequested && !this.stopped) {
      this.rebuildRequested = false;
      const changeSeenAtMs = this.pendingChangeSeenAtMs ?? Date.now();
      const started = performance.now();
      const slicer = new TimeSlicer(this.sliceMs);
      const before = { translated: this.parts.misses, reused: this.parts.hits };
      const result = await this.snapshots.rebuildAllSliced((view) => this.buildSteps(view), slicer, changeSeenAtMs, () => this.rebuildRequested || this.stopped);
      if (!result.completed) continue; // a newer model arrived: start over with it (parts done so far are kept)
      this.pendingChangeSeenAtMs = undefined;
      this.parts.endPass();
      this.memo.nextGeneration();
      const elapsedMs = performance.now() - started;
      this.stats.rebuilds++;
      this.stats.lastRebuildMs = elapsedMs;
      this.stats.servicesTranslated += this.parts.misses - before.translated;
      this.stats.servicesReused += this.parts.hits - before.reused;
      this.options.logger.debug(
        { views: this.snapshots.viewKeys().length, changedViews: result.changedViews, elapsedMs, yields: slicer.yields, translated: this.parts.misses - before.translated },
        'views rebuilt',
      );
      if (elapsedMs > SLOW_REBUILD_MS) {
        this.options.logger.info({ views: this.snapshots.viewKeys().length, elapsedMs: Math.round(elapsedMs), yields: slicer.yields }, 'a slow rebuild finished (big mesh or many views); the event loop kept serving meanwhile');
      }
    }
  }

  async stop(graceMs = 1_000): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribeOverlay?.();
    this.unsubscribeRamp?.();
    this.ramp.close();
    clearInterval(this.trackerTimer);
    this.options.store.close();
    await this.server.stop(graceMs);
  }

  /** A view's snapshot as steps (one per service), from the current model. */
  private *buildSteps(view: ViewKey): Steps<Snapshot> {
    if (this.options.buildSnapshot) return this.options.buildSnapshot(view);
    const collector = new ResourceCollector((...args) => this.memo.encode(...args));
    const translation = yield* viewSteps(this.servedModel(), view, collector, this.parts);
    yield;
    const snapshot = this.snapshotOf(view, translation);
    // Versions hash every resource of a type: one type per step, so a big view never holds the loop long.
    for (const typeUrl of PUSH_ORDER) {
      yield;
      snapshot.typeVersion(typeUrl);
    }
    return snapshot;
  }

  private snapshotOf(view: ViewKey, translation: ViewTranslation): Snapshot {
    const previous = this.issues.get(view.id) ?? [];
    if (translation.issues.length > 0 && JSON.stringify(previous) !== JSON.stringify(translation.issues)) {
      for (const issue of translation.issues) this.options.logger.error({ view, service: issue.service, error: issue.message }, 'service skipped: translation failed');
    }
    this.issues.set(view.id, translation.issues);
    return new Snapshot(translation.resources);
  }
}
