// A process's private memory (VmRSS counts the Envoy binary's ~50 MiB of shared file pages in every
// process; RssAnon is what one more process really adds).
import * as fs from 'fs';

/** Resident anonymous memory in bytes (RssAnon in /proc/PID/status). */
export function privateMemoryBytes(pid: number): number {
  const match = /^RssAnon:\s+(\d+)\s+kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no RssAnon for pid ${pid}`);
  return Number(match[1]) * 1024;
}
