// While the demo is live: a light request stream through the sidecar (so load reports, and the admin
// page's measured shares, show traffic), the failover watch printing transitions, and in the playground a
// traffic summary line every 10 s.
import type { FailoverEntry } from '../visibility/failover-tracker';
import { FailoverWatch, formatStates } from './failover-watch';
import { TrafficGenerator, formatTrafficWindow } from './traffic';

const TRAFFIC_SUMMARY_INTERVAL_MS = 10_000;

export interface LiveMonitorOptions {
  sidecarUrl: string;
  hostHeader: string;
  /** 0 sends no background traffic. */
  requestsPerSecond: number;
  /** Every failover entry, now (the tracker that serves /debug/failover). */
  failoverEntries: () => FailoverEntry[];
  clientCluster: string;
  say: (line: string) => void;
}

export class LiveMonitor {
  private readonly traffic?: TrafficGenerator;
  private readonly watch: FailoverWatch;
  private summaryTimer?: NodeJS.Timeout;

  constructor(private readonly options: LiveMonitorOptions) {
    if (options.requestsPerSecond > 0)
      this.traffic = new TrafficGenerator({
        url: options.sidecarUrl,
        hostHeader: options.hostHeader,
        requestsPerSecond: options.requestsPerSecond,
      });
    this.watch = new FailoverWatch(options.failoverEntries, options.clientCluster, options.say);
  }

  /** The traffic first (when requestsPerSecond > 0), then the watch. */
  start(): void {
    this.traffic?.start();
    this.watch.start();
  }

  /** Every 10 s: what the traffic got and the client cluster's failover states (only with traffic). */
  startSummaryLines(): void {
    const traffic = this.traffic;
    if (!traffic || this.summaryTimer) return;
    traffic.takeWindow(); // the story's own requests are not in it, but its minutes are: start afresh
    this.summaryTimer = setInterval(
      () =>
        this.options.say(
          `${formatTrafficWindow(traffic.takeWindow())} | spillway: ${formatStates(this.watch.entries())}`,
        ),
      TRAFFIC_SUMMARY_INTERVAL_MS,
    );
  }

  /** Stops the lines and the watch at once; resolves when the traffic's requests in flight are done. */
  stop(): Promise<void> {
    clearInterval(this.summaryTimer);
    this.watch.stop();
    return this.traffic?.stop() ?? Promise.resolve();
  }
}
