// Decides which failures of one cluster are worth an error line. A down, unreachable or
// wrongly-credentialed API server fails every watch of the cluster at once: that is one line, not
// one per resource. Per-resource problems (a missing RBAC grant) are logged per resource.
import { ApiProblem } from './api-errors';

/** Problems that are about the API server or the credentials, never about one resource. */
const CLUSTER_WIDE: ReadonlySet<ApiProblem> = new Set<ApiProblem>([
  'unreachable',
  'tls',
  'unauthorized',
  'credentials',
  'timeout',
  'busy',
]);

export class ProblemLog {
  private readonly active = new Set<ApiProblem>();

  /**
   * Whether this failure should be logged loudly: the first of its kind for the cluster (cluster-wide
   * problems), or the first or a changed one for its resource (the others).
   */
  shouldReport(problem: ApiProblem, changedForResource: boolean): boolean {
    if (!CLUSTER_WIDE.has(problem)) return changedForResource;
    if (this.active.has(problem)) return false;
    this.active.add(problem);
    return true;
  }

  /** A watch of the cluster is open again: the next failure is news. */
  recovered(): void {
    this.active.clear();
  }
}
