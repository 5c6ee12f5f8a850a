// Wires the pipeline: mesh store -> translation -> snapshot cache -> xDS server. Discovery sources and
// the admin server attach to the store and read the others; nothing flows backwards.
import type { Logger } from 'pino';
import { MeshStore } from './mesh/store';
import { SnapshotCache, ViewKey } from './xds/cache/snapshot-cache';
import { Snapshot } from './xds/cache/snapshot';
import { makeViewResolver } from './xds/translate/client-view';
import { translateView } from './xds/translate/translator';
import { ViewTranslation } from './xds/translate/sidecar-translator';
import { ResourceCollector } from './xds/translate/resource-collector';
import { EncodeMemo } from './xds/cache/encode-memo';
import { ENDPOINT_TYPE, XdsTypeUrl } from './xds/resource-types';
import { structureKey } from './mesh/structure';
import { LoadReportStore } from './lrs/load-report-store';
import { LoadReportingService } from './lrs/lrs-server';
import { DEFAULT_LRS_LIMITS, LrsLimits } from './lrs/lrs-limits';
import { XdsReportingClients } from './xds-reporting-clients';
import { FailoverTracker } from './visibility/failover-tracker';

const FAILOVER_EVALUATION_INTERVAL_MS = 1_000;
const ENDPOINTS_ONLY: ReadonlySet<XdsTypeUrl> = new Set([ENDPOINT_TYPE]);
import { TranslationIssue } from './xds/translate/translation-issues';
import { XdsServer, XdsServerOptions } from './xds/server/xds-server';
import { ViewResolver } from './xds/server/client-view';

export interface SpillwayOptions {
  store: MeshStore;
  logger: Logger;
  /** host:port for xDS; port 0 picks a free port. */
  xdsAddress: string;
  /** Replace the snapshot builder (tests that serve hand-made resources). */
  buildSnapshot?: (view: ViewKey) => Snapshot;
  resolveView?: ViewResolver;
  /** TLS, client identity and abuse limits of the xDS server. */
  serverOptions?: Pick<XdsServerOptions, 'tls' | 'identity' | 'maxRequestBytes' | 'maxStreamsPerConnection' | 'maxRequestsPerSecond' | 'requestBurst' | 'sendBudgetBytes'>;
  /** Bounds of load reports and of what is kept of them (`serve --lrs-*`). */
  lrsLimits?: LrsLimits;
}

export class Spillway {
  readonly cache: SnapshotCache;
  readonly server: XdsServer;
  /** Latest translation issues per view, for logs, metrics and debug endpoints. */
  readonly issues = new Map<ViewKey, TranslationIssue[]>();
  xdsPort = 0;
  readonly stats = { rebuilds: 0, endpointOnlyRebuilds: 0, lastRebuildMs: 0 };
  /** Shared by all views: a resource identical in many views is encoded once. */
  readonly memo = new EncodeMemo();
  private lastStructure?: string;
  private unsubscribe?: () => void;

  constructor(private readonly options: SpillwayOptions) {
    const log = options.logger;
    this.cache = new SnapshotCache(options.buildSnapshot ?? ((view) => this.build(view)));
    this.server = new XdsServer({
      watcher: this.cache,
      resolveView: options.resolveView ?? makeViewResolver(() => options.store.current()),
      logger: log.child({ component: 'xds' }),
      ...options.serverOptions,
    });
    const lrsLimits = options.lrsLimits ?? DEFAULT_LRS_LIMITS;
    this.loads = new LoadReportStore(lrsLimits.maxSeries);
    // LRS sees the xDS side only through this read-only lookup: who is connected, and what it was sent.
    const clients = new XdsReportingClients({ registry: this.server.registry, snapshot: (view) => this.cache.ready(view), model: () => options.store.current() });
    this.lrs = new LoadReportingService({ store: this.loads, clients, logger: log.child({ component: 'lrs' }), limits: lrsLimits, identity: options.serverOptions?.identity });
    this.server.addService(this.lrs.definition(), this.lrs.handlers());
    this.tracker = new FailoverTracker(() => options.store.current(), this.loads, log.child({ component: 'failover' }));
  }

  /** Where load reports land (LRS); read by the failover view and metrics. */
  readonly loads: LoadReportStore;
  /** The load reporting service; its counters feed metrics. */
  readonly lrs: LoadReportingService;
  readonly tracker: FailoverTracker;
  private trackerTimer?: NodeJS.Timeout;

  async start(): Promise<number> {
    this.xdsPort = await this.server.listen(this.options.xdsAddress);
    this.unsubscribe = this.options.store.onChange((_model, changeSeenAtMs) => this.rebuild(changeSeenAtMs));
    // Evaluated on a timer too, so failover transitions are logged when they happen, not when looked at.
    this.trackerTimer = setInterval(() => this.tracker.entries(), FAILOVER_EVALUATION_INTERVAL_MS);
    this.trackerTimer.unref();
    this.options.logger.info({ xds: this.options.xdsAddress.replace(/:0$/, `:${this.xdsPort}`) }, 'xDS server listening');
    return this.xdsPort;
  }

  /**
   * Rebuilds every watched view from the current model. When only endpoints changed, only EDS is
   * rebuilt and every other resource of each view is reused as is.
   */
  rebuild(changeSeenAtMs = Date.now()): void {
    const started = process.hrtime.bigint();
    const model = this.options.store.current();
    const structure = structureKey(model);
    const endpointsOnly = !this.options.buildSnapshot && structure === this.lastStructure;
    this.lastStructure = structure;
    this.memo.nextGeneration();
    const changed = endpointsOnly
      ? this.cache.rebuildAll((view, previous) => new Snapshot([...previous.allExcept(ENDPOINT_TYPE), ...this.translate(view, ENDPOINTS_ONLY).resources]), changeSeenAtMs)
      : this.cache.rebuildAll(undefined, changeSeenAtMs);
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    this.stats.rebuilds++;
    if (endpointsOnly) this.stats.endpointOnlyRebuilds++;
    this.stats.lastRebuildMs = elapsedMs;
    this.options.logger.debug({ views: this.cache.viewKeys().length, changedViews: changed, endpointsOnly, elapsedMs }, 'views rebuilt');
  }

  async stop(graceMs = 1_000): Promise<void> {
    this.unsubscribe?.();
    clearInterval(this.trackerTimer);
    this.options.store.close();
    await this.server.stop(graceMs);
  }

  private translate(view: ViewKey, onlyTypes?: ReadonlySet<XdsTypeUrl>): ViewTranslation {
    const collector = new ResourceCollector((...args) => this.memo.encode(...args), onlyTypes);
    return translateView(this.options.store.current(), view, collector);
  }

  private build(view: ViewKey): Snapshot {
    const translation = this.translate(view);
    const previous = this.issues.get(view) ?? [];
    if (translation.issues.length > 0 && JSON.stringify(previous) !== JSON.stringify(translation.issues)) {
      for (const issue of translation.issues) this.options.logger.error({ view, service: issue.service, error: issue.message }, 'service skipped: translation failed');
    }
    this.issues.set(view, translation.issues);
    return new Snapshot(translation.resources);
  }
}
