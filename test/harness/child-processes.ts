// Bookkeeping for the processes tests start: exit promises, bounded stop, stderr tails, and a last-resort
// SIGKILL of everything still running when the test process exits, so no envoy or backend outlives jest.
import { ChildProcess } from 'child_process';
import * as readline from 'readline';
import { Readable } from 'stream';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be spawned at all (e.g. ENOENT). */
  spawnError?: string;
}

export const STOP_GRACE_MS = 3000;
const STDERR_TAIL_CHARS = 4000;

const liveChildren = new Set<ChildProcess>();
const exitPromises = new WeakMap<ChildProcess, Promise<ExitInfo>>();
const failedToSpawn = new WeakSet<ChildProcess>();
let exitHookInstalled = false;

function killLiveChildrenNow(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone: nothing to clean up.
    }
  }
}

/** Registers a child so it is SIGKILLed if the test process exits while it still runs. */
export function trackChild(child: ChildProcess): Promise<ExitInfo> {
  if (!exitHookInstalled) {
    process.on('exit', killLiveChildrenNow);
    exitHookInstalled = true;
  }
  liveChildren.add(child);
  const exited = exitOf(child);
  void exited.then(() => liveChildren.delete(child));
  return exited;
}

/** Resolves when the child has exited (immediately if it already has). */
export function exitOf(child: ChildProcess): Promise<ExitInfo> {
  let exited = exitPromises.get(child);
  if (!exited) {
    exited = new Promise<ExitInfo>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve({ code: child.exitCode, signal: child.signalCode });
        return;
      }
      child.once('exit', (code, signal) => resolve({ code, signal }));
      // A failed spawn emits 'error' and never 'exit'; later 'error's (failed kill) are harmless.
      child.on('error', (err) => {
        if (child.pid !== undefined) return;
        failedToSpawn.add(child);
        resolve({ code: null, signal: null, spawnError: err.message });
      });
    });
    exitPromises.set(child, exited);
  }
  return exited;
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null || failedToSpawn.has(child);
}

function timeout(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
}

/** Sends `signal` (SIGTERM by default), escalates to SIGKILL after graceMs, and waits for the exit. */
export async function terminate(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = STOP_GRACE_MS,
): Promise<ExitInfo> {
  const exited = exitOf(child);
  if (hasExited(child)) return exited;
  child.kill(signal);
  if ((await Promise.race([exited, timeout(graceMs)])) === 'timeout') child.kill('SIGKILL');
  return exited;
}

/** Keeps the last few thousand characters of a stream, for error messages. */
export class StreamTail {
  private text = '';

  constructor(
    stream: Readable | null,
    private readonly maxChars = STDERR_TAIL_CHARS,
  ) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      this.text = (this.text + chunk).slice(-this.maxChars);
    });
  }

  toString(): string {
    return this.text;
  }
}

/** Calls onLine for every stdout line of the child (the stream is consumed, so it never blocks). */
export function onLines(stream: Readable | null, onLine: (line: string) => void): void {
  if (!stream) throw new Error('child was spawned without a stdout pipe');
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
}

/**
 * Waits until a line matching `pattern` appears on the child's stdout and returns the match;
 * fails early if the child exits first, or after timeoutMs. `describe` names the child in errors.
 */
export function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs: number,
  describe: () => string,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      finish();
    };
    const timer = setTimeout(
      () => settle(() => reject(new Error(`${describe()}: no line matching ${pattern} within ${timeoutMs}ms`))),
      timeoutMs,
    );
    onLines(child.stdout, (line) => {
      const match = line.match(pattern);
      if (match) settle(() => resolve(match));
    });
    void exitOf(child).then((exit) =>
      settle(() => reject(new Error(`${describe()}: exited ${JSON.stringify(exit)} before printing ${pattern}`))),
    );
  });
}
