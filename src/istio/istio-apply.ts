// Wires `serve --istio-apply` onto Kubernetes discovery: the EnvoyFilter sync uses the clusters and API
// clients of the running Kubernetes source and follows the store's mesh, so it starts and stops with it.
import type { Logger } from 'pino';
import type { KubernetesSourceHandle } from '../discovery/kubernetes/kubernetes-discovery';
import type { MeshStore } from '../mesh/store';
import { EnvoyFilterSync } from './envoy-filter-sync';
import { IstioExtensionOptions } from './envoy-filters';

export interface IstioApplyOptions extends IstioExtensionOptions {
  resyncMs?: number;
}

export type KubernetesStarter = (store: MeshStore, logger: Logger) => KubernetesSourceHandle;

/** The same Kubernetes source, which also keeps the mesh's EnvoyFilters applied in its file-listed clusters. */
export function withIstioApply(starter: KubernetesStarter, options: IstioApplyOptions): KubernetesStarter {
  return (store, logger) => {
    const handle = starter(store, logger);
    const sync = new EnvoyFilterSync({
      ...options,
      targets: () => handle.source.fileClusters(),
      logger: logger.child({ component: 'istio' }),
    });
    sync.start(store.current());
    const unsubscribe = store.onChange((model) => sync.update(model));
    logger.info(
      { namespace: options.namespace, xds: `${options.xdsHost}:${options.xdsPort}` },
      'istio: keeping EnvoyFilters applied in every cluster of the clusters file (spillway istio render shows them)',
    );
    return {
      ...handle,
      source: handle.source,
      statuses: () => handle.statuses(),
      synced: () => handle.synced(),
      stop: async () => {
        unsubscribe();
        await sync.stop();
        await handle.stop();
      },
    };
  };
}
