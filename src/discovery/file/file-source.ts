// Serves a mesh file as one store shard and follows its edits. A bad edit never takes the mesh down: it
// is rejected with every error logged and shown (issues()), and the last good mesh keeps being served
// until the file is fixed. A file is only read once it has stopped changing, so a save written in steps
// is never served half-written.
import { FSWatcher, watch } from 'fs';
import { dirname } from 'path';
import type { Logger } from 'pino';
import { MeshModel } from '../../mesh/model';
import { MeshStore } from '../../mesh/store';
import { ServedVersion, SourceIssue } from '../source-issue';
import { MeshFileError, MeshParseResult, formatMeshError, formatMeshErrors, parseMeshText } from './mesh-file';
import { MeshFileRead, pathSignature, readMeshFileBytes } from './mesh-file-reader';
import { DEFAULT_MESH_FILE_LIMITS, DEFAULT_MESH_SETTLE_MS, MeshFileLimits } from './mesh-limits';
import { IncrementalMeshParser } from './incremental-mesh-parser';
import { removedServicesWarning } from './removed-services';
import { parseMeshTextOffThread, primeMeshParserOffThread } from './mesh-parse-worker';

export const DEFAULT_FILE_SHARD_ID = 'file';
/** Fallback for file systems where fs.watch is silent (network mounts, some containers). */
export const DEFAULT_POLL_INTERVAL_MS = 1_000;
export const KEEP_SERVING_HINT = 'the last good mesh keeps being served; fix the file and save again';
/** How much of the content hash names a version: enough to tell versions apart, short enough to read. */
const VERSION_HEX_DIGITS = 12;
const CHANGED_WHILE_READ =
  'the file changed while it was read; write it by rename (write a temporary file, then mv it over the mesh file)';
/** From this size (about 5,000 services) the start parse primes the reload parser: a whole parse takes a second or more. */
const PRIME_MIN_CHARS = 1024 * 1024;

export interface MeshFileSourceOptions {
  path: string;
  store: MeshStore;
  logger: Logger;
  shardId?: string;
  pollIntervalMs?: number;
  /** How long size and modification time must stay the same before the file is read (--mesh-settle-ms). */
  settleMs?: number;
  limits?: MeshFileLimits;
}

export interface MeshFileStats {
  /** Changed file versions applied after the first load. */
  reloads: number;
  /** File versions rejected (invalid, unreadable or deleted), the first load included. */
  rejected: number;
  /** Formatted errors of the last rejected version; compare lastErrorAtMs with lastGoodAtMs to see which is newer. */
  lastError?: string;
  lastErrorAtMs?: number;
  lastGoodAtMs?: number;
}

export type ReloadListener = (result: MeshParseResult) => void;

/** How long a reload took to read and to parse the file, in its log line: where a slow reload's time went. */
interface ReloadTiming {
  readMs?: number;
  parseMs?: number;
}

interface Rejection {
  errors: MeshFileError[];
  sinceMs: number;
  lastSeenMs: number;
}

export class MeshFileSource {
  readonly stats: MeshFileStats = { reloads: 0, rejected: 0 };
  private readonly path: string;
  private readonly store: MeshStore;
  private readonly logger: Logger;
  private readonly shardId: string;
  private readonly pollIntervalMs: number;
  private readonly settleMs: number;
  private readonly limits: MeshFileLimits;
  private readonly listeners = new Set<ReloadListener>();
  private watcher?: FSWatcher;
  private pollTimer?: NodeJS.Timeout;
  private settleTimer?: NodeJS.Timeout;
  private reloading = false;
  private reloadAgain = false;
  private stopped = false;
  /** The file's signature when the pending settle period started: it must still be the same at its end. */
  private settlingSignature?: string;
  /** Content hash of the version last read, good or bad: an unchanged file is not parsed again. */
  private lastContentHash?: string;
  /** What the poll compares: the signature of the version last read. */
  private lastStatSignature?: string;
  private served?: { model: MeshModel; version: ServedVersion };
  /** Set while the file's latest version is rejected: what is served is then not what the file says. */
  private rejection?: Rejection;
  private warning?: SourceIssue;

  constructor(options: MeshFileSourceOptions) {
    this.path = options.path;
    this.store = options.store;
    this.logger = options.logger;
    this.shardId = options.shardId ?? DEFAULT_FILE_SHARD_ID;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.settleMs = options.settleMs ?? DEFAULT_MESH_SETTLE_MS;
    this.limits = options.limits ?? DEFAULT_MESH_FILE_LIMITS;
  }

  /**
   * Loads the file once, synchronously, then follows changes. An invalid file sets no shard; its errors are
   * returned for the caller to report (they are not logged here), and a later fixed version is picked up.
   */
  start(): MeshParseResult {
    if (this.pollTimer) throw new Error('MeshFileSource.start() was already called');
    const read = readMeshFileBytes(this.path, this.limits);
    // No settle period at start (it is synchronous): a file caught mid-write is refused, not half-served.
    const content: Exclude<MeshFileRead, { kind: 'changing' }> =
      read.kind === 'changing'
        ? { kind: 'refused', error: { path: '', message: CHANGED_WHILE_READ }, hash: 'changing', signature: 'changing' }
        : read;
    const result = this.apply(content, 'mesh file loaded');
    this.watchDirectory();
    this.pollTimer = setInterval(() => this.poll(), this.pollIntervalMs);
    this.pollTimer.unref();
    return result;
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.pollTimer);
    clearTimeout(this.settleTimer);
    this.pollTimer = this.settleTimer = undefined;
  }

  /** Hears every reload attempt after start, accepted or rejected. Returns the unsubscribe function. */
  onReload(listener: ReloadListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The rejection of the file's latest version and the warning about the last accepted one, if any. */
  issues(): SourceIssue[] {
    const issues: SourceIssue[] = [];
    if (this.rejection) {
      const { errors, sinceMs, lastSeenMs } = this.rejection;
      const instead = this.served ? 'the last good version keeps being served' : 'nothing from it is served';
      issues.push({
        source: this.shardId,
        severity: 'error',
        summary: `mesh file ${this.path} rejected: ${instead}; fix the file and save it again (by rename)`,
        details: errors.map((error) => formatMeshError(this.path, error)),
        sinceMs,
        lastSeenMs,
        ...(this.served ? { serving: this.served.version } : {}),
      });
    }
    if (this.warning) issues.push(this.warning);
    return issues;
  }

  /** Parses what was read and serves it, or rejects it; returns the parse result. */
  private apply(content: Exclude<MeshFileRead, { kind: 'changing' }>, message: string): MeshParseResult {
    const result: MeshParseResult =
      content.kind === 'read' ? this.parseAtStart(content.text) : { ok: false, errors: [content.error] };
    return this.applyResult(content, result, message);
  }

  /**
   * The reload parser (a worker thread) keeps the services it parsed and re-parses only those an edit
   * changed. A big file's start parse fills such a cache here and hands it over, so the first reload is
   * quick too (parsing the file again there would compete with startup for the CPU).
   */
  private parseAtStart(text: string): MeshParseResult {
    if (text.length < PRIME_MIN_CHARS) return parseMeshText(text);
    const parser = new IncrementalMeshParser();
    const result = parser.parse(text);
    const cache = parser.cache();
    if (cache) {
      primeMeshParserOffThread(cache).catch((error: unknown) => {
        this.logger.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'priming the mesh parser thread failed; its first reload parses the whole file',
        );
      });
    }
    return result;
  }

  private applyResult(
    content: Exclude<MeshFileRead, { kind: 'changing' }>,
    result: MeshParseResult,
    message: string,
    timing: ReloadTiming = {},
  ): MeshParseResult {
    this.lastStatSignature = content.signature;
    this.lastContentHash = content.hash;
    if (result.ok) this.accept(result, content.hash, message, timing);
    else this.reject(result.errors);
    return result;
  }

  private accept(
    result: Extract<MeshParseResult, { ok: true }>,
    hash: string,
    message: string,
    timing: ReloadTiming,
  ): void {
    const previous = this.served?.model;
    const nowMs = Date.now();
    this.store.setShard(this.shardId, result.model);
    this.served = {
      model: result.model,
      version: { version: hash.slice(0, VERSION_HEX_DIGITS), acceptedAtMs: nowMs, ...result.summary },
    };
    this.rejection = undefined;
    this.stats.lastGoodAtMs = nowMs;
    this.logger.info({ file: this.path, version: this.served.version.version, ...result.summary, ...timing }, message);
    const removed = previous ? removedServicesWarning(previous, result.model) : undefined;
    this.warning = removed && {
      source: this.shardId,
      severity: 'warning',
      summary: removed.summary,
      details: removed.details,
      sinceMs: nowMs,
      lastSeenMs: nowMs,
    };
    if (removed)
      this.logger.warn(
        {
          file: this.path,
          removed: removed.removed,
          servicesBefore: removed.before,
          examples: removed.details.slice(0, 5),
        },
        removed.summary,
      );
  }

  private reject(errors: MeshFileError[]): void {
    const nowMs = Date.now();
    this.stats.rejected++;
    this.stats.lastError = formatMeshErrors(this.path, errors);
    this.stats.lastErrorAtMs = nowMs;
    this.rejection = { errors, sinceMs: this.rejection?.sinceMs ?? nowMs, lastSeenMs: nowMs };
  }

  /**
   * Runs when the file has kept one signature for a whole settle period. The parse runs on a worker thread
   * (a big file takes seconds: health checks and pushes must not wait); one reload at a time, and a change
   * seen meanwhile is read once this one is done.
   */
  private async reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = true;
    try {
      const startedAt = Date.now();
      const content = readMeshFileBytes(this.path, this.limits);
      if (content.kind === 'changing') return this.settle(pathSignature(this.path));
      if (content.hash === this.lastContentHash) {
        this.lastStatSignature = content.signature;
        return;
      }
      const readAt = Date.now();
      const parsed: MeshParseResult =
        content.kind === 'read' ? await this.parse(content.text) : { ok: false, errors: [content.error] };
      if (this.stopped) return;
      const result = this.applyResult(content, parsed, 'mesh file reloaded', {
        readMs: readAt - startedAt,
        parseMs: Date.now() - readAt,
      });
      if (result.ok) this.stats.reloads++;
      else {
        for (const error of result.errors) {
          this.logger.error(
            { file: this.path, path: error.path, line: error.line, hint: KEEP_SERVING_HINT },
            `${formatMeshError(this.path, error)} (${KEEP_SERVING_HINT})`,
          );
        }
      }
      for (const listener of this.listeners) {
        try {
          listener(result);
        } catch (error) {
          this.logger.error({ err: error }, 'a mesh reload listener failed');
        }
      }
    } finally {
      this.reloading = false;
      if (this.reloadAgain && !this.stopped) {
        this.reloadAgain = false;
        this.settle(pathSignature(this.path));
      }
    }
  }

  /** Off the main thread; should the worker fail (it never should), on this thread as before. */
  private async parse(text: string): Promise<MeshParseResult> {
    try {
      return await parseMeshTextOffThread(text);
    } catch (error) {
      this.logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'the mesh parser thread failed; parsing on the main thread',
      );
      return parseMeshText(text);
    }
  }

  /**
   * Watches the directory, not the file: editors save by writing a new file and renaming it over the old
   * one, and Kubernetes ConfigMap volumes swap a symlinked directory; a watch on the file itself would
   * stay on the replaced inode. Any event in the directory starts a settle period; the content hash then
   * drops no-ops.
   */
  private watchDirectory(): void {
    try {
      this.watcher = watch(dirname(this.path), () => this.changeSeen());
      this.watcher.on('error', (error) => {
        this.logger.warn(
          { err: error, file: this.path },
          'watching the mesh file directory failed; falling back to polling',
        );
        this.watcher?.close();
        this.watcher = undefined;
      });
      this.watcher.unref();
    } catch (error) {
      this.logger.warn({ err: error, file: this.path }, 'cannot watch the mesh file directory; polling only');
    }
  }

  private poll(): void {
    if (this.settleTimer) return;
    const signature = pathSignature(this.path);
    if (signature !== this.lastStatSignature) this.settle(signature);
    // Staleness: the served mesh is confirmed current while the file is unchanged and was accepted.
    else if (this.served && !this.rejection) this.stats.lastGoodAtMs = Date.now();
  }

  /**
   * A change of the file itself starts the settle period over, from its new signature; events about other
   * files of the directory (the editor's temporary file, logs) leave a pending period alone.
   */
  private changeSeen(): void {
    const signature = pathSignature(this.path);
    if (this.settleTimer && signature === this.settlingSignature) return;
    clearTimeout(this.settleTimer);
    this.settle(signature);
  }

  /**
   * Reads the file once its signature (modification time, size, inode) has stayed `signature` for a whole
   * settle period; a file still being written shows a new one, and the period starts over.
   */
  private settle(signature: string): void {
    this.settlingSignature = signature;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      const now = pathSignature(this.path);
      if (now === this.settlingSignature) void this.reload();
      else this.settle(now);
    }, this.settleMs);
    this.settleTimer.unref();
  }
}
