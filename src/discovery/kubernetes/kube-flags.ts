// The `serve` flags that bound what Kubernetes discovery reads in one go: an exec credential plugin's run
// time and output (docs/OPERATIONS.md, "Kubernetes"), and the objects per list page.
import { DEFAULT_EXEC_LIMITS, ExecLimits } from './exec-credential';
import { DEFAULT_REFLECTOR_TIMING } from './reflector';

/** A page larger than this would make one list response (and its parse) unbounded in practice. */
export const MAX_PAGE_SIZE = 10_000;

export const KUBE_LIMIT_FLAGS = [
  {
    name: 'kube-exec-timeout-ms',
    value: 'MS',
    help: 'a kubeconfig exec credential plugin is killed (that attempt fails and is retried) after this long',
    default: String(DEFAULT_EXEC_LIMITS.timeoutMs),
  },
  {
    name: 'kube-exec-max-output-bytes',
    value: 'BYTES',
    help: 'most bytes an exec credential plugin may print; more kills it and fails the attempt',
    default: String(DEFAULT_EXEC_LIMITS.maxOutputBytes),
  },
  {
    name: 'kube-page-size',
    value: 'N',
    help: `objects per Kubernetes list page (limit/continue), at most ${MAX_PAGE_SIZE}`,
    default: String(DEFAULT_REFLECTOR_TIMING.pageSize),
  },
];

export interface KubeLimits {
  execLimits: ExecLimits;
  pageSize: number;
}

/** The limits from parsed flags (`value(flagName)` parses one positive whole number); `fail` exits. */
export function kubeLimits(value: (flagName: string) => number, fail: (message: string) => never): KubeLimits {
  const pageSize = value('kube-page-size');
  if (pageSize > MAX_PAGE_SIZE)
    fail(`--kube-page-size ${pageSize} is over ${MAX_PAGE_SIZE}; a page that large makes one response too big to hold`);
  return {
    execLimits: { timeoutMs: value('kube-exec-timeout-ms'), maxOutputBytes: value('kube-exec-max-output-bytes') },
    pageSize,
  };
}
