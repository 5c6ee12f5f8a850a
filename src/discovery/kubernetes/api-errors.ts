// Failures talking to an API server, sorted into the few kinds an operator acts on differently, each
// with a hint saying what to do next.
import { errorText } from './api-access';

export type ApiProblem =
  | 'unreachable' // connection refused, DNS, reset: the server is down or the address is wrong
  | 'tls' // the serving certificate is not trusted or does not match
  | 'unauthorized' // 401: the credentials are wrong or expired
  | 'forbidden' // 403: RBAC does not allow list/watch
  | 'not-found' // 404: the resource type is not served (CRD absent)
  | 'gone' // 410: the resource version is too old; re-list
  | 'timeout' // no answer in time
  | 'busy' // 429 or 503: the server is starting or shedding load; it says to try again
  | 'server' // any other 5xx or unexpected status
  | 'bad-response' // not the JSON the API promises
  | 'credentials'; // our own token file cannot be read, or the exec plugin failed

export class KubeApiError extends Error {
  constructor(
    readonly problem: ApiProblem,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

const TLS_ERROR_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

/** A KubeApiError for anything a request can throw (socket errors, TLS errors, our own timeouts). */
export function toApiError(error: unknown): KubeApiError {
  if (error instanceof KubeApiError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TLS_ERROR_CODES.has(code))
    return new KubeApiError('tls', `TLS: ${errorText(error)} (${code})`);
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT') return new KubeApiError('timeout', errorText(error));
  return new KubeApiError(
    'unreachable',
    typeof code === 'string' && !errorText(error).includes(code) ? `${errorText(error)} (${code})` : errorText(error),
  );
}

export function problemOfStatus(status: number): ApiProblem {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 410) return 'gone';
  if (status === 429 || status === 503) return 'busy';
  return 'server';
}

export interface HintContext {
  cluster: string;
  /** e.g. `endpointslices.discovery.k8s.io` */
  resource: string;
  /** undefined: all namespaces */
  namespace?: string;
  /** Where the access settings came from (kubeconfig path, apiServer URL). */
  origin: string;
}

/** What the operator should do about a failure, in one sentence. */
export function hintFor(error: KubeApiError, context: HintContext): string {
  const scope =
    context.namespace === undefined ? 'in all namespaces (a ClusterRole)' : `in namespace ${context.namespace}`;
  switch (error.problem) {
    case 'unreachable':
      return `check that the API server in ${context.origin} is up and reachable from here`;
    case 'tls':
      return `give the cluster's CA (caFile, or certificate-authority in the kubeconfig) in ${context.origin}`;
    case 'unauthorized':
      return `the credentials in ${context.origin} were rejected: renew the token or certificate`;
    case 'forbidden':
      return `grant get, list and watch on ${context.resource} ${scope} to the identity in ${context.origin}`;
    case 'not-found':
      return `the API server does not serve ${context.resource}: install its CRD or upgrade the cluster`;
    case 'timeout':
      return `the API server in ${context.origin} is slow or the network drops packets`;
    case 'credentials':
      return `fix the token file or exec credential plugin of ${context.origin} (the message says what failed)`;
    case 'busy':
      return 'the API server is starting up or overloaded';
    case 'gone':
      return 'the watch fell too far behind; listing again';
    case 'server':
    case 'bad-response':
      return `see the API server's logs`;
  }
}
