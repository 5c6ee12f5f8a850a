// Holds the current snapshot of every client view that has watchers, and tells them when it changes.
// This is the only thing the server knows about the cache (cf. go-control-plane's ConfigWatcher).
import { Snapshot } from './snapshot';
import { XdsTypeUrl } from '../resource-types';
import { Steps, TimeSlicer } from '../steps';

import { ViewKey } from '../node/view-key';

export { ViewKey };

/** `changeSeenAtMs`: when the change behind this snapshot was first seen (for push latency). */
export type SnapshotListener = (changedTypes: ReadonlySet<XdsTypeUrl>, changeSeenAtMs: number) => void;

export interface ConfigWatcher {
  /** The view's current snapshot, built on first use. */
  snapshot(view: ViewKey): Snapshot;
  /** The view's snapshot once built; undefined while a new view's first snapshot is built in the background. */
  ready(view: ViewKey): Snapshot | undefined;
  /** Calls `listener` after each change of the view's snapshot. Returns the function that cancels the watch. */
  watch(view: ViewKey, listener: SnapshotListener): () => void;
}

/** Builds a view's snapshot from the current model. Must be pure and never throw for a valid view key. */
export type SnapshotBuilder = (view: ViewKey) => Snapshot;

/** Builds a view's first snapshot without holding the event loop (a big mesh takes seconds). */
export type AsyncSnapshotBuilder = (view: ViewKey) => Promise<Snapshot>;

interface ViewEntry {
  /** The key the entry was made for: every build of the view gets this one. */
  readonly view: ViewKey;
  /** Undefined while the view's first snapshot is being built in the background. */
  snapshot?: Snapshot;
  readonly listeners: Set<SnapshotListener>;
}

export class SnapshotCache implements ConfigWatcher {
  /** By the view key's canonical text: equal views (different key objects) share one entry. */
  private readonly views = new Map<string, ViewEntry>();
  /** Rebuild passes started so far: a first build that overlapped one may have used an older model. */
  private passes = 0;

  constructor(
    private readonly build: SnapshotBuilder,
    private readonly buildInBackground?: AsyncSnapshotBuilder,
  ) {}

  /** The view's snapshot, built now if it is not there yet (debug endpoints, tests, tools). */
  snapshot(view: ViewKey): Snapshot {
    const entry = this.entry(view);
    entry.snapshot ??= this.build(entry.view);
    return entry.snapshot;
  }

  /** The view's snapshot when it is built; never builds (streams wait for their watcher to be told). */
  ready(view: ViewKey): Snapshot | undefined {
    return this.views.get(view.id)?.snapshot;
  }

  watch(view: ViewKey, listener: SnapshotListener): () => void {
    let entry = this.views.get(view.id);
    if (!entry) {
      entry = { view, listeners: new Set() };
      this.views.set(view.id, entry);
      if (this.buildInBackground) this.buildFirst(entry);
      else entry.snapshot = this.build(view);
    }
    entry.listeners.add(listener);
    return () => {
      entry.listeners.delete(listener);
      // A view nobody watches is dropped; it is rebuilt from the model when a client comes back.
      if (entry.listeners.size === 0 && this.views.get(view.id) === entry) this.views.delete(view.id);
    };
  }

  /** Views that currently have watchers (or were just built). */
  viewKeys(): ViewKey[] {
    return [...this.views.values()].map((entry) => entry.view);
  }

  /**
   * Rebuilds every live view from the model, a slice at a time: each view's snapshot is replaced (and
   * its watchers told) as soon as it is built, so the first views do not wait for the last. Views that appear meanwhile are
   * built from the newest model when first asked for; views that go away are skipped. `abandon` is asked
   * after every yield: when it says so, the pass stops (not completed).
   */
  async rebuildAllSliced(
    steps: (view: ViewKey) => Steps<Snapshot>,
    slicer: TimeSlicer,
    changeSeenAtMs: number,
    abandon: () => boolean,
  ): Promise<{ completed: boolean; changedViews: number }> {
    let changedViews = 0;
    this.passes++;
    for (const id of [...this.views.keys()]) {
      const current = this.views.get(id);
      if (!current?.snapshot) continue; // gone, or its first build is running (see buildFirst)
      const snapshot = await slicer.run(steps(current.view), abandon);
      if (snapshot === undefined) return { completed: false, changedViews };
      const entry = this.views.get(id);
      if (entry && this.replace(entry, snapshot, changeSeenAtMs)) changedViews++;
      if (slicer.due()) {
        await slicer.yield();
        if (abandon()) return { completed: false, changedViews };
      }
    }
    return { completed: true, changedViews };
  }

  /**
   * Builds a new view's first snapshot in the background, then tells its watchers. If a rebuild pass began
   * meanwhile, the model may have changed under the build: it runs again until no pass overlapped it.
   */
  private buildFirst(entry: ViewEntry): void {
    const view = entry.view;
    const build = this.buildInBackground as AsyncSnapshotBuilder;
    const startedAtMs = Date.now();
    const run = (passesAtStart: number): void => {
      build(view).then(
        (snapshot) => {
          if (this.views.get(view.id) !== entry) return; // nobody watches it any more
          if (this.passes !== passesAtStart) {
            // A pass began meanwhile: the model may have changed under this build. A snapshot built at
            // once since (snapshot()) is newer and taken care of by the pass; otherwise build again.
            if (!entry.snapshot) run(this.passes);
            return;
          }
          this.replace(entry, snapshot, startedAtMs);
        },
        () => {
          // A builder must not throw for a valid view; fall back to building it at once.
          if (this.views.get(view.id) === entry && !entry.snapshot) this.replace(entry, this.build(view), startedAtMs);
        },
      );
    };
    run(this.passes);
  }

  private replace(entry: ViewEntry, next: Snapshot, changeSeenAtMs: number): boolean {
    const changed = next.changedTypes(entry.snapshot);
    entry.snapshot = next;
    if (changed.size === 0) return false;
    for (const listener of [...entry.listeners]) listener(changed, changeSeenAtMs);
    return true;
  }

  private entry(view: ViewKey): ViewEntry {
    let entry = this.views.get(view.id);
    if (!entry) {
      entry = { view, snapshot: this.build(view), listeners: new Set() };
      this.views.set(view.id, entry);
    }
    return entry;
  }
}
