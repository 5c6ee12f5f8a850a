// The xDS control plane: mesh store -> translation -> snapshot cache -> xDS server, with load reporting
// (LRS) on the same port and the failover tracker over both. It wires those parts and starts and stops
// them together; the views are kept current by view-rebuilds.ts. Discovery sources feed the store and the
// admin server reads what the accessors below give (src/composition-root.ts wires them). Nothing flows
// backwards.
import type { Logger } from 'pino';
import { MeshStore } from '../mesh/store';
import { SnapshotCache, ViewKey } from '../xds/cache/snapshot-cache';
import { Snapshot } from '../xds/cache/snapshot';
import { ScopeOptions, makeViewResolver, rescopedViewKey } from '../xds/translate/client-view';
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
import { RebuildStats, ViewRebuilds } from './view-rebuilds';

const FAILOVER_EVALUATION_INTERVAL_MS = 1_000;

export interface ControlPlaneOptions {
  store: MeshStore;
  logger: Logger;
  /** host:port for xDS; port 0 picks a free port. */
  xdsAddress: string;
  /** Replace the snapshot builder (tests that serve hand-made resources). */
  buildSnapshot?: (view: ViewKey) => Snapshot;
  /** How long a rebuild holds the event loop before yielding (default DEFAULT_REBUILD_SLICE_MS of view-rebuilds.ts). */
  rebuildSliceMs?: number;
  resolveView?: ViewResolver;
  /** TLS, client identity and abuse limits of the xDS server. */
  serverOptions?: Pick<
    XdsServerOptions,
    | 'tls'
    | 'identity'
    | 'maxRequestBytes'
    | 'maxStreamsPerConnection'
    | 'maxRequestsPerSecond'
    | 'requestBurst'
    | 'sendBudgetBytes'
    | 'clientLimits'
  >;
  /** Bounds of load reports and of what is kept of them (`serve --lrs-*`). */
  lrsLimits?: LrsLimits;
  /** What sidecars whose workload declares no calls get (`serve --scope`). */
  scope?: ScopeOptions;
  /** (workload, callee) pairs learned from load reports and kept for scope suggestions (`serve --scope-max-observed-calls`). */
  maxObservedCalls?: number;
}

/** What others may do with the served snapshots: read them and watch views, never rebuild or replace. */
export type SnapshotReader = Pick<SnapshotCache, 'snapshot' | 'ready' | 'watch' | 'viewKeys'>;

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

  private readonly views: ViewRebuilds;
  private readonly lrs: LoadReportingService;
  /** Clusters taking their traffic back over their services' slowStartWindowMs (failback-ramp.ts). */
  private readonly ramp = new FailbackRamp();
  private xdsPort = 0;
  private unsubscribe?: () => void;
  private unsubscribeOverlay?: () => void;
  private unsubscribeRamp?: () => void;
  private trackerTimer?: NodeJS.Timeout;
  /** Which workloads declare calls, as last seen: sidecars connected before a change move to their new view. */
  private declaring = '';

  constructor(private readonly options: ControlPlaneOptions) {
    const log = options.logger;
    this.views = new ViewRebuilds({
      model: () => this.servedModel(),
      logger: log,
      sliceMs: options.rebuildSliceMs,
      buildSnapshot: options.buildSnapshot,
    });
    this.server = new XdsServer({
      watcher: this.views.cache,
      resolveView: options.resolveView ?? makeViewResolver(() => options.store.current(), options.scope),
      rescopeView: (view, workload, stream) =>
        rescopedViewKey(view, workload, options.store.current(), stream, options.scope),
      logger: log.child({ component: 'xds' }),
      ...options.serverOptions,
    });
    const lrsLimits = options.lrsLimits ?? DEFAULT_LRS_LIMITS;
    this.loads = new LoadReportStore(lrsLimits.maxSeries);
    // LRS sees the xDS side only through this read-only lookup: who is connected, and what it was sent.
    const clients = new XdsReportingClients({
      registry: this.server.registry,
      snapshot: (view) => this.views.cache.ready(view),
      model: () => this.servedModel(),
    });
    this.observedCalls = new ObservedCalls(options.maxObservedCalls ?? DEFAULT_MAX_OBSERVED_CALLS, (host) =>
      options.store.current().services.has(host),
    );
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
    return this.views.cache;
  }

  /** Latest translation issues per view, by the view key's text (/debug/issues). */
  translationIssues(): ReadonlyMap<string, readonly TranslationIssue[]> {
    return this.views.translationIssues();
  }

  /** A copy of the rebuild counters. */
  rebuildStats(): Readonly<RebuildStats> {
    return this.views.rebuildStats();
  }

  /** Services translated and reused since start, by rebuilds and first builds of new views alike. */
  serviceTranslations(): { translated: number; reused: number } {
    return this.views.serviceTranslations();
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
    this.options.logger.info(
      { xds: this.options.xdsAddress.replace(/:0$/, `:${this.xdsPort}`) },
      'xDS server listening',
    );
    return this.xdsPort;
  }

  /** Rebuilds every watched view from the current served model (view-rebuilds.ts); resolves when done. */
  rebuild(changeSeenAtMs = Date.now()): Promise<void> {
    return this.views.rebuild(changeSeenAtMs);
  }

  async stop(graceMs = 1_000): Promise<void> {
    this.views.stop();
    this.unsubscribe?.();
    this.unsubscribeOverlay?.();
    this.unsubscribeRamp?.();
    this.ramp.close();
    clearInterval(this.trackerTimer);
    this.options.store.close();
    await this.server.stop(graceMs);
  }
}
