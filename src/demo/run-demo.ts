// `spillway demo`: transparent failover, live, on loopback. Spillway in-process on the embedded example mesh
// (served from a file copy, so readiness edits hot-reload), one backend process per mesh endpoint, a real
// Envoy gateway per cluster, a real Envoy sidecar in east on 127.0.0.1:15001 and a light request stream
// through it. Once up it tells the story (src/demo/story.ts), observed with counted requests; with `once`
// it then stops and exits 0 only if every step was seen. Ctrl-C, SIGTERM, `q` or --duration-s stop
// everything; no process outlives the demo.
import * as os from 'os';
import * as path from 'path';
import { LogLevel } from '../log';
import { DEMO_SERVICE_HOST } from './demo-plan';
import { DemoOutput } from './demo-output';
import { DemoProcesses } from './demo-processes';
import { SIDECAR_URL, StartedDemo, startDemo } from './demo-startup';
import { LiveMonitor } from './live-monitor';
import { Playground } from './playground';
import { ExitInfo, ManagedProcess, describeExit } from './processes';
import { StopRequest, stopOnSignals } from './stop-request';
import { StoryTelling } from './story-telling';

export interface DemoOptions {
  /** Stop by itself this many seconds after everything is up (tests); default: run until stopped. */
  durationS?: number;
  /** Requests per second the traffic generator sends through the sidecar (default 4; 0 turns it off). */
  requestsPerSecond?: number;
  /** Mesh copy, bootstraps and logs (default: <tmp>/spillway-demo). Files are overwritten, never deleted. */
  workDir?: string;
  /** Level of the Spillway log file (default info). */
  logLevel?: LogLevel;
  /** Envoy executable (default: ENVOY_BIN, else <repo>/.cache/venv/bin/envoy). */
  envoyBinary?: string;
  /** Where progress and instructions go (default stdout). */
  out?: NodeJS.WritableStream;
  /** Where a failure to start is reported (default stderr). */
  errors?: NodeJS.WritableStream;
  /** Keys are read from here when it is a terminal (default stdin). */
  input?: NodeJS.ReadStream;
  /** Handle SIGINT/SIGTERM (default true; off when the caller handles signals). */
  handleSignals?: boolean;
  /** Tell the story once everything is up (default true). */
  story?: boolean;
  /** Tell the story, then stop: exit 0 only if every step was observed (DEMO_ONCE=1, --once). */
  once?: boolean;
}

export const DEFAULT_REQUESTS_PER_SECOND = 4;

export function defaultWorkDir(): string {
  return path.join(os.tmpdir(), 'spillway-demo');
}

/** Runs the demo's parts in order (startup, live traffic and watch, story, playground) and stops them together. */
class Demo {
  private readonly output: DemoOutput;
  private readonly workDir: string;
  private readonly meshFile: string;
  private readonly stop = new StopRequest();
  private readonly processes = new DemoProcesses((child, exit) => this.onUnexpectedExit(child, exit));
  /** Set once everything is up. */
  private started?: StartedDemo;
  private monitor?: LiveMonitor;
  private story?: StoryTelling;
  private playground?: Playground;
  private durationTimer?: NodeJS.Timeout;

  constructor(private readonly options: DemoOptions) {
    this.output = new DemoOutput(options.out ?? process.stdout);
    this.workDir = path.resolve(options.workDir ?? defaultWorkDir());
    this.meshFile = path.join(this.workDir, 'mesh.yaml');
  }

  async run(): Promise<number> {
    const say = (line: string) => this.output.say(line);
    const removeSignals =
      this.options.handleSignals === false
        ? () => undefined
        : stopOnSignals(this.stop, () => this.processes.group.killAllNow(), say);
    let exitCode = 0;
    const startup = startDemo(
      {
        workDir: this.workDir,
        meshFile: this.meshFile,
        logLevel: this.options.logLevel ?? 'info',
        envoyBinary: this.options.envoyBinary,
        stopping: () => this.stop.reason !== undefined,
      },
      this.processes,
      this.output,
    );
    try {
      const outcome = await Promise.race([startup, this.stop.requested.then(() => 'stopped' as const)]);
      if (outcome !== 'stopped') {
        this.goLive(outcome);
        await this.stop.requested;
        // Once means "prove it": anything short of every step observed (a failure, a stop) is an error.
        if (this.options.once && !this.story?.passed) {
          exitCode = 1;
          const why =
            this.story?.failure ?? `stopped (${this.stop.reason}) before every step of the story was observed`;
          (this.options.errors ?? process.stderr).write(`\nspillway demo: ${why}\n`);
        }
      }
    } catch (error) {
      exitCode = 1;
      (this.options.errors ?? process.stderr).write(
        `\nspillway demo: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    } finally {
      await this.shutdown(startup);
      removeSignals();
    }
    return exitCode;
  }

  private goLive(started: StartedDemo): void {
    this.started = started;
    const failoverEntries = () => started.server.controlPlane.tracker.entries();
    this.monitor = new LiveMonitor({
      sidecarUrl: SIDECAR_URL,
      hostHeader: DEMO_SERVICE_HOST,
      requestsPerSecond: this.options.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND,
      failoverEntries,
      clientCluster: started.plan.client.name,
      say: (line) => this.output.say(line),
    });
    this.monitor.start();
    if (this.options.durationS !== undefined) {
      this.durationTimer = setTimeout(
        () => this.stop.request(`--duration-s ${this.options.durationS} elapsed`),
        this.options.durationS * 1000,
      );
    }
    if (this.options.once || this.options.story !== false) void this.tellStory(started);
    else this.goInteractive(started);
  }

  /** Runs the story; then stops (once) or hands over to the playground. */
  private async tellStory(started: StartedDemo): Promise<void> {
    const { adminUrl } = started.server;
    this.story = new StoryTelling({
      cast: started.cast,
      backends: started.backends,
      sidecarUrl: SIDECAR_URL,
      adminUrl,
      print: (line) => this.output.say(line),
      stopping: () => this.stop.reason !== undefined,
    });
    this.output.say('');
    this.output.say(`The story, observed with requests counted through the sidecar (watch it live on ${adminUrl}):`);
    const result = await this.story.tell();
    if (this.stop.reason) return;
    if (result.passed) this.output.say(`story complete: every step observed (page: ${adminUrl})`);
    else if (!('stopped' in result)) this.output.say(`story stopped at ${result.failedStep}; logs in ${this.workDir}`);
    if (this.options.once) {
      this.stop.request('the story is over (once)');
      return;
    }
    // Leave the mesh whole for the user: everything the story killed runs again.
    for (const restarted of await started.backends.restartStopped()) this.output.say(`restarted ${restarted}`);
    this.goInteractive(started);
  }

  /** Keys, instructions and the periodic traffic line: the demo as a playground. */
  private goInteractive(started: StartedDemo): void {
    if (this.stop.reason) return;
    this.monitor?.startSummaryLines();
    this.playground = new Playground({
      plan: started.plan,
      backends: started.backends,
      meshFile: this.meshFile,
      workDir: this.workDir,
      adminUrl: started.server.adminUrl,
      sidecarUrl: SIDECAR_URL,
      sidecarAdminUrl: started.sidecar.adminUrl,
      durationS: this.options.durationS,
      input: this.options.input ?? process.stdin,
      failoverEntries: () => started.server.controlPlane.tracker.entries(),
      say: (line) => this.output.say(line),
      quit: () => this.stop.request('q'),
    });
    this.playground.start();
  }

  private onUnexpectedExit(child: ManagedProcess, exit: ExitInfo): void {
    // A terminal's Ctrl-C reaches the whole process group: the children's SIGINT is the stop itself.
    if (this.stop.reason || !this.started || exit.signal === 'SIGINT') return;
    if (this.started.backends.isBackend(child)) {
      const restart = this.playground?.hasKeys ? ' (press r to restart it)' : '';
      this.output.say(
        `${child.name} (pid ${child.pid}) ${describeExit(exit)}: Envoy ejects it after a few failed requests and its traffic fails over${restart}`,
      );
    } else {
      this.output.say(
        `${child.name} (pid ${child.pid}) ${describeExit(exit)}; its log is in ${this.workDir}. Stop the demo (Ctrl-C) and start it again.`,
      );
    }
  }

  private async shutdown(startup: Promise<unknown>): Promise<void> {
    this.stop.request('shutdown');
    this.playground?.dispose();
    clearTimeout(this.durationTimer);
    const trafficStopped = this.monitor?.stop();
    const started = this.processes.anythingStarted();
    if (started)
      this.output.say(`stopping: traffic, ${this.processes.runningChildren()} processes (Envoys, backends), Spillway`);
    await trafficStopped;
    this.story?.close();
    await this.processes.stop(startup);
    if (started) this.output.say(`stopped; logs stay in ${this.workDir}`);
  }
}

/** Runs the demo until it is stopped; resolves with the process exit code (0 clean, 1 failed to start). */
export function runDemo(options: DemoOptions = {}): Promise<number> {
  return new Demo(options).run();
}
