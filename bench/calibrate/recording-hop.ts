// The harness side of the recording hop (recording-hop-main.ts): starts it in front of a server and
// turns its messages into promises.
import { ChildProcess, fork } from 'child_process';
import * as path from 'path';
import type { FromHop, HopStatus, ToHop } from './recording-hop-protocol';

const START_TIMEOUT_MS = 10_000;
const REPLY_TIMEOUT_MS = 10_000;

export interface FlipSeen {
  /** Per connection: when the response carrying the change passed the hop. */
  receivedNs: bigint[];
  /** When each ACK of it passed the hop. */
  ackedNs: bigint[];
  nacked: number;
}

export class RecordingHop {
  private failure?: string;

  private constructor(
    private readonly child: ChildProcess,
    readonly address: string,
  ) {
    child.on('message', (message: FromHop) => {
      if (message.kind === 'failed') this.failure ??= message.message;
    });
  }

  static async start(upstream: string): Promise<RecordingHop> {
    const child = fork(path.join(__dirname, 'recording-hop-main.js'), [upstream], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const listening = await reply(
      child,
      (m) => m.kind === 'listening',
      START_TIMEOUT_MS,
      'the recording hop to listen',
    );
    if (listening.kind !== 'listening') throw new Error('unexpected reply');
    return new RecordingHop(child, `127.0.0.1:${listening.port}`);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  async status(): Promise<HopStatus> {
    const answer = reply(this.child, (m) => m.kind === 'status', REPLY_TIMEOUT_MS, 'hop status');
    this.send({ kind: 'status' });
    const message = await answer;
    if (message.kind !== 'status') throw new Error('unexpected reply');
    return message.status;
  }

  /** Arms a flip on every synced connection; `seen` resolves once every one of them has ACKed (or NACKed) it. */
  async arm(edsName: string, timeoutMs: number): Promise<{ connections: number; seen: Promise<FlipSeen> }> {
    this.failure = undefined;
    const armed = reply(this.child, (m) => m.kind === 'armed', REPLY_TIMEOUT_MS, 'arming');
    const flip = reply(this.child, (m) => m.kind === 'flip', timeoutMs, `every client to ACK ${edsName}`);
    flip.catch(() => undefined); // observed by the caller
    this.send({ kind: 'arm', edsName });
    const message = await armed;
    const seen = flip.then(
      (m) =>
        m.kind === 'flip'
          ? {
              receivedNs: m.receivedNs.map((ns) => BigInt(ns)),
              ackedNs: m.ackedNs.map((ns) => BigInt(ns)),
              nacked: m.nacked,
            }
          : { receivedNs: [], ackedNs: [], nacked: 0 },
      (error: unknown) => {
        this.send({ kind: 'disarm' });
        throw new Error(
          `${error instanceof Error ? error.message : String(error)}${this.failure ? ` (${this.failure})` : ''}`,
        );
      },
    );
    return { connections: message.kind === 'armed' ? message.connections : 0, seen };
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect();
    this.child.kill();
  }

  private send(message: ToHop): void {
    this.child.send(message);
  }
}

function reply(
  child: ChildProcess,
  accept: (message: FromHop) => boolean,
  timeoutMs: number,
  what: string,
): Promise<FromHop> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromHop) => {
      if (!accept(message)) return;
      finish();
      resolve(message);
    };
    const onExit = (code: number | null) => {
      finish();
      reject(new Error(`recording hop exited (${code}) while waiting for ${what}`));
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`no ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
