// Which view one stream follows, and the watch on it in the cache. A sidecar that names its workload may
// move to another view later (the workload's declared calls appeared or went): the server keeps those
// streams in its RescopableStreams and moves each when the mesh says so.
import { ConfigWatcher, SnapshotListener } from '../cache/snapshot-cache';
import { Snapshot } from '../cache/snapshot';
import { StreamKind } from '../node/stream-kind';
import { ViewKey } from '../node/view-key';
import { ViewRescoper } from '../node/view-resolution';

export class ViewWatch {
  private current?: ViewKey;
  private cancel?: () => void;

  constructor(
    private readonly watcher: ConfigWatcher,
    private readonly onChange: SnapshotListener,
  ) {}

  get view(): ViewKey | undefined {
    return this.current;
  }

  /** Follows `view` from now on (and no longer the one before). */
  follow(view: ViewKey): void {
    this.cancel?.();
    this.current = view;
    this.cancel = this.watcher.watch(view, this.onChange);
  }

  /** The view's snapshot once built; undefined before a view is followed or while its first snapshot builds. */
  ready(): Snapshot | undefined {
    return this.current === undefined ? undefined : this.watcher.ready(this.current);
  }

  close(): void {
    this.cancel?.();
  }
}

/** What decides a sidecar stream's view besides its node (kept small: not the node itself). */
export class WorkloadScope {
  constructor(
    private readonly workload: string,
    private readonly stream: StreamKind,
    private readonly rescoper: ViewRescoper,
  ) {}

  /** The view the stream should have now, given the one it has. */
  viewNow(current: ViewKey): ViewKey {
    return this.rescoper(current, this.workload, this.stream);
  }
}

export interface Rescopable {
  rescope(): void;
}

/** The streams of one server whose view may change with the mesh. */
export class RescopableStreams {
  private readonly streams = new Set<Rescopable>();

  add(stream: Rescopable): void {
    this.streams.add(stream);
  }

  delete(stream: Rescopable): void {
    this.streams.delete(stream);
  }

  rescopeAll(): void {
    for (const stream of this.streams) stream.rescope();
  }
}
