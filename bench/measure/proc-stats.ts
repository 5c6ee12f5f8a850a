// A process's memory and CPU as the kernel counts them (Linux /proc), so Node and Go servers are
// measured the same way, from outside.
import * as fs from 'fs';

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/**
 * CPU time used so far by all threads of the process, in ns (first field of each thread's schedstat:
 * nanosecond resolution, where /proc/PID/stat counts 10 ms ticks).
 */
export function cpuNs(pid: number): number {
  let total = 0;
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return total;
}

/** CPU seconds used so far by all these processes together. */
export function cpuSeconds(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuNs(pid), 0) / 1e9;
}
