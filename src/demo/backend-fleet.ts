// The demo's backend processes, one per mesh endpoint: started together, the client cluster's killed with
// SIGKILL (a crash, as Envoy's outlier detection sees one), the stopped ones started again on their ports.
import { startBackend } from './backends';
import { DEMO_SERVICE_HOST, PlannedBackend, describeBackend } from './demo-plan';
import { RunningBackend } from './instructions';
import { ManagedProcess, ProcessGroup } from './processes';

interface BackendSlot {
  readonly planned: PlannedBackend;
  /** The current process; replaced when the backend is restarted. */
  process?: ManagedProcess;
}

export interface BackendFleetOptions {
  group: ProcessGroup;
  backends: readonly PlannedBackend[];
  /** The cluster the demo's sidecar runs in: its backends of the demo service are the ones killed. */
  clientCluster: string;
  /** Where each backend's log goes. */
  logDir: string;
  /** Says a backend that could not be restarted. */
  say: (line: string) => void;
}

export class BackendFleet {
  private readonly slots: readonly BackendSlot[];

  constructor(private readonly options: BackendFleetOptions) {
    this.slots = options.backends.map((planned) => ({ planned }));
  }

  get size(): number {
    return this.slots.length;
  }

  async startAll(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.start(slot)));
  }

  /** One line per backend: what it serves and its pid. */
  describe(): string[] {
    return this.slots.map((slot) => `${describeBackend(slot.planned).padEnd(36)} pid ${slot.process?.pid}`);
  }

  /** The client cluster's backends of the demo service, for the printed instructions. */
  clientBackends(): RunningBackend[] {
    return this.clientSlots().map((slot) => ({
      description: describeBackend(slot.planned),
      pid: slot.process?.pid ?? -1,
    }));
  }

  isBackend(child: ManagedProcess): boolean {
    return this.slots.some((slot) => slot.process === child);
  }

  /** SIGKILLs the client cluster's running backends with these versions (all when absent); returns what it killed. */
  async killClientBackends(versions?: readonly string[]): Promise<string[]> {
    const killed: string[] = [];
    for (const slot of this.clientSlots()) {
      if (!slot.process?.running || (versions && !versions.includes(slot.planned.identity.version))) continue;
      await slot.process.stop('SIGKILL');
      killed.push(`${describeBackend(slot.planned)} (pid ${slot.process.pid}, SIGKILL)`);
    }
    return killed;
  }

  /** Starts every stopped backend again on its port; returns what it restarted (failures are said). */
  async restartStopped(): Promise<string[]> {
    const restarted: string[] = [];
    for (const slot of this.slots.filter((s) => !s.process?.running)) {
      try {
        await this.start(slot);
        restarted.push(`${describeBackend(slot.planned)} (pid ${slot.process?.pid})`);
      } catch (error) {
        this.options.say(
          `could not restart ${describeBackend(slot.planned)}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    return restarted;
  }

  private async start(slot: BackendSlot): Promise<void> {
    slot.process = await startBackend(this.options.group, slot.planned, this.options.logDir);
  }

  /** The client cluster's backends of the demo service: the ones whose death shows failover. */
  private clientSlots(): BackendSlot[] {
    const service = DEMO_SERVICE_HOST.replace(/\.svc\.cluster\.local$/, '');
    return this.slots.filter(
      (s) => s.planned.identity.cluster === this.options.clientCluster && s.planned.identity.service === service,
    );
  }
}
