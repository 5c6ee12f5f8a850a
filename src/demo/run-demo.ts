// `spillway demo`: transparent failover, live, on loopback. Spillway in-process on the embedded example mesh
// (served from a file copy, so readiness edits hot-reload), one backend process per mesh endpoint, a real
// Envoy gateway per cluster, a real Envoy sidecar in east on 127.0.0.1:15001 and a light request stream
// through it. Once up it tells the story (src/demo/story.ts), observed with counted requests; with `once`
// it then stops and exits 0 only if every step was seen. Ctrl-C, SIGTERM, `q` or --duration-s stop
// everything; no process outlives the demo.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import pino from 'pino';
import { EMBEDDED_MESH_YAML } from '../discovery/embedded-mesh';
import { formatMeshErrors, parseMeshText } from '../discovery/file/mesh-file';
import { formatFailoverTable } from '../cli/status';
import { LogLevel } from '../log';
import { startBackend } from './backends';
import { BACKEND_IDENTITY_HEADER, parseIdentity, shortIdentity } from './backend-identity';
import { DEMO_ADMIN, DEMO_SERVICE_HOST, DEMO_XDS, DemoPlan, PlannedBackend, SIDECAR_OUTBOUND, describeBackend, planDemo } from './demo-plan';
import { demoBootstrap, gatewayNode, sidecarNode } from './envoy-bootstrap';
import { DemoEnvoy, checkEnvoyBinary, envoyBinary, startDemoEnvoy } from './envoy-process';
import { FailoverWatch, formatStates } from './failover-watch';
import { httpGet, pollUntil } from './http-get';
import { formatInstructions } from './instructions';
import { KeyAction, KeyboardControls, keyHelp, listenForKeys } from './keyboard';
import { setClusterReadinessInFile } from './mesh-readiness';
import { findUnavailable, formatUnavailable } from './port-check';
import { ExitInfo, ManagedProcess, ProcessGroup, describeExit } from './processes';
import { RunningSpillwayServer, startSpillwayServer } from '../spillway-server';
import { TrafficGenerator, formatTrafficWindow } from './traffic';
import { StoryCast, StoryDriver, StoryResult, castStory, runStory } from './story';
import { adminPredictDriver } from './predict-steps';
import { CountedRequests } from './story-requests';

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

const STEPS = 6;
export const DEFAULT_REQUESTS_PER_SECOND = 4;
const TRAFFIC_SUMMARY_INTERVAL_MS = 10_000;
const FIRST_REQUEST_TIMEOUT_MS = 20_000;
const SERVER_STOP_GRACE_MS = 500;
/** Printed once everything is up; tests wait for it. */
export const DEMO_READY_LINE = 'demo ready';

export function defaultWorkDir(): string {
  return path.join(os.tmpdir(), 'spillway-demo');
}

/** The folder holding package.json, above this compiled file (where .cache/venv lives). */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

/** How to run the CLI from the current directory, for the printed instructions. */
function cliCommand(): string {
  const cli = path.join(__dirname, '..', 'cli', 'main.js');
  const relative = path.relative(process.cwd(), cli);
  return `node ${relative.startsWith('..') ? cli : relative}`;
}

interface BackendSlot {
  planned: PlannedBackend;
  process?: ManagedProcess;
}

class Demo {
  private readonly out: NodeJS.WritableStream;
  private readonly workDir: string;
  private readonly meshFile: string;
  private readonly group = new ProcessGroup((child, exit) => this.onUnexpectedExit(child, exit));
  private readonly backends: BackendSlot[] = [];
  private readonly envoys: DemoEnvoy[] = [];
  private plan?: DemoPlan;
  private server?: RunningSpillwayServer;
  private traffic?: TrafficGenerator;
  private watch?: FailoverWatch;
  private keyboard?: KeyboardControls;
  private readonly timers: NodeJS.Timeout[] = [];
  private flushLog?: () => void;
  private live = false;
  private cast?: StoryCast;
  private counted?: CountedRequests;
  private storyFailure?: string;
  private storyPassed = false;
  private stopReason?: string;
  private resolveStop: (reason: string) => void = () => {};
  private readonly stopRequested = new Promise<string>((resolve) => {
    this.resolveStop = resolve;
  });

  constructor(private readonly options: DemoOptions) {
    this.out = options.out ?? process.stdout;
    this.workDir = path.resolve(options.workDir ?? defaultWorkDir());
    this.meshFile = path.join(this.workDir, 'mesh.yaml');
  }

  async run(): Promise<number> {
    const removeSignals = this.options.handleSignals === false ? () => {} : this.installSignalHandlers();
    let exitCode = 0;
    const startup = this.start();
    try {
      const outcome = await Promise.race([startup.then(() => 'started' as const), this.stopRequested.then(() => 'stopped' as const)]);
      if (outcome === 'started') {
        this.goLive();
        await this.stopRequested;
        // Once means "prove it": anything short of every step observed (a failure, a stop) is an error.
        if (this.options.once && !this.storyPassed) {
          exitCode = 1;
          const why = this.storyFailure ?? `stopped (${this.stopReason}) before every step of the story was observed`;
          (this.options.errors ?? process.stderr).write(`\nspillway demo: ${why}\n`);
        }
      }
    } catch (error) {
      exitCode = 1;
      (this.options.errors ?? process.stderr).write(`\nspillway demo: ${error instanceof Error ? error.message : String(error)}\n`);
    } finally {
      await this.shutdown(startup);
      removeSignals();
    }
    return exitCode;
  }

  // ---- start ----

  private async start(): Promise<void> {
    const startedAtMs = Date.now();
    this.say(`Spillway demo: transparent multi-cluster failover on the embedded example mesh, all on loopback`);
    this.say(`  work dir ${this.workDir} (mesh.yaml, logs)`);

    const parsed = parseMeshText(EMBEDDED_MESH_YAML);
    if (!parsed.ok) throw new Error('the embedded mesh is invalid (a bug): ' + formatMeshErrors('embedded', parsed.errors));
    const plan = planDemo(parsed.model);
    this.plan = plan;
    this.cast = castStory(parsed.model, plan);
    this.backends.push(...plan.backends.map((planned) => ({ planned })));

    const binary = this.options.envoyBinary ?? envoyBinary(repoRoot());
    const missingEnvoy = checkEnvoyBinary(binary);
    if (missingEnvoy) throw new Error(missingEnvoy);
    this.step(1, `checking ${plan.addresses.length} fixed addresses`);
    const unavailable = await findUnavailable(plan.addresses);
    if (unavailable.length > 0) {
      // Envoys outlive only a demo killed with SIGKILL; their command lines name this work dir.
      throw new Error(`${formatUnavailable(unavailable)}\nhint: Envoys left by an earlier demo that was killed outright: pgrep -af 'envoy -c ${this.workDir}'`);
    }
    this.detail('all free');
    // Written only now: a second demo started by mistake must not reset the running one's mesh edits.
    fs.mkdirSync(this.workDir, { recursive: true });
    fs.writeFileSync(this.meshFile, EMBEDDED_MESH_YAML);

    this.step(2, 'starting Spillway');
    this.server = await this.startServer();
    this.detail(`xDS ${DEMO_XDS.host}:${this.server.xdsPort}, admin ${this.server.adminUrl} (log ${path.join(this.workDir, 'spillway.log')})`);

    this.step(3, `starting ${this.backends.length} backends`);
    await Promise.all(this.backends.map((slot) => this.startBackendSlot(slot)));
    for (const slot of this.backends) this.detail(`${describeBackend(slot.planned).padEnd(36)} pid ${slot.process?.pid}`);

    this.step(4, `starting ${plan.gateways.length} gateway Envoys and waiting for their config`);
    const gateways = await Promise.all(
      plan.gateways.map((g) =>
        startDemoEnvoy({ name: `gateway-${g.cluster.name}`, bootstrap: demoBootstrap(gatewayNode(g.cluster), DEMO_XDS), binary, workDir: this.workDir, group: this.group }),
      ),
    );
    this.envoys.push(...gateways);
    plan.gateways.forEach((g, i) => this.detail(`${g.cluster.name.padEnd(6)} ${g.host}:${g.port}  pid ${gateways[i]?.process.pid}`));

    this.step(5, `starting the sidecar Envoy of ${plan.client.name}`);
    const sidecar = await startDemoEnvoy({
      name: `sidecar-${plan.client.name}`,
      bootstrap: demoBootstrap(sidecarNode(plan.client, SIDECAR_OUTBOUND), DEMO_XDS),
      binary,
      workDir: this.workDir,
      group: this.group,
    });
    this.envoys.push(sidecar);
    this.detail(`outbound ${SIDECAR_OUTBOUND.host}:${SIDECAR_OUTBOUND.port}  pid ${sidecar.process.pid}  admin ${sidecar.adminUrl}`);

    this.step(6, 'first request through the sidecar');
    const answeredBy = await this.firstRequest(plan.client.name);
    this.detail(`answered by ${answeredBy}`);
    this.say(`${DEMO_READY_LINE} in ${((Date.now() - startedAtMs) / 1000).toFixed(1)}s`);
  }

  private async startServer(): Promise<RunningSpillwayServer> {
    const destination = pino.destination({ dest: path.join(this.workDir, 'spillway.log'), sync: true });
    this.flushLog = () => destination.flushSync();
    const logger = pino({ name: 'spillway', level: this.options.logLevel ?? 'info', base: { pid: process.pid } }, destination);
    return startSpillwayServer({ logger, meshPath: this.meshFile, xds: DEMO_XDS, admin: DEMO_ADMIN });
  }

  private async startBackendSlot(slot: BackendSlot): Promise<void> {
    slot.process = await startBackend(this.group, slot.planned, this.workDir);
  }

  private sidecarUrl(): string {
    return `http://${SIDECAR_OUTBOUND.host}:${SIDECAR_OUTBOUND.port}/`;
  }

  /** Polls through the sidecar until a backend of the client cluster answers: the whole path works. */
  private firstRequest(clientCluster: string): Promise<string> {
    return pollUntil(
      `a request through the sidecar (${this.sidecarUrl()}, Host ${DEMO_SERVICE_HOST}) answered by ${clientCluster}`,
      async () => {
        const response = await httpGet(this.sidecarUrl(), { headers: { host: DEMO_SERVICE_HOST } });
        const identity = parseIdentity(response.headers[BACKEND_IDENTITY_HEADER] as string | undefined);
        if (response.status !== 200 || !identity) throw new Error(`status ${response.status}: ${response.body.slice(0, 200)}`);
        return identity.cluster === clientCluster ? shortIdentity(identity) : undefined;
      },
      { timeoutMs: FIRST_REQUEST_TIMEOUT_MS, giveUp: () => (this.stopReason ? 'the demo is stopping' : undefined) },
    );
  }

  // ---- live ----

  private goLive(): void {
    const plan = this.plan as DemoPlan;
    const server = this.server as RunningSpillwayServer;
    this.live = true;
    const rps = this.options.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND;
    if (rps > 0) {
      this.traffic = new TrafficGenerator({ url: this.sidecarUrl(), hostHeader: DEMO_SERVICE_HOST, requestsPerSecond: rps });
      this.traffic.start();
    }
    this.watch = new FailoverWatch(() => server.spillway.tracker.entries(), plan.client.name, (line) => this.say(line));
    this.watch.start();
    if (this.options.durationS !== undefined) {
      this.timers.push(setTimeout(() => this.requestStop(`--duration-s ${this.options.durationS} elapsed`), this.options.durationS * 1000));
    }
    if (this.options.once || this.options.story !== false) void this.tellStory();
    else this.goInteractive();
  }

  /** Runs the story; then stops (once) or hands over to the keys and instructions. */
  private async tellStory(): Promise<void> {
    const server = this.server as RunningSpillwayServer;
    this.counted = new CountedRequests(this.sidecarUrl(), DEMO_SERVICE_HOST);
    this.say('');
    this.say(`The story, observed with requests counted through the sidecar (watch it live on ${server.adminUrl}):`);
    let result: StoryResult;
    try {
      result = await runStory(this.cast as StoryCast, this.storyDriver());
    } catch (error) {
      result = { passed: false, failedStep: 'the story itself', reason: error instanceof Error ? error.message : String(error) };
    }
    this.storyPassed = result.passed;
    if (this.stopReason) return;
    if (result.passed) this.say(`story complete: every step observed (page: ${server.adminUrl})`);
    else if (!('stopped' in result)) this.say(`story stopped at ${result.failedStep}; logs in ${this.workDir}`);
    if (this.options.once) {
      if (!result.passed && !('stopped' in result)) this.storyFailure = `story failed at ${result.failedStep}: ${result.reason}`;
      this.requestStop('the story is over (once)');
      return;
    }
    // Leave the mesh whole for the user: everything the story killed runs again.
    for (const restarted of await this.restartStopped()) this.say(`restarted ${restarted}`);
    this.goInteractive();
  }

  private storyDriver(): StoryDriver {
    const counted = this.counted as CountedRequests;
    return {
      send: (count, headers) => counted.send(count, headers),
      kill: (versions) => this.killClientBackends(versions),
      restart: () => this.restartStopped(),
      // Lines from a story still unwinding after Ctrl-C would only confuse the stop messages.
      print: (line) => {
        if (!this.stopReason) this.say(line);
      },
      stopping: () => this.stopReason !== undefined,
      predict: this.server ? adminPredictDriver(this.server.adminUrl) : undefined,
    };
  }

  /** Keys, instructions and the periodic traffic line: the demo as a playground. */
  private goInteractive(): void {
    if (this.stopReason) return;
    const plan = this.plan as DemoPlan;
    const server = this.server as RunningSpillwayServer;
    if (this.traffic && this.watch) {
      const traffic = this.traffic;
      const watch = this.watch;
      traffic.takeWindow(); // the story's own requests are not in it, but its minutes are: start afresh
      this.timers.push(setInterval(() => this.say(`${formatTrafficWindow(traffic.takeWindow())} | spillway: ${formatStates(watch.entries())}`), TRAFFIC_SUMMARY_INTERVAL_MS));
    }
    const actions = this.keyActions(plan);
    this.keyboard = listenForKeys(this.options.input ?? process.stdin, actions, () => this.requestStop('q'));
    const sidecar = this.envoys.find((e) => e.name.startsWith('sidecar')) as DemoEnvoy;
    this.say(
      formatInstructions({
        plan,
        clientBackends: this.clientBackends().map((slot) => ({ description: describeBackend(slot.planned), pid: slot.process?.pid ?? -1 })),
        meshFile: this.meshFile,
        adminUrl: server.adminUrl,
        sidecarUrl: this.sidecarUrl(),
        sidecarAdminUrl: sidecar.adminUrl,
        cliCommand: cliCommand(),
        workDir: this.workDir,
        keys: this.keyboard ? keyHelp(actions) : undefined,
        durationS: this.options.durationS,
      }),
    );
  }

  /** The client cluster's backends of the demo service: the ones whose death shows failover. */
  private clientBackends(): BackendSlot[] {
    const plan = this.plan as DemoPlan;
    const service = DEMO_SERVICE_HOST.replace(/\.svc\.cluster\.local$/, '');
    return this.backends.filter((s) => s.planned.identity.cluster === plan.client.name && s.planned.identity.service === service);
  }

  private keyActions(plan: DemoPlan): KeyAction[] {
    const client = plan.client.name;
    return [
      { key: 'k', help: `kill ${client}'s backends`, run: () => void this.killFromKey() },
      { key: 'r', help: 'restart stopped backends', run: () => void this.restartFromKey() },
      { key: 'd', help: `drain ${client} (ready: false)`, run: () => this.setClientReadiness(false) },
      { key: 'u', help: `undrain ${client}`, run: () => this.setClientReadiness(true) },
      { key: 's', help: 'status table', run: () => this.printStatus() },
    ];
  }

  /** SIGKILLs (a crash) the client cluster's running backends with these versions; returns what it killed. */
  private async killClientBackends(versions?: readonly string[]): Promise<string[]> {
    const killed: string[] = [];
    for (const slot of this.clientBackends()) {
      if (!slot.process?.running || (versions && !versions.includes(slot.planned.identity.version))) continue;
      await slot.process.stop('SIGKILL');
      killed.push(`${describeBackend(slot.planned)} (pid ${slot.process.pid}, SIGKILL)`);
    }
    return killed;
  }

  /** Starts every stopped backend again on its port; returns what it restarted (failures are said). */
  private async restartStopped(): Promise<string[]> {
    const restarted: string[] = [];
    for (const slot of this.backends.filter((s) => !s.process?.running)) {
      try {
        await this.startBackendSlot(slot);
        restarted.push(`${describeBackend(slot.planned)} (pid ${slot.process?.pid})`);
      } catch (error) {
        this.say(`could not restart ${describeBackend(slot.planned)}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return restarted;
  }

  private async killFromKey(): Promise<void> {
    for (const killed of await this.killClientBackends()) this.say(`killed ${killed}: Envoy ejects it after a few failed requests and traffic fails over`);
  }

  private async restartFromKey(): Promise<void> {
    const restarted = await this.restartStopped();
    if (restarted.length === 0) this.say('every backend is running');
    for (const line of restarted) this.say(`restarted ${line}: traffic returns once Envoy's ejection ends (about 10s)`);
  }

  private setClientReadiness(ready: boolean): void {
    const client = (this.plan as DemoPlan).client.name;
    const changed = setClusterReadinessInFile(this.meshFile, client, ready);
    if (changed === 0) this.say(`${client}'s endpoints are already ${ready ? 'ready' : 'not ready'}`);
    else this.say(`${ready ? 'marked' : 'drained:'} ${changed} endpoint(s) of ${client} ${ready ? 'ready' : 'not ready'} in ${this.meshFile}; Spillway pushes new EDS at once`);
  }

  private printStatus(): void {
    const server = this.server as RunningSpillwayServer;
    this.say(formatFailoverTable({ generatedAtMs: Date.now(), entries: server.spillway.tracker.entries() }));
  }

  private onUnexpectedExit(child: ManagedProcess, exit: ExitInfo): void {
    // A terminal's Ctrl-C reaches the whole process group: the children's SIGINT is the stop itself.
    if (this.stopReason || !this.live || exit.signal === 'SIGINT') return;
    const slot = this.backends.find((s) => s.process === child);
    if (slot) {
      const restart = this.keyboard ? ' (press r to restart it)' : '';
      this.say(`${child.name} (pid ${child.pid}) ${describeExit(exit)}: Envoy ejects it after a few failed requests and its traffic fails over${restart}`);
    } else {
      this.say(`${child.name} (pid ${child.pid}) ${describeExit(exit)}; its log is in ${this.workDir}. Stop the demo (Ctrl-C) and start it again.`);
    }
  }

  // ---- stop ----

  private requestStop(reason: string): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.resolveStop(reason);
  }

  private installSignalHandlers(): () => void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.stopReason) {
        // A second Ctrl-C: the user does not want to wait.
        this.group.killAllNow();
        process.exit(130);
      }
      this.say(`\n${signal}: stopping everything (send it again to force)`);
      this.requestStop(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }

  private async shutdown(startup: Promise<void>): Promise<void> {
    this.requestStop('shutdown');
    this.keyboard?.dispose();
    for (const timer of this.timers) clearTimeout(timer);
    this.watch?.stop();
    const stopped = this.group.processes.length;
    if (stopped > 0 || this.server) this.say(`stopping: traffic, ${stopped} processes (Envoys, backends), Spillway`);
    await this.traffic?.stop();
    this.counted?.close();
    await this.group.close();
    // A start still in flight fails fast now (its processes are gone); then catch anything it left.
    await startup.catch(() => undefined);
    await this.group.stopAll();
    await this.server?.stop(SERVER_STOP_GRACE_MS);
    this.group.dispose();
    this.flushLog?.();
    if (stopped > 0 || this.server) this.say(`stopped; logs stay in ${this.workDir}`);
  }

  // ---- output ----

  private say(line: string): void {
    this.out.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  private step(n: number, text: string): void {
    this.say(`[${n}/${STEPS}] ${text}`);
  }

  private detail(text: string): void {
    this.say(`      ${text}`);
  }
}

/** Runs the demo until it is stopped; resolves with the process exit code (0 clean, 1 failed to start). */
export function runDemo(options: DemoOptions = {}): Promise<number> {
  return new Demo(options).run();
}
