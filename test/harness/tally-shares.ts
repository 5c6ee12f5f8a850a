// Questions tests ask of a tally: who answered, and what share of the answers matches a rule.
import { Tally, successCount } from './tally';

/** Backend ids that answered at least once, sorted (stable for toEqual). */
export function answeredBy(tally: Tally): string[] {
  return Object.keys(tally.byId)
    .filter((id) => (tally.byId[id] ?? 0) > 0)
    .sort();
}

/** Successful answers from backends whose id matches. */
export function countWhere(tally: Tally, matches: (id: string) => boolean): number {
  return Object.entries(tally.byId)
    .filter(([id]) => matches(id))
    .reduce((sum, [, n]) => sum + n, 0);
}

/** Share (0..1) of successful answers from backends whose id matches; 0 when nothing answered. */
export function shareWhere(tally: Tally, matches: (id: string) => boolean): number {
  const total = successCount(tally);
  return total === 0 ? 0 : countWhere(tally, matches) / total;
}

/** One line for assertion messages and logs: `east-v1-1=40 west-v2-1=3 failures=1 [first error]`. */
export function describeTally(tally: Tally): string {
  const ids = answeredBy(tally).map((id) => `${id}=${tally.byId[id] ?? 0}`);
  const errors = tally.errors.length > 0 ? ` [${tally.errors[0]}]` : '';
  return `${ids.join(' ')} failures=${tally.failures}${errors}`;
}
