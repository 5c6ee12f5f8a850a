// Serves a mesh file as one store shard and follows its edits. A bad edit never takes the mesh down: it
// is rejected with every error logged, and the last good mesh keeps being served until the file is fixed.
import { createHash } from 'crypto';
import { FSWatcher, readFileSync, statSync, watch } from 'fs';
import { dirname } from 'path';
import type { Logger } from 'pino';
import { MeshStore } from '../../mesh/store';
import { MeshParseResult, formatMeshError, formatMeshErrors, parseMeshText, unreadableFileError } from './mesh-file';

export const DEFAULT_FILE_SHARD_ID = 'file';
/** Fallback for file systems where fs.watch is silent (network mounts, some containers). */
export const DEFAULT_POLL_INTERVAL_MS = 1_000;
/** Editors save in steps (truncate, write, rename): let the burst settle before reading. */
export const DEFAULT_RELOAD_DEBOUNCE_MS = 100;
/** A directory that never goes quiet (logs written next to the file) must not postpone a reload forever. */
const RELOAD_MAX_DELAY_MS = 1_000;
export const KEEP_SERVING_HINT = 'the last good mesh keeps being served; fix the file and save again';

export interface MeshFileSourceOptions {
  path: string;
  store: MeshStore;
  logger: Logger;
  shardId?: string;
  pollIntervalMs?: number;
  debounceMs?: number;
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

interface FileContent {
  hash: string;
  /** Absent when the file could not be read (deleted, no permission). */
  text?: string;
  error?: unknown;
}

/** Stands for "no content" in the change check, so a deleted file is reported once, not at every poll. */
const UNREADABLE_HASH = 'unreadable';

export class MeshFileSource {
  readonly stats: MeshFileStats = { reloads: 0, rejected: 0 };
  /** Whether what is served is what the file says now (false after a rejected edit). */
  private servingFileContent = false;
  private readonly path: string;
  private readonly store: MeshStore;
  private readonly logger: Logger;
  private readonly shardId: string;
  private readonly pollIntervalMs: number;
  private readonly debounceMs: number;
  private readonly listeners = new Set<ReloadListener>();
  private watcher?: FSWatcher;
  private pollTimer?: NodeJS.Timeout;
  private debounceTimer?: NodeJS.Timeout;
  private burstStartedAtMs?: number;
  /** Content hash of the version last read, good or bad: an unchanged file is not parsed again. */
  private lastContentHash?: string;
  /** What the poll compares: mtime, size and inode when the file was last read. */
  private lastStatSignature?: string;

  constructor(options: MeshFileSourceOptions) {
    this.path = options.path;
    this.store = options.store;
    this.logger = options.logger;
    this.shardId = options.shardId ?? DEFAULT_FILE_SHARD_ID;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.debounceMs = options.debounceMs ?? DEFAULT_RELOAD_DEBOUNCE_MS;
  }

  /**
   * Loads the file once, synchronously, then follows changes. An invalid file sets no shard; its errors are
   * returned for the caller to report (they are not logged here), and a later fixed version is picked up.
   */
  start(): MeshParseResult {
    if (this.pollTimer) throw new Error('MeshFileSource.start() was already called');
    const result = this.parse(this.read());
    if (result.ok) this.accept(result, 'mesh file loaded');
    else this.noteRejected(result);
    this.watchDirectory();
    this.pollTimer = setInterval(() => this.pollStat(), this.pollIntervalMs);
    this.pollTimer.unref();
    return result;
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.pollTimer);
    clearTimeout(this.debounceTimer);
    this.pollTimer = this.debounceTimer = this.burstStartedAtMs = undefined;
  }

  /** Hears every reload attempt after start, accepted or rejected. Returns the unsubscribe function. */
  onReload(listener: ReloadListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private reload(): void {
    this.debounceTimer = this.burstStartedAtMs = undefined;
    const content = this.read();
    if (content.hash === this.lastContentHash) return;
    const result = this.parse(content);
    if (result.ok) {
      this.stats.reloads++;
      this.accept(result, 'mesh file reloaded');
    } else {
      this.noteRejected(result);
      for (const error of result.errors) {
        this.logger.error({ file: this.path, path: error.path, line: error.line, hint: KEEP_SERVING_HINT }, `${formatMeshError(this.path, error)} (${KEEP_SERVING_HINT})`);
      }
    }
    for (const listener of this.listeners) {
      try {
        listener(result);
      } catch (error) {
        this.logger.error({ err: error }, 'a mesh reload listener failed');
      }
    }
  }

  /** Reads the file; remembers its stat and content hash so that only real changes are parsed again. */
  private read(): FileContent {
    this.lastStatSignature = this.statSignature();
    try {
      const text = readFileSync(this.path, 'utf8');
      return { hash: createHash('sha256').update(text).digest('hex'), text };
    } catch (error) {
      return { hash: UNREADABLE_HASH, error };
    }
  }

  private parse(content: FileContent): MeshParseResult {
    this.lastContentHash = content.hash;
    if (content.text === undefined) return { ok: false, errors: [unreadableFileError(content.error)] };
    return parseMeshText(content.text);
  }

  private accept(result: Extract<MeshParseResult, { ok: true }>, message: string): void {
    this.store.setShard(this.shardId, result.model);
    this.servingFileContent = true;
    this.stats.lastGoodAtMs = Date.now();
    this.logger.info({ file: this.path, ...result.summary }, message);
  }

  private noteRejected(result: Extract<MeshParseResult, { ok: false }>): void {
    this.stats.rejected++;
    this.servingFileContent = false;
    this.stats.lastError = formatMeshErrors(this.path, result.errors);
    this.stats.lastErrorAtMs = Date.now();
  }

  /**
   * Watches the directory, not the file: editors save by writing a new file and renaming it over the old
   * one, and Kubernetes ConfigMap volumes swap a symlinked directory; a watch on the file itself would
   * stay on the replaced inode. Any event in the directory triggers a read; the content hash drops no-ops.
   */
  private watchDirectory(): void {
    try {
      this.watcher = watch(dirname(this.path), () => this.scheduleReload());
      this.watcher.on('error', (error) => {
        this.logger.warn({ err: error, file: this.path }, 'watching the mesh file directory failed; falling back to polling');
        this.watcher?.close();
        this.watcher = undefined;
      });
      this.watcher.unref();
    } catch (error) {
      this.logger.warn({ err: error, file: this.path }, 'cannot watch the mesh file directory; polling only');
    }
  }

  private pollStat(): void {
    // The signature only updates when the file is read: while a read is pending, do not postpone it.
    const unchanged = this.statSignature() === this.lastStatSignature;
    if (this.debounceTimer === undefined && !unchanged) this.scheduleReload();
    // Staleness: the served mesh is confirmed current while the file is unchanged and was accepted.
    else if (unchanged && this.servingFileContent) this.stats.lastGoodAtMs = Date.now();
  }

  private statSignature(): string {
    try {
      const stats = statSync(this.path);
      return `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
    } catch {
      return 'missing';
    }
  }

  private scheduleReload(): void {
    const nowMs = Date.now();
    this.burstStartedAtMs ??= nowMs;
    const latestMs = this.burstStartedAtMs + Math.max(this.debounceMs, RELOAD_MAX_DELAY_MS);
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => this.reload(), Math.max(0, Math.min(this.debounceMs, latestMs - nowMs)));
    this.debounceTimer.unref();
  }
}
