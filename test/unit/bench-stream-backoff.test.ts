// The benchmark clients wait after a refused stream as the clients they imitate do: Envoy's full-jitter
// exponential backoff (500 ms base, 30 s cap) and grpc-js's (1 s, × 1.6, ± 20%, 120 s cap).
import { envoyRetryDelayMs, grpcJsRetryDelayMs } from '../../bench/load/stream-backoff';

describe('benchmark client stream backoff', () => {
  test('Envoy: uniform in [0, 500 ms × 2^(k-1)), the interval capped at 30 s', () => {
    expect(envoyRetryDelayMs(1, () => 0)).toBe(0);
    expect(envoyRetryDelayMs(1, () => 0.999)).toBe(499);
    expect(envoyRetryDelayMs(3, () => 0.5)).toBe(1000);
    expect(envoyRetryDelayMs(7, () => 0.999)).toBe(29_970);
    expect(envoyRetryDelayMs(10_000, () => 0.999)).toBe(29_970);
  });

  test('grpc-js: 1 s first, then × 1.6 with ± 20% jitter, capped at 120 s', () => {
    expect(grpcJsRetryDelayMs(1, () => 0)).toBe(1_000);
    expect(grpcJsRetryDelayMs(2, () => 0.5)).toBeCloseTo(1_600);
    expect(grpcJsRetryDelayMs(2, () => 0)).toBeCloseTo(1_280);
    expect(grpcJsRetryDelayMs(2, () => 1)).toBeCloseTo(1_920);
    expect(grpcJsRetryDelayMs(10_000, () => 0.5)).toBe(120_000);
  });
});
