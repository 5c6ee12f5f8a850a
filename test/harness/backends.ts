// Starts the HTTP and gRPC backend fixtures as separate processes, so tests can kill and restart them.
import { ChildProcess, spawn } from 'child_process';
import { FAILING_LINE_PATTERN, READY_LINE_PATTERN } from '../fixtures/backend-protocol';
import { hasExited, StreamTail, terminate, trackChild, waitForLine } from './child-processes';
import { fixturePath } from './paths';
import { grpcGoBinary } from './grpc-go';

/** grpc-go: the Go backend of test/grpc-go (grpc.testing.TestService), for the grpc-go client. */
export type BackendKind = 'http' | 'grpc' | 'grpc-go';

export interface BackendOptions {
  /** Identity the backend reports (x-backend-id header / WhoReply.id). */
  id: string;
  host?: string;
  /** Fixed port; by default a free one is picked and kept across restarts. */
  port?: number;
}

export interface Backend {
  readonly kind: BackendKind;
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** "host:port" */
  readonly address: string;
  /** Pid of the current process (changes on restart). */
  readonly pid: number;
  isRunning(): boolean;
  /** Sends the signal (SIGTERM by default; SIGKILL to simulate a crash) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Kills it if running, then starts it again on the same port. */
  restart(): Promise<void>;
  /** gRPC backends: answer UNAVAILABLE from now on (up but failing), or healthy again. */
  setFailing(failing: boolean): Promise<void>;
}

const BACKEND_READY_TIMEOUT_MS = 10_000;
const FAILING_TIMEOUT_MS = 5_000;

function commandOf(kind: BackendKind, args: string[]): [string, string[]] {
  if (kind === 'grpc-go') return [grpcGoBinary(), ['server', ...args]];
  return [process.execPath, [fixturePath(kind === 'http' ? 'http-backend' : 'grpc-backend'), ...args]];
}

const runningBackends = new Set<BackendProcess>();

class BackendProcess implements Backend {
  private child: ChildProcess | undefined;

  constructor(
    readonly kind: BackendKind,
    readonly id: string,
    readonly host: string,
    public port: number,
  ) {}

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  isRunning(): boolean {
    return this.child !== undefined && !hasExited(this.child);
  }

  async start(): Promise<void> {
    const [command, args] = commandOf(this.kind, ['--host', this.host, '--port', String(this.port), '--id', this.id]);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    void trackChild(child);
    this.child = child;
    runningBackends.add(this);
    const stderr = new StreamTail(child.stderr);
    try {
      const ready = await waitForLine(
        child,
        READY_LINE_PATTERN,
        BACKEND_READY_TIMEOUT_MS,
        () => `${this.kind} backend ${this.id} on ${this.address}, stderr: ${stderr.toString()}`,
      );
      this.port = Number(ready[1]);
    } catch (err) {
      await terminate(child, 'SIGKILL');
      throw err;
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child) await terminate(this.child, signal);
    runningBackends.delete(this);
  }

  async setFailing(failing: boolean): Promise<void> {
    const child = this.child;
    if (!child || this.kind === 'http') throw new Error(`backend ${this.id} cannot be set failing`);
    const pattern = new RegExp(FAILING_LINE_PATTERN.source.replace('(true|false)', String(failing)));
    const seen = waitForLine(child, pattern, FAILING_TIMEOUT_MS, () => `backend ${this.id}`);
    child.kill(failing ? 'SIGUSR1' : 'SIGUSR2');
    await seen;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }
}

async function startBackend(kind: BackendKind, options: BackendOptions): Promise<Backend> {
  const backend = new BackendProcess(kind, options.id, options.host ?? '127.0.0.1', options.port ?? 0);
  await backend.start();
  return backend;
}

/** An HTTP server answering 200 with header x-backend-id: <id> and body {id, host, path}. */
export function startHttpBackend(options: BackendOptions): Promise<Backend> {
  return startBackend('http', options);
}

/** A gRPC server for spillway.test.v1.Echo whose Who reply carries <id>. */
export function startGrpcBackend(options: BackendOptions): Promise<Backend> {
  return startBackend('grpc', options);
}

/** A grpc-go server for grpc.testing.TestService whose UnaryCall reply carries <id> as server_id. */
export function startGrpcGoBackend(options: BackendOptions): Promise<Backend> {
  return startBackend('grpc-go', options);
}

/** Kills every backend started by this process (use in afterAll). */
export async function stopAllBackends(): Promise<void> {
  await Promise.all([...runningBackends].map((backend) => backend.kill('SIGKILL')));
}
