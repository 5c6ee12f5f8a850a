// The demo as a playground, once the story is told (or skipped): keys that kill, restart, drain and
// undrain the client cluster and print the status table, and the instructions for doing it by hand.
import * as path from 'path';
import { formatFailoverTable } from '../format/failover-text';
import type { FailoverEntry } from '../visibility/failover-tracker';
import { BackendFleet } from './backend-fleet';
import { DemoPlan } from './demo-plan';
import { formatInstructions } from './instructions';
import { KeyAction, KeyboardControls, keyHelp, listenForKeys } from './keyboard';
import { setClusterReadinessInFile } from './mesh-readiness';

export interface PlaygroundOptions {
  plan: DemoPlan;
  backends: BackendFleet;
  meshFile: string;
  workDir: string;
  adminUrl: string;
  sidecarUrl: string;
  sidecarAdminUrl: string;
  durationS?: number;
  /** Keys are read from here when it is a terminal. */
  input: NodeJS.ReadStream;
  failoverEntries: () => FailoverEntry[];
  say: (line: string) => void;
  quit: () => void;
}

/** How to run the CLI from the current directory, for the printed instructions. */
function cliCommand(): string {
  const cli = path.join(__dirname, '..', 'cli', 'main.js');
  const relative = path.relative(process.cwd(), cli);
  return `node ${relative.startsWith('..') ? cli : relative}`;
}

export class Playground {
  private keyboard?: KeyboardControls;

  constructor(private readonly options: PlaygroundOptions) {}

  /** True when keys are read (the input is a terminal). */
  get hasKeys(): boolean {
    return this.keyboard !== undefined;
  }

  /** Listens for keys (when the input is a terminal) and prints the instructions. */
  start(): void {
    const { options } = this;
    const actions = this.keyActions();
    this.keyboard = listenForKeys(options.input, actions, options.quit);
    options.say(
      formatInstructions({
        plan: options.plan,
        clientBackends: options.backends.clientBackends(),
        meshFile: options.meshFile,
        adminUrl: options.adminUrl,
        sidecarUrl: options.sidecarUrl,
        sidecarAdminUrl: options.sidecarAdminUrl,
        cliCommand: cliCommand(),
        workDir: options.workDir,
        keys: this.keyboard ? keyHelp(actions) : undefined,
        durationS: options.durationS,
      }),
    );
  }

  dispose(): void {
    this.keyboard?.dispose();
  }

  private keyActions(): KeyAction[] {
    const client = this.options.plan.client.name;
    return [
      { key: 'k', help: `kill ${client}'s backends`, run: () => void this.kill() },
      { key: 'r', help: 'restart stopped backends', run: () => void this.restart() },
      { key: 'd', help: `drain ${client} (ready: false)`, run: () => this.setClientReadiness(false) },
      { key: 'u', help: `undrain ${client}`, run: () => this.setClientReadiness(true) },
      { key: 's', help: 'status table', run: () => this.printStatus() },
    ];
  }

  private async kill(): Promise<void> {
    for (const killed of await this.options.backends.killClientBackends())
      this.options.say(`killed ${killed}: Envoy ejects it after a few failed requests and traffic fails over`);
  }

  private async restart(): Promise<void> {
    const restarted = await this.options.backends.restartStopped();
    if (restarted.length === 0) this.options.say('every backend is running');
    for (const line of restarted)
      this.options.say(`restarted ${line}: traffic returns once Envoy's ejection ends (about 10s)`);
  }

  private setClientReadiness(ready: boolean): void {
    const { meshFile, say } = this.options;
    const client = this.options.plan.client.name;
    const changed = setClusterReadinessInFile(meshFile, client, ready);
    if (changed === 0) say(`${client}'s endpoints are already ${ready ? 'ready' : 'not ready'}`);
    else
      say(
        `${ready ? 'marked' : 'drained:'} ${changed} endpoint(s) of ${client} ${ready ? 'ready' : 'not ready'} in ${meshFile}; Spillway pushes new EDS at once`,
      );
  }

  private printStatus(): void {
    this.options.say(formatFailoverTable({ generatedAtMs: Date.now(), entries: this.options.failoverEntries() }));
  }
}
