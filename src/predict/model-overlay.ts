// Failures laid over the model that the served views (and the failover tracker) see: how a drill makes
// real traffic move exactly as in a real failure. Held in memory only: a restart ends every overlay.
import { MeshModel } from '../mesh/model';
import { Failure, applyFailures } from './failure';

export class ModelOverlay {
  private failures: readonly Failure[] = [];
  private readonly listeners = new Set<() => void>();
  /** The last model laid over, and the result: every view of a rebuild asks for the same one. */
  private memo?: { model: MeshModel; failures: readonly Failure[]; result: MeshModel };

  /** The failures in force now. */
  active(): readonly Failure[] {
    return this.failures;
  }

  set(failures: readonly Failure[]): void {
    this.failures = [...failures];
    for (const listener of this.listeners) listener();
  }

  clear(): void {
    if (this.failures.length > 0) this.set([]);
  }

  /** The model as served: `model` itself when no overlay is in force. */
  apply(model: MeshModel): MeshModel {
    if (this.failures.length === 0) return model;
    if (this.memo?.model === model && this.memo.failures === this.failures) return this.memo.result;
    const result = applyFailures(model, this.failures);
    this.memo = { model, failures: this.failures, result };
    return result;
  }

  /** Called after every change of the failures (the server rebuilds its views). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
