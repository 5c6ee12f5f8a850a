// A very big mesh file does not stall the process: while it is parsed and translated, /healthz keeps
// answering (liveness probes would otherwise restart every replica), and a one-port change reaches a
// connected sidecar in seconds. The real `spillway serve` on a generated file; the 50,000-service figures
// come from `npm run bench:big-mesh` (docs/OPERATIONS.md).
import { measureBigMesh } from '../../bench/big-mesh/measure';
import { testOutputDir } from '../harness';

const SERVICES = 15_000;
const HEALTHZ_LIMIT_MS = 1_000;
const CHANGE_LIMIT_MS = 10_000;

test(`${SERVICES} services: /healthz stays under ${HEALTHZ_LIMIT_MS} ms and a one-port change reaches the client within ${CHANGE_LIMIT_MS / 1000} s`, async () => {
  const figures = await measureBigMesh({ services: SERVICES, dir: testOutputDir('big-mesh'), timeoutMs: 120_000 });
  console.log(JSON.stringify(figures));
  expect(figures.clustersServed).toBeGreaterThanOrEqual(SERVICES);
  expect(figures.maxHealthzMsAtStart).toBeLessThan(HEALTHZ_LIMIT_MS);
  expect(figures.maxHealthzMsDuringChange).toBeLessThan(HEALTHZ_LIMIT_MS);
  expect(figures.changeReachedClientAfterMs).toBeLessThan(CHANGE_LIMIT_MS);
}, 240_000);
