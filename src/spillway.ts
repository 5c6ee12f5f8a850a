// Wires the pipeline: mesh store -> translation -> snapshot cache -> xDS server. Discovery sources and
// the admin server attach to the store and read the others; nothing flows backwards.
import type { Logger } from 'pino';
import { MeshStore } from './mesh/store';
import { SnapshotCache, ViewKey } from './xds/cache/snapshot-cache';
import { Snapshot } from './xds/cache/snapshot';
import { makeViewResolver } from './xds/translate/client-view';
import { translateView } from './xds/translate/translator';
import { TranslationIssue } from './xds/translate/translation-issues';
import { XdsServer } from './xds/server/xds-server';
import { ViewResolver } from './xds/server/client-view';

export interface SpillwayOptions {
  store: MeshStore;
  logger: Logger;
  /** host:port for xDS; port 0 picks a free port. */
  xdsAddress: string;
  /** Replace the snapshot builder (tests that serve hand-made resources). */
  buildSnapshot?: (view: ViewKey) => Snapshot;
  resolveView?: ViewResolver;
}

export class Spillway {
  readonly cache: SnapshotCache;
  readonly server: XdsServer;
  /** Latest translation issues per view, for logs, metrics and debug endpoints. */
  readonly issues = new Map<ViewKey, TranslationIssue[]>();
  xdsPort = 0;
  private unsubscribe?: () => void;

  constructor(private readonly options: SpillwayOptions) {
    const log = options.logger;
    this.cache = new SnapshotCache(options.buildSnapshot ?? ((view) => this.build(view)));
    this.server = new XdsServer({
      watcher: this.cache,
      resolveView: options.resolveView ?? makeViewResolver(() => options.store.current()),
      logger: log.child({ component: 'xds' }),
    });
  }

  async start(): Promise<number> {
    this.xdsPort = await this.server.listen(this.options.xdsAddress);
    this.unsubscribe = this.options.store.onChange(() => this.rebuild());
    this.options.logger.info({ xds: this.options.xdsAddress.replace(/:0$/, `:${this.xdsPort}`) }, 'xDS server listening');
    return this.xdsPort;
  }

  /** Rebuilds every watched view from the current model (also used by tests after changing resources). */
  rebuild(): void {
    const started = process.hrtime.bigint();
    const changed = this.cache.rebuildAll();
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    this.options.logger.debug({ views: this.cache.viewKeys().length, changedViews: changed, elapsedMs }, 'views rebuilt');
  }

  async stop(graceMs = 1_000): Promise<void> {
    this.unsubscribe?.();
    this.options.store.close();
    await this.server.stop(graceMs);
  }

  private build(view: ViewKey): Snapshot {
    const translation = translateView(this.options.store.current(), view);
    const previous = this.issues.get(view) ?? [];
    if (translation.issues.length > 0 && JSON.stringify(previous) !== JSON.stringify(translation.issues)) {
      for (const issue of translation.issues) this.options.logger.error({ view, service: issue.service, error: issue.message }, 'service skipped: translation failed');
    }
    this.issues.set(view, translation.issues);
    return new Snapshot(translation.resources);
  }
}
