// Resident memory of another process (Linux /proc/<pid>/status VmRSS), sampled while a test attacks it,
// so the test can assert the peak and what is left afterwards.
import * as fs from 'fs';

export const MiB = 1024 * 1024;

export function rssOf(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

export class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 50,
  ) {
    this.sample();
    this.timer = setInterval(() => {
      try {
        this.sample();
      } catch {
        this.stop(); // the process is gone: the test reports that on its own
      }
    }, intervalMs);
    this.timer.unref();
  }

  sample(): number {
    const rss = rssOf(this.pid);
    this.peak = Math.max(this.peak, rss);
    return rss;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
