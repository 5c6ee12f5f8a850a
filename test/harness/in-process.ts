// Runs Spillway inside the test process (fast; for protocol tests and most end-to-end tests).
import { createLogger } from '../../src/log';
import { MeshModel } from '../../src/mesh/model';
import { MeshStore } from '../../src/mesh/store';
import { ControlPlane, ControlPlaneOptions } from '../../src/control-plane/control-plane';

export interface InProcessSpillway {
  spillway: ControlPlane;
  store: MeshStore;
  address: string;
  port: number;
  /** Replaces the model and waits until every watched view is rebuilt. */
  setModel(model: MeshModel): void;
  stop(): Promise<void>;
}

export async function startInProcess(
  model: MeshModel,
  overrides: Partial<ControlPlaneOptions> = {},
): Promise<InProcessSpillway> {
  const store = new MeshStore({ quietMs: 5, maxDelayMs: 20 });
  store.setShard('test', model);
  store.flush();
  const logger = createLogger((process.env.SPILLWAY_TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent');
  const spillway = new ControlPlane({ store, logger, xdsAddress: '127.0.0.1:0', ...overrides });
  const port = await spillway.start();
  return {
    spillway,
    store,
    port,
    address: `127.0.0.1:${port}`,
    setModel(next: MeshModel) {
      store.setShard('test', next);
      store.flush();
    },
    stop: () => spillway.stop(200),
  };
}
