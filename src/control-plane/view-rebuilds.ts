// Keeps every watched view's snapshot current: translates the served model into the snapshot cache, a
// slice of the event loop at a time, coalescing changes that arrive mid-way, and counts what it did.
import type { Logger } from 'pino';
import { MeshModel } from '../mesh/model';
import { EncodeMemo } from '../xds/cache/encode-memo';
import { Snapshot } from '../xds/cache/snapshot';
import { SnapshotCache, ViewKey } from '../xds/cache/snapshot-cache';
import { PUSH_ORDER } from '../xds/resource-types';
import { Steps, TimeSlicer, runToEnd } from '../xds/steps';
import { ResourceCollector } from '../xds/translate/resource-collector';
import { ServiceParts } from '../xds/translate/service-parts';
import { ViewTranslation } from '../xds/translate/sidecar-translator';
import { TranslationIssue } from '../xds/translate/translation-issues';
import { viewSteps } from '../xds/translate/translator';

/** How long a rebuild may hold the event loop before it yields (health checks must answer within ~1 s). */
export const DEFAULT_REBUILD_SLICE_MS = 50;
const SLOW_REBUILD_MS = 2_000;

/** Counters of the rebuild loop since start (spillway_rebuilds and friends). */
export interface RebuildStats {
  rebuilds: number;
  lastRebuildMs: number;
  servicesTranslated: number;
  servicesReused: number;
}

export interface ViewRebuildsOptions {
  /** The model views are built from, read at each build. */
  model: () => MeshModel;
  logger: Logger;
  /** How long a rebuild holds the event loop before yielding (default DEFAULT_REBUILD_SLICE_MS). */
  sliceMs?: number;
  /** Replace the snapshot builder (tests that serve hand-made resources). */
  buildSnapshot?: (view: ViewKey) => Snapshot;
}

export class ViewRebuilds {
  /** The snapshots per watched view: the xDS server's watcher. */
  readonly cache: SnapshotCache;
  /** Latest translation issues per view, by the view key's text. */
  private readonly issues = new Map<string, TranslationIssue[]>();
  private readonly stats: RebuildStats = { rebuilds: 0, lastRebuildMs: 0, servicesTranslated: 0, servicesReused: 0 };
  /** Shared by all views: a resource identical in many views is encoded once. */
  private readonly memo = new EncodeMemo();
  /** Shared by all views and rebuilds: a service is translated again only when what it is built from changed. */
  private readonly parts = new ServiceParts();
  private readonly sliceMs: number;
  private rebuilding?: Promise<void>;
  private rebuildRequested = false;
  private pendingChangeSeenAtMs?: number;
  private stopped = false;

  constructor(private readonly options: ViewRebuildsOptions) {
    this.sliceMs = options.sliceMs ?? DEFAULT_REBUILD_SLICE_MS;
    this.cache = new SnapshotCache(
      options.buildSnapshot ?? ((view) => runToEnd(this.buildSteps(view))),
      // A new view is built a slice at a time too: the first proxy of a new kind on a big mesh must not
      // stall health checks and every other client for the seconds its translation takes.
      async (view) => {
        const snapshot = await new TimeSlicer(this.sliceMs).run(this.buildSteps(view));
        // run() gives undefined only to a caller that can abandon it; this one cannot.
        if (!snapshot) throw new Error(`the build of view ${view.id} ended without a snapshot`);
        return snapshot;
      },
    );
  }

  /** Latest translation issues per view, by the view key's text. */
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

  /** Ends the rebuilds: a pass in progress stops at its next slice. */
  stop(): void {
    this.stopped = true;
  }

  private async runRebuilds(): Promise<void> {
    while (this.rebuildRequested && !this.stopped) {
      this.rebuildRequested = false;
      const changeSeenAtMs = this.pendingChangeSeenAtMs ?? Date.now();
      const started = performance.now();
      const slicer = new TimeSlicer(this.sliceMs);
      const before = { translated: this.parts.misses, reused: this.parts.hits };
      const result = await this.cache.rebuildAllSliced(
        (view) => this.buildSteps(view),
        slicer,
        changeSeenAtMs,
        () => this.rebuildRequested || this.stopped,
      );
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
        {
          views: this.cache.viewKeys().length,
          changedViews: result.changedViews,
          elapsedMs,
          yields: slicer.yields,
          translated: this.parts.misses - before.translated,
        },
        'views rebuilt',
      );
      if (elapsedMs > SLOW_REBUILD_MS) {
        this.options.logger.info(
          { views: this.cache.viewKeys().length, elapsedMs: Math.round(elapsedMs), yields: slicer.yields },
          'a slow rebuild finished (big mesh or many views); the event loop kept serving meanwhile',
        );
      }
    }
  }

  /** A view's snapshot as steps (one per service), from the current model. */
  private *buildSteps(view: ViewKey): Steps<Snapshot> {
    if (this.options.buildSnapshot) return this.options.buildSnapshot(view);
    const collector = new ResourceCollector((...args) => this.memo.encode(...args));
    const translation = yield* viewSteps(this.options.model(), view, collector, this.parts);
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
      for (const issue of translation.issues)
        this.options.logger.error(
          { view, service: issue.service, error: issue.message },
          'service skipped: translation failed',
        );
    }
    this.issues.set(view.id, translation.issues);
    return new Snapshot(translation.resources);
  }
}
