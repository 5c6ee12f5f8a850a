// The demo's child processes (Envoys, backends): exit tracking, a bounded stop (SIGTERM, then SIGKILL),
// and a last-resort synchronous SIGKILL of everything still running when this process exits, so a crash of
// the demo leaves no orphan Envoy holding the fixed ports.
import { ChildProcess, SpawnOptions, spawn } from 'child_process';
import * as readline from 'readline';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all (e.g. ENOENT). */
  spawnError?: string;
}

export const STOP_GRACE_MS = 3_000;

export function describeExit(exit: ExitInfo): string {
  if (exit.spawnError) return `could not start: ${exit.spawnError}`;
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

export class ManagedProcess {
  readonly exited: Promise<ExitInfo>;
  private stopWasRequested = false;
  private exitInfo?: ExitInfo;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise<ExitInfo>((resolve) => {
      const settle = (info: ExitInfo) => {
        this.exitInfo ??= info;
        resolve(this.exitInfo);
      };
      child.once('exit', (code, signal) => settle({ code, signal }));
      // A failed spawn emits 'error' and never 'exit'; later errors (a failed kill) are harmless.
      child.on('error', (error) => {
        if (child.pid === undefined) settle({ code: null, signal: null, spawnError: error.message });
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** True once stop() or killNow() was called: the exit that follows is expected. */
  get stopRequested(): boolean {
    return this.stopWasRequested;
  }

  get running(): boolean {
    return this.exitInfo === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM (or `signal`), SIGKILL after graceMs; resolves on exit. Safe to call more than once. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = STOP_GRACE_MS): Promise<ExitInfo> {
    this.stopWasRequested = true;
    if (!this.running) return this.exited;
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    if ((await Promise.race([this.exited, timedOut])) === 'timeout') this.child.kill('SIGKILL');
    clearTimeout(timer);
    return this.exited;
  }

  /** Synchronous SIGKILL, for process exit where nothing async runs. */
  killNow(): void {
    this.stopWasRequested = true;
    try {
      this.child.kill('SIGKILL');
    } catch {
      // Already gone: nothing to clean up.
    }
  }

  /** Resolves with the first stdout line matching `pattern`; rejects if the process exits first or on timeout. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const stdout = this.child.stdout;
    if (!stdout) return Promise.reject(new Error(`${this.name} was started without a stdout pipe`));
    return new Promise((resolve, reject) => {
      const lines = readline.createInterface({ input: stdout, crlfDelay: Infinity });
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        lines.close();
        // Keep draining: a child blocked on a full stdout pipe would hang.
        stdout.resume();
        settle();
      };
      const timer = setTimeout(
        () =>
          finish(() => reject(new Error(`${this.name} printed no line matching ${pattern} within ${timeoutMs} ms`))),
        timeoutMs,
      );
      lines.on('line', (line) => {
        const match = pattern.exec(line);
        if (match) finish(() => resolve(match));
      });
      void this.exited.then((exit) =>
        finish(() => reject(new Error(`${this.name} ${describeExit(exit)} before it was ready`))),
      );
    });
  }
}

export type UnexpectedExitListener = (process: ManagedProcess, exit: ExitInfo) => void;

export class ProcessGroup {
  private readonly live = new Set<ManagedProcess>();
  private closed = false;
  private readonly killNow = () => this.killAllNow();

  constructor(private readonly onUnexpectedExit: UnexpectedExitListener = () => undefined) {
    process.on('exit', this.killNow);
  }

  spawn(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): ManagedProcess {
    // A start still in progress when the demo is told to stop must not leave a new process behind.
    if (this.closed) throw new Error(`not starting ${name}: the demo is stopping`);
    const managed = new ManagedProcess(name, spawn(command, args, options));
    this.live.add(managed);
    void managed.exited.then((exit) => {
      this.live.delete(managed);
      if (!managed.stopRequested) this.onUnexpectedExit(managed, exit);
    });
    return managed;
  }

  get processes(): ManagedProcess[] {
    return [...this.live];
  }

  /** Stops every live process in parallel, each bounded by its grace period. */
  async stopAll(graceMs = STOP_GRACE_MS): Promise<void> {
    await Promise.all([...this.live].map((p) => p.stop('SIGTERM', graceMs)));
  }

  /** Refuses new processes from now on, then stops every live one. */
  async close(graceMs = STOP_GRACE_MS): Promise<void> {
    this.closed = true;
    await this.stopAll(graceMs);
  }

  /** Synchronous SIGKILL of everything still running: for process exit, where nothing async runs. */
  killAllNow(): void {
    for (const managed of this.live) managed.killNow();
  }

  /** Stops listening for process exit; call after stopAll. */
  dispose(): void {
    process.off('exit', this.killNow);
  }
}
