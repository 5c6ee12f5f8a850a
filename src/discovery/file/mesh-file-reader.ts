// Reads a mesh file's bytes without ever blocking the event loop on something that is not a file: a FIFO
// at the mesh path would otherwise hang the process for good (no health checks, no pushes). Refuses what
// is not a regular file, what is over the size limit and what is not UTF-8, each with what to do next.
import { createHash } from 'crypto';
import { Stats, closeSync, constants, fstatSync, openSync, readSync, statSync } from 'fs';
import type { MeshFileError } from './mesh-file';
import { MeshFileLimits } from './mesh-limits';
import { decodeUtf8 } from './utf8';

export type MeshFileRead =
  | { kind: 'read'; text: string; hash: string; signature: string }
  /** `hash` identifies the refusal, so the same refusal is not reported again at every poll. */
  | { kind: 'refused'; error: MeshFileError; hash: string; signature: string }
  /** The file changed while it was read: read it again once it has settled. */
  | { kind: 'changing' };

const CHUNK_BYTES = 1024 * 1024;

/** What a poll compares to see a change: modification time, size and inode (a rename changes it). */
export function statSignature(stats: Stats): string {
  return `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
}

/** The signature of what is at `path` now, following symlinks; `missing` when nothing is there. */
export function pathSignature(path: string): string {
  try {
    return statSignature(statSync(path));
  } catch {
    return 'missing';
  }
}

export function readMeshFileBytes(path: string, limits: MeshFileLimits): MeshFileRead {
  let fd: number;
  try {
    // stat first, so a device or FIFO is refused without even being opened; open non-blocking in case
    // it was swapped in between, and check again on the descriptor.
    const pathStats = statSync(path);
    if (!pathStats.isFile()) return refused(notRegular(pathStats), statSignature(pathStats));
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return refused(cannotRead(error), pathSignature(path));
  }
  try {
    const before = fstatSync(fd);
    const signature = statSignature(before);
    if (!before.isFile()) return refused(notRegular(before), signature);
    if (before.size > limits.maxBytes) return refused(tooBig(before.size, limits.maxBytes), signature);
    const bytes = readAtMost(fd, limits.maxBytes + 1);
    if (bytes.length > limits.maxBytes) return refused(tooBig(bytes.length, limits.maxBytes), signature);
    if (statSignature(fstatSync(fd)) !== signature || bytes.length !== before.size) return { kind: 'changing' };
    const hash = createHash('sha256').update(bytes).digest('hex');
    const decoded = decodeUtf8(bytes);
    if (!decoded.ok) {
      const hex = decoded.byte.toString(16).padStart(2, '0');
      const message = `byte 0x${hex} at column ${decoded.column} is not valid UTF-8; the mesh file must be UTF-8 text (re-save it as UTF-8, e.g. iconv -f latin1 -t utf-8)`;
      return { kind: 'refused', error: { path: '', line: decoded.line, message }, hash, signature };
    }
    return { kind: 'read', text: decoded.text, hash, signature };
  } catch (error) {
    return refused(cannotRead(error), pathSignature(path));
  } finally {
    closeSync(fd);
  }
}

function readAtMost(fd: number, limit: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < limit) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, limit - total));
    const read = readSync(fd, chunk, 0, chunk.length, null);
    if (read === 0) break;
    chunks.push(read === chunk.length ? chunk : chunk.subarray(0, read));
    total += read;
  }
  return Buffer.concat(chunks, total);
}

function refused(error: MeshFileError, signature: string): MeshFileRead {
  return { kind: 'refused', error, hash: `refused:${signature}:${error.message}`, signature };
}

function notRegular(stats: Stats): MeshFileError {
  return {
    path: '',
    message: `is ${kindOf(stats)}, not a regular file; point --mesh at a regular file (or a symlink to one) and write it by rename`,
  };
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a file';
}

function tooBig(bytes: number, maxBytes: number): MeshFileError {
  return {
    path: '',
    message: `the file is ${bytes} bytes, over the ${maxBytes}-byte limit; if the mesh is meant to be this big, raise --mesh-max-bytes (spillway serve and spillway validate)`,
  };
}

/** The error for a mesh file that cannot be read (missing, deleted, no permission). */
export function cannotRead(error: unknown): MeshFileError {
  // Duck-typed: an Error from another realm (jest's VM, worker threads) fails `instanceof Error`.
  const message =
    typeof (error as { message?: unknown } | null)?.message === 'string'
      ? (error as { message: string }).message
      : String(error);
  return { path: '', message: `cannot read the mesh file: ${message}` };
}
