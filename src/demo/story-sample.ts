// Counting answers for the demo's story: who answered a batch of requests through the sidecar, as shares
// per cluster and per version, and the one-line "live counter" the story prints. Pure, so it is testable.
import { BackendIdentity } from './backend-identity';

/** One request's outcome: the backend that answered, or why none did. */
export type Answer = { identity: BackendIdentity } | { failure: string };

export interface Sample {
  total: number;
  failed: number;
  byCluster: Record<string, number>;
  byVersion: Record<string, number>;
  /** Failures per cause ("503", "timeout", ...). */
  failures: Record<string, number>;
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export function tallyAnswers(answers: readonly Answer[]): Sample {
  const sample: Sample = { total: answers.length, failed: 0, byCluster: {}, byVersion: {}, failures: {} };
  for (const answer of answers) {
    if ('failure' in answer) {
      sample.failed++;
      bump(sample.failures, answer.failure);
      continue;
    }
    bump(sample.byCluster, answer.identity.cluster);
    bump(sample.byVersion, answer.identity.version);
  }
  return sample;
}

/** Share of all requests (failures included), 0..1. */
export function share(sample: Sample, counts: Record<string, number>, key: string): number {
  return sample.total === 0 ? 0 : (counts[key] ?? 0) / sample.total;
}

function percent(value: number): string {
  return `${Math.round(value * 100)}%`;
}

/**
 * "east 0% | west 66% | south 33%": the keys in the given order (so a cluster with no answers still shows
 * as 0%), then any other key that answered; failures last when there were any.
 */
export function formatCounter(sample: Sample, counts: Record<string, number>, order: readonly string[]): string {
  const keys = [
    ...order,
    ...Object.keys(counts)
      .filter((k) => !order.includes(k))
      .sort(),
  ];
  const parts = keys.map((key) => `${key} ${percent(share(sample, counts, key))}`);
  if (sample.failed > 0) parts.push(`failed ${percent(sample.failed / sample.total)}`);
  return parts.join(' | ');
}

/** "west 67% south 33%" from relative weights. */
export function formatExpected(weights: readonly { key: string; weight: number }[]): string {
  const total = weights.reduce((sum, w) => sum + w.weight, 0);
  return weights.map((w) => `${w.key} ${percent(total === 0 ? 0 : w.weight / total)}`).join(' ');
}

/** True when every key's measured share is within `tolerance` of its weight's share. */
export function matchesWeights(
  sample: Sample,
  counts: Record<string, number>,
  weights: readonly { key: string; weight: number }[],
  tolerance: number,
): boolean {
  const total = weights.reduce((sum, w) => sum + w.weight, 0);
  if (total === 0 || sample.total === 0) return false;
  return weights.every((w) => Math.abs(share(sample, counts, w.key) - w.weight / total) <= tolerance);
}
