// How long a client waits before it opens its ADS stream again after the server ended it (istiod, for one,
// refuses new streams above its admission rate with RESOURCE_EXHAUSTED). Each client kind waits as the
// client it imitates does, so a server that sheds load is measured with the retries it would really see.

/**
 * Envoy (SubscriptionFactory::RetryInitialDelayMs / RetryMaxDelayMs, JitteredExponentialBackOffStrategy):
 * a delay drawn uniformly from [0, 500 ms × 2^k), the interval capped at 30 s; reset once a response
 * arrives on the stream. The delay counts from the stream's end.
 */
export function envoyRetryDelayMs(failuresInRow: number, random: () => number = Math.random): number {
  const interval = Math.min(500 * 2 ** Math.min(failuresInRow - 1, 16), 30_000);
  return Math.floor(random() * interval);
}

/**
 * grpc-js-xds (grpc-js BackoffTimeout defaults): 1 s, then × 1.6 per attempt up to 120 s, ± 20% jitter after the first;
 * reset once a response arrives. Its timer starts with the stream, so the delay counts from the stream's start.
 */
export function grpcJsRetryDelayMs(failuresInRow: number, random: () => number = Math.random): number {
  if (failuresInRow <= 1) return 1_000;
  const delay = Math.min(1_000 * 1.6 ** Math.min(failuresInRow - 1, 32), 120_000);
  return delay * (1 + 0.2 * (2 * random() - 1));
}
