// What the demo runs, and how it all stops: Spillway in-process (its log a file in the work dir) and the
// child processes (Envoys, backends) of one process group. No process outlives the demo.
import * as path from 'path';
import pino from 'pino';
import { LogLevel } from '../log';
import { RunningSpillwayServer, startSpillwayServer } from '../composition-root';
import { DEMO_ADMIN, DEMO_XDS } from './demo-plan';
import { ProcessGroup, UnexpectedExitListener } from './processes';

const SERVER_STOP_GRACE_MS = 500;

export class DemoProcesses {
  readonly group: ProcessGroup;
  private server?: RunningSpillwayServer;
  private flushLog?: () => void;

  constructor(onUnexpectedExit: UnexpectedExitListener) {
    this.group = new ProcessGroup(onUnexpectedExit);
  }

  /** Starts the same serve pipeline as `spillway serve`, on the demo's fixed addresses, serving `meshFile`. */
  async startSpillway(workDir: string, meshFile: string, logLevel: LogLevel): Promise<RunningSpillwayServer> {
    const destination = pino.destination({ dest: path.join(workDir, 'spillway.log'), sync: true });
    this.flushLog = () => destination.flushSync();
    const logger = pino({ name: 'spillway', level: logLevel, base: { pid: process.pid } }, destination);
    this.server = await startSpillwayServer({ logger, meshPath: meshFile, xds: DEMO_XDS, admin: DEMO_ADMIN });
    return this.server;
  }

  /** Whether anything was started: the stop then says what it stops. */
  anythingStarted(): boolean {
    return this.group.processes.length > 0 || this.server !== undefined;
  }

  runningChildren(): number {
    return this.group.processes.length;
  }

  /** Stops the children, lets a start still in flight fail, stops what it left, then Spillway. */
  async stop(startup: Promise<unknown>): Promise<void> {
    await this.group.close();
    // A start still in flight fails fast now (its processes are gone); then catch anything it left.
    await startup.catch(() => undefined);
    await this.group.stopAll();
    await this.server?.stop(SERVER_STOP_GRACE_MS);
    this.group.dispose();
    this.flushLog?.();
  }
}
