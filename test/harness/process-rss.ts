// Resident memory of another process, from /proc/<pid>/status (Linux), for memory-bound tests.
import * as fs from 'fs';

/** VmRSS of `pid` in bytes. */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

export const MiB = 1024 * 1024;
