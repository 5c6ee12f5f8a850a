// Holds the current snapshot of every client view that has watchers, and tells them when it changes.
// This is the only thing the server knows about the cache (cf. go-control-plane's ConfigWatcher).
import { Snapshot } from './snapshot';
import { XdsTypeUrl } from '../resource-types';

/** Opaque name of a client view; every client with the same key shares its snapshot and bytes. */
export type ViewKey = string;

/** `changeSeenAtMs`: when the change behind this snapshot was first seen (for push latency). */
export type SnapshotListener = (changedTypes: ReadonlySet<XdsTypeUrl>, changeSeenAtMs: number) => void;

export interface ConfigWatcher {
  /** The view's current snapshot, built on first use. */
  snapshot(view: ViewKey): Snapshot;
  /** Calls `listener` after each change of the view's snapshot. Returns the function that cancels the watch. */
  watch(view: ViewKey, listener: SnapshotListener): () => void;
}

/** Builds a view's snapshot from the current model. Must be pure and never throw for a valid view key. */
export type SnapshotBuilder = (view: ViewKey) => Snapshot;

interface ViewEntry {
  snapshot: Snapshot;
  readonly listeners: Set<SnapshotListener>;
}

export class SnapshotCache implements ConfigWatcher {
  private readonly views = new Map<ViewKey, ViewEntry>();

  constructor(private readonly build: SnapshotBuilder) {}

  snapshot(view: ViewKey): Snapshot {
    return this.entry(view).snapshot;
  }

  /** The view's snapshot if the view is live; never builds one (readers that must not create views). */
  ready(view: ViewKey): Snapshot | undefined {
    return this.views.get(view)?.snapshot;
  }

  watch(view: ViewKey, listener: SnapshotListener): () => void {
    const entry = this.entry(view);
    entry.listeners.add(listener);
    return () => {
      entry.listeners.delete(listener);
      // A view nobody watches is dropped; it is rebuilt from the model when a client comes back.
      if (entry.listeners.size === 0 && this.views.get(view) === entry) this.views.delete(view);
    };
  }

  /** Views that currently have watchers (or were just built). */
  viewKeys(): ViewKey[] {
    return [...this.views.keys()];
  }

  /**
   * Rebuilds every live view from the model (or with `rebuild`, e.g. a fast path that reuses parts of the
   * previous snapshot) and notifies the watchers of views that changed. Returns how many views changed.
   */
  rebuildAll(rebuild: (view: ViewKey, previous: Snapshot) => Snapshot = (view) => this.build(view), changeSeenAtMs = Date.now()): number {
    let changedViews = 0;
    for (const [view, entry] of this.views) {
      if (this.replace(view, entry, rebuild(view, entry.snapshot), changeSeenAtMs)) changedViews++;
    }
    return changedViews;
  }

  /** Replaces one view's snapshot (tests and fast paths); notifies its watchers when content changed. */
  setSnapshot(view: ViewKey, snapshot: Snapshot): boolean {
    const entry = this.views.get(view);
    if (!entry) {
      this.views.set(view, { snapshot, listeners: new Set() });
      return true;
    }
    return this.replace(view, entry, snapshot, Date.now());
  }

  private replace(_view: ViewKey, entry: ViewEntry, next: Snapshot, changeSeenAtMs: number): boolean {
    const changed = next.changedTypes(entry.snapshot);
    entry.snapshot = next;
    if (changed.size === 0) return false;
    for (const listener of [...entry.listeners]) listener(changed, changeSeenAtMs);
    return true;
  }

  private entry(view: ViewKey): ViewEntry {
    let entry = this.views.get(view);
    if (!entry) {
      entry = { snapshot: this.build(view), listeners: new Set() };
      this.views.set(view, entry);
    }
    return entry;
  }
}
