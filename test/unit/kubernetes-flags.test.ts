// The `serve` flags bounding Kubernetes discovery: defaults, and a page size past the bound refused.
import { KUBE_LIMIT_FLAGS, MAX_PAGE_SIZE, kubeLimits } from '../../src/discovery/kubernetes/kube-flags';

function fail(message: string): never {
  throw new Error(message);
}

describe('Kubernetes flags', () => {
  const defaults = Object.fromEntries(KUBE_LIMIT_FLAGS.map((flag) => [flag.name, Number(flag.default)]));

  test('defaults: plugins get 30 s and 64 KiB of output, lists 500 objects a page', () => {
    expect(kubeLimits((name) => defaults[name], fail)).toEqual({
      execLimits: { timeoutMs: 30_000, maxOutputBytes: 65_536 },
      pageSize: 500,
    });
  });

  test(`a page size over ${MAX_PAGE_SIZE} is refused, saying why`, () => {
    const values: Record<string, number> = { ...defaults, 'kube-page-size': MAX_PAGE_SIZE + 1 };
    expect(() => kubeLimits((name) => values[name], fail)).toThrow(/--kube-page-size 10001 is over 10000/);
  });
});
