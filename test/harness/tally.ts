// Who answered how often: the common result shape of the HTTP load client and the gRPC clients.

export interface Tally {
  /** Successful responses per backend id. */
  byId: Record<string, number>;
  failures: number;
  /** Every outcome by status: HTTP codes ("200", "503") or gRPC status names ("OK", "UNAVAILABLE"). */
  statuses: Record<string, number>;
  /** The first few failure messages, for assertion output. */
  errors: string[];
}

const MAX_ERRORS_KEPT = 5;

export function emptyTally(): Tally {
  return { byId: {}, failures: 0, statuses: {}, errors: [] };
}

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

export function recordSuccess(tally: Tally, id: string, status: string): void {
  bump(tally.byId, id);
  bump(tally.statuses, status);
}

export function recordFailure(tally: Tally, status: string, message: string): void {
  tally.failures += 1;
  bump(tally.statuses, status);
  if (tally.errors.length < MAX_ERRORS_KEPT) tally.errors.push(message);
}

/** Adds `from` into `into` (used to sum streamed batches). */
export function mergeTally(into: Tally, from: Tally): void {
  for (const [id, n] of Object.entries(from.byId)) bump(into.byId, id, n);
  for (const [status, n] of Object.entries(from.statuses)) bump(into.statuses, status, n);
  into.failures += from.failures;
  for (const message of from.errors) {
    if (into.errors.length < MAX_ERRORS_KEPT) into.errors.push(message);
  }
}

export function successCount(tally: Tally): number {
  return Object.values(tally.byId).reduce((sum, n) => sum + n, 0);
}

function isCountMap(value: unknown): value is Record<string, number> {
  return typeof value === 'object' && value !== null && Object.values(value).every((n) => typeof n === 'number');
}

/** Validates a tally that crossed a process boundary as JSON. */
export function parseTally(value: unknown): Tally {
  if (typeof value !== 'object' || value === null) throw new Error('tally is not an object');
  const { byId, failures, statuses, errors } = value as Record<string, unknown>;
  if (!isCountMap(byId) || !isCountMap(statuses) || typeof failures !== 'number') {
    throw new Error(`malformed tally ${JSON.stringify(value)}`);
  }
  const messages = Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string') : [];
  return { byId, failures, statuses, errors: messages };
}
