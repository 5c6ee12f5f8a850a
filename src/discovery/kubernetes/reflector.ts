// Keeps a local copy of one resource (in one namespace or all) in step with an API server: list, then
// watch from the list's resourceVersion; re-watch when the server ends a watch; re-list on 410 Gone;
// back off on failures. A failure never clears the copy: the last good state stays until the server
// answers again. A malformed object keeps its last good version.
import type { Logger } from 'pino';
import { HintContext, KubeApiError, hintFor, toApiError } from './api-errors';
import { JSON_ACCEPT, KubeClient, METADATA_LIST_ACCEPT, METADATA_WATCH_ACCEPT, WatchHandle } from './kube-client';
import { describeObject } from './kube-objects';
import { ResourceKind, collectionPath, describeKind } from './kube-resources';
import { ProblemLog } from './problem-log';

export interface ReflectorTiming {
  /** The server ends each watch after this; client-go picks 5-10 minutes so watches do not re-open in step. */
  watchTimeoutMinSeconds: number;
  watchTimeoutMaxSeconds: number;
  /** Silence tolerated past the watch timeout before the connection is deemed dead. */
  idleSlackMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  /** How often to look again for a resource whose CRD is not installed. */
  absentRecheckMs: number;
  /** Objects per list page: bounds the size of one response. */
  pageSize: number;
}

export const DEFAULT_REFLECTOR_TIMING: ReflectorTiming = {
  watchTimeoutMinSeconds: 300,
  watchTimeoutMaxSeconds: 600,
  idleSlackMs: 30_000,
  backoffMinMs: 500,
  backoffMaxMs: 30_000,
  absentRecheckMs: 30_000,
  pageSize: 500,
};

export interface ReflectorState {
  /** A full list has succeeded at least once. */
  synced: boolean;
  /** A watch is open now: the copy is current. */
  connected: boolean;
  /** The resource type is not served (optional CRD not installed). */
  absent: boolean;
  /** Failed requests since start. */
  errors: number;
  /** Malformed objects seen since start (each kept at its last good version, or ignored). */
  malformed: number;
  lastError?: { problem: string; message: string; hint: string; atMs: number };
  /** When the copy was last confirmed current. */
  lastSyncAtMs?: number;
}

export interface ReflectorOptions<T> {
  client: KubeClient;
  kind: ResourceKind<T>;
  namespace?: string;
  /** Only objects with these labels, e.g. `spillway.io/cluster` (a label selector). */
  labelSelector?: string;
  cluster: string;
  logger: Logger;
  timing?: Partial<ReflectorTiming>;
  /** Called after every change of the copy (many times per burst: the caller debounces). */
  onChange: () => void;
  /** Shared by the reflectors of one cluster, so a cluster-wide failure is logged once. */
  problems?: ProblemLog;
}

export class Reflector<T> {
  readonly items = new Map<string, T>();
  readonly state: ReflectorState = { synced: false, connected: false, absent: false, errors: 0, malformed: 0 };
  private readonly timing: ReflectorTiming;
  private readonly problems: ProblemLog;
  private readonly logger: Logger;
  private readonly path: string;
  private resourceVersion?: string;
  private stopped = true;
  private currentWatch?: WatchHandle;
  private wakeUp?: () => void;
  /** Malformed objects already reported, by key, with the error text: report each problem once. */
  private readonly reportedMalformed = new Map<string, string>();
  private loop?: Promise<void>;
  /** Set while requests fail; cleared (with a log line) when a watch opens again. */
  private failingSinceMs?: number;
  private absentAnnounced = false;
  /** Drives the backoff; reset by a successful list or an open watch. */
  private consecutiveFailures = 0;
  /** 410s with no event in between; reset by any event. */
  private consecutiveGone = 0;

  constructor(private readonly options: ReflectorOptions<T>) {
    this.timing = { ...DEFAULT_REFLECTOR_TIMING, ...options.timing };
    this.problems = options.problems ?? new ProblemLog();
    this.path = collectionPath(options.kind, options.namespace);
    this.logger = options.logger.child({
      resource: describeKind(options.kind),
      ...(options.namespace ? { namespace: options.namespace } : {}),
    });
  }

  /** e.g. `endpointslices.discovery.k8s.io`, for stats and log lines. */
  get resource(): string {
    return describeKind(this.options.kind);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.currentWatch?.abort(new KubeApiError('timeout', 'stopping'));
    this.wakeUp?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.resourceVersion === undefined) await this.list();
        await this.watchOnce();
      } catch (thrown) {
        this.state.connected = false;
        if (this.stopped) return;
        const error = toApiError(thrown);
        if (error.problem === 'gone') {
          this.logger.info(`${describeKind(this.options.kind)}: the watch fell behind (410 Gone); listing again`);
          this.resourceVersion = undefined;
          // A server that answers 410 again right after a fresh list must not be hammered.
          if (this.consecutiveGone++ > 0) await this.sleep(this.backoffMs(this.consecutiveGone));
          continue;
        }
        const { optional, forbiddenMeans } = this.options.kind;
        if (
          (error.problem === 'not-found' && optional) ||
          (error.problem === 'forbidden' && forbiddenMeans !== undefined)
        ) {
          this.markAbsent(
            error.problem === 'forbidden'
              ? `${describeKind(this.options.kind)}: not allowed (403): ${forbiddenMeans}`
              : undefined,
          );
          await this.sleep(this.timing.absentRecheckMs);
          continue;
        }
        this.consecutiveFailures++;
        this.noteFailure(error, this.consecutiveFailures);
        await this.sleep(this.backoffMs(this.consecutiveFailures));
      }
    }
  }

  /** Lists every object (page by page) and replaces the copy; keeps the last good version of a malformed one. */
  private async list(): Promise<void> {
    const accept = this.options.kind.metadataOnly ? METADATA_LIST_ACCEPT : JSON_ACCEPT;
    const listed = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const query = new URLSearchParams({ limit: String(this.timing.pageSize) });
      if (this.options.labelSelector) query.set('labelSelector', this.options.labelSelector);
      if (continueToken) query.set('continue', continueToken);
      const page = await this.options.client.getJson(`${this.path}?${query.toString()}`, accept);
      const { items: listedItems, metadata } = page as {
        items?: unknown;
        metadata?: { resourceVersion?: unknown; continue?: unknown };
      };
      const items = listedItems ?? []; // an empty metadata-only list says `items: null`
      if (!Array.isArray(items) || typeof metadata?.resourceVersion !== 'string') {
        throw new KubeApiError('bad-response', `GET ${this.path}: not a list (no items or metadata.resourceVersion)`);
      }
      for (const object of items) {
        const key = describeObject(object);
        const value = this.readObject(object, key) ?? this.items.get(key);
        if (value !== undefined) listed.set(key, value);
      }
      resourceVersion = metadata.resourceVersion;
      continueToken = typeof metadata.continue === 'string' && metadata.continue !== '' ? metadata.continue : undefined;
    } while (continueToken && !this.stopped);

    this.items.clear();
    for (const [key, value] of listed) this.items.set(key, value);
    this.resourceVersion = resourceVersion;
    this.consecutiveFailures = 0;
    this.noteCurrent();
    const firstSync = !this.state.synced;
    this.state.synced = true;
    this.state.absent = false;
    if (firstSync) this.logger.info({ objects: listed.size }, `${describeKind(this.options.kind)}: listed`);
    this.options.onChange();
  }

  private async watchOnce(): Promise<void> {
    const { watchTimeoutMinSeconds: min, watchTimeoutMaxSeconds: max } = this.timing;
    const timeoutSeconds = Math.floor(min + Math.random() * Math.max(0, max - min));
    const query = new URLSearchParams({
      watch: 'true',
      resourceVersion: this.resourceVersion ?? '',
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(timeoutSeconds),
    });
    if (this.options.labelSelector) query.set('labelSelector', this.options.labelSelector);
    const accept = this.options.kind.metadataOnly ? METADATA_WATCH_ACCEPT : JSON_ACCEPT;
    const idleMs = timeoutSeconds * 1000 + this.timing.idleSlackMs;
    this.currentWatch = this.options.client.watch(`${this.path}?${query.toString()}`, accept, idleMs, {
      onOpen: () => {
        if (this.failingSinceMs !== undefined) this.noteRecovered();
        this.state.connected = true;
        this.consecutiveFailures = 0;
        this.noteCurrent();
      },
      onEvent: (event) => this.apply(event),
    });
    try {
      await this.currentWatch.done;
    } finally {
      this.currentWatch = undefined;
    }
    // The server ended the watch at its timeout: open the next one from where this one stopped.
  }

  private apply(event: unknown): void {
    const { type, object } = (event ?? {}) as { type?: unknown; object?: unknown };
    const resourceVersion = (object as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata
      ?.resourceVersion;
    if (type === 'ERROR') {
      const status = object as { code?: unknown; message?: unknown } | undefined;
      const message = `watch ${this.path}: ${typeof status?.message === 'string' ? status.message : 'error event'}`;
      this.currentWatch?.abort(
        new KubeApiError(
          status?.code === 410 ? 'gone' : 'server',
          message,
          typeof status?.code === 'number' ? status.code : undefined,
        ),
      );
      return;
    }
    if (typeof resourceVersion === 'string') this.resourceVersion = resourceVersion;
    this.consecutiveGone = 0;
    this.noteCurrent();
    if (type === 'BOOKMARK') return;
    const key = describeObject(object);
    if (type === 'DELETED') {
      this.reportedMalformed.delete(key);
      if (this.items.delete(key)) this.options.onChange();
      return;
    }
    if (type !== 'ADDED' && type !== 'MODIFIED') {
      this.logger.warn({ type }, `${describeKind(this.options.kind)}: ignoring a watch event of unknown type`);
      return;
    }
    const value = this.readObject(object, key);
    if (value === undefined) return; // malformed: the last good version stays
    const before = this.items.get(key);
    if (before !== undefined && JSON.stringify(before) === JSON.stringify(value)) return; // no change that matters
    this.items.set(key, value);
    this.options.onChange();
  }

  private readObject(object: unknown, key: string): T | undefined {
    const result = this.options.kind.read(object);
    if (result.ok) {
      this.reportedMalformed.delete(key);
      return result.value;
    }
    const errors = result.errors.join('; ');
    this.state.malformed++;
    if (this.reportedMalformed.get(key) !== errors) {
      this.reportedMalformed.set(key, errors);
      const kept = this.items.has(key) ? 'its last good version is kept' : 'it is ignored';
      this.logger.warn(
        { object: key, problems: result.errors },
        `${describeKind(this.options.kind)} ${key} is malformed (${errors}); ${kept} until it is fixed`,
      );
    }
    return undefined;
  }

  private noteCurrent(): void {
    this.state.lastSyncAtMs = Date.now();
  }

  /** `forbidden`: why it is missing when it is a 403 (a warning); else the resource is not served (a CRD). */
  private markAbsent(forbidden?: string): void {
    if (!this.state.absent) {
      const again = `looking again every ${this.timing.absentRecheckMs / 1000}s`;
      if (forbidden) this.logger.warn(`cluster ${this.options.cluster}: ${forbidden}; ${again}`);
      else
        this.logger.info(
          `${describeKind(this.options.kind)} is not served by this API server (CRD not installed); exporting by annotation only, ${again}`,
        );
    }
    const hadItems = this.items.size > 0;
    this.items.clear();
    this.resourceVersion = undefined;
    this.state.absent = true;
    this.state.synced = true;
    this.noteCurrent();
    if (hadItems || !this.absentAnnounced) this.options.onChange();
    this.absentAnnounced = true;
  }

  private noteFailure(error: KubeApiError, failures: number): void {
    this.state.errors++;
    this.failingSinceMs ??= Date.now();
    const context: HintContext = {
      cluster: this.options.cluster,
      resource: describeKind(this.options.kind),
      ...(this.options.namespace !== undefined ? { namespace: this.options.namespace } : {}),
      origin: this.options.client.access.origin,
    };
    const hint = hintFor(error, context);
    const previous = this.state.lastError;
    this.state.lastError = { problem: error.problem, message: error.message, hint, atMs: Date.now() };
    const fields = { problem: error.problem, failures, hint };
    // Once per distinct problem, then quietly: a down API server must not flood the log.
    if (this.problems.shouldReport(error.problem, previous?.message !== error.message || failures === 1)) {
      // A busy server (starting, shedding load) is routine and fixes itself: a warning, not an error.
      const level = error.problem === 'busy' ? 'warn' : 'error';
      this.logger[level](
        fields,
        `cluster ${this.options.cluster}: ${describeKind(this.options.kind)}: ${error.message}; ${hint}; keeping the last good state and retrying`,
      );
    } else {
      this.logger.debug(fields, `cluster ${this.options.cluster}: still failing: ${error.message}`);
    }
  }

  private noteRecovered(): void {
    this.problems.recovered();
    const downMs = Date.now() - (this.failingSinceMs ?? Date.now());
    this.failingSinceMs = undefined;
    this.logger.info(
      { downMs },
      `cluster ${this.options.cluster}: ${describeKind(this.options.kind)}: watching again after ${Math.round(downMs / 1000)}s of errors`,
    );
  }

  private backoffMs(failures: number): number {
    const ceiling = Math.min(this.timing.backoffMaxMs, this.timing.backoffMinMs * 2 ** Math.min(failures - 1, 16));
    return ceiling / 2 + Math.random() * (ceiling / 2); // jitter: clusters restarted together do not retry in step
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}
