// The front door for the command line: validate a clusters file, parse a namespace list, and start
// Kubernetes discovery from a clusters file in one call.
import type { Logger } from 'pino';
import { MeshStore } from '../../mesh/store';
import { formatConfigErrors } from '../../config-validation/config-error';
import { DNS_LABEL } from '../../config-validation/value-rules';
import { loadClustersFile } from './clusters-file';
import { ExecLimits } from './exec-credential';
import { KubernetesSource } from './kubernetes-source';

export interface KubernetesDiscoveryOptions {
  clustersFile: string;
  store: MeshStore;
  logger: Logger;
  /** Overrides the namespaces of the clusters file (a command-line flag). */
  namespaces?: string[];
  /** Bounds on kubeconfig exec credential plugins (command-line flags). */
  execLimits?: ExecLimits;
  /** Objects per list page (a command-line flag). */
  pageSize?: number;
}

export type StartResult = { ok: true; source: KubernetesSource } | { ok: false; errors: string };

/** Reads and validates the clusters file, then starts watching every cluster (without waiting for syncs). */
export function startKubernetesDiscovery(options: KubernetesDiscoveryOptions): StartResult {
  const parsed = loadClustersFile(options.clustersFile);
  if (!parsed.ok) return { ok: false, errors: formatConfigErrors(options.clustersFile, parsed.errors) };
  const source = new KubernetesSource({
    clusters: parsed.clusters,
    ...(parsed.remoteSecrets ? { remoteSecrets: parsed.remoteSecrets } : {}),
    store: options.store,
    logger: options.logger.child({ component: 'kubernetes' }),
    ...(options.namespaces ? { namespaces: options.namespaces } : {}),
    ...(options.execLimits ? { execLimits: options.execLimits } : {}),
    ...(options.pageSize !== undefined ? { timing: { pageSize: options.pageSize } } : {}),
  });
  source.start();
  return { ok: true, source };
}

/** What the serve pipeline needs of a running source (the shape of composition-root's MeshSourceHandle). */
export interface KubernetesSourceHandle {
  statuses(): { name: string; reloads: number; rejected: number; lastGoodAtMs?: number }[];
  /** Every cluster synced once (for /readyz). */
  synced(): boolean;
  stop(): Promise<void>;
  readonly source: KubernetesSource;
}

export interface StarterOptions {
  clustersFile: string;
  namespaces?: string[];
  execLimits?: ExecLimits;
  pageSize?: number;
  /** Makes the error thrown for an invalid clusters file (the server's "fix your config" error type). */
  invalidConfig: (message: string) => Error;
}

/** A source starter for the serve pipeline (`extraSources`): throws `invalidConfig(...)` for a bad file. */
export function kubernetesSourceStarter(
  options: StarterOptions,
): (store: MeshStore, logger: Logger) => KubernetesSourceHandle {
  return (store, logger) => {
    const started = startKubernetesDiscovery({
      clustersFile: options.clustersFile,
      store,
      logger,
      ...(options.namespaces ? { namespaces: options.namespaces } : {}),
      ...(options.execLimits ? { execLimits: options.execLimits } : {}),
      ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
    });
    if (!started.ok)
      throw options.invalidConfig(
        `${started.errors}\n${options.clustersFile} is not a valid clusters file; fix it and start again`,
      );
    const { source } = started;
    return {
      source,
      statuses: () => source.sourceStatuses(),
      synced: () => source.allSynced(),
      stop: () => source.stop(),
    };
  };
}

/** For `spillway validate`: every error of a clusters file, one `FILE:LINE: PATH: MESSAGE` line each. */
export function validateClustersFile(path: string): { ok: true; clusters: number } | { ok: false; errors: string } {
  const parsed = loadClustersFile(path);
  return parsed.ok
    ? { ok: true, clusters: parsed.clusters.length }
    : { ok: false, errors: formatConfigErrors(path, parsed.errors) };
}

/** `shop,payments` -> ['shop', 'payments'], or the error to print. */
export function parseNamespaceList(text: string): string[] | { error: string } {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0) return { error: 'needs at least one namespace, e.g. shop,payments' };
  const wrong = names.find((name) => !DNS_LABEL.test(name));
  return wrong === undefined ? [...new Set(names)] : { error: `"${wrong}" is not a namespace name (a DNS label)` };
}
