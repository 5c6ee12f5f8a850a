// What a workload declares it calls (mesh file `calls:`, Kubernetes annotation `spillway.io/calls`): the
// services its sidecars are given. One reader of the host forms and one set of bounds for both sources.
import { CLUSTER_DOMAIN } from './model';

/** Declared callees per service: a sidecar's view holds this many services at most when scoped. */
export const MAX_CALLS = 256;
/** Bytes of the written list (mesh file items or annotation text): bounds what one service makes us parse and keep. */
export const MAX_CALLS_BYTES = 16 * 1024;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const HOST_FORMS = '`name.namespace` or `name.namespace.svc.cluster.local`';

/**
 * The full service host a call names, accepting the forms used elsewhere in the mesh: `name.namespace`,
 * `name.namespace.svc` and `name.namespace.svc.cluster.local`. Undefined when it is none of them.
 */
export function callHost(text: string): string | undefined {
  const parts = text.trim().split('.');
  const [name, namespace, ...rest] = parts;
  if (name === undefined || namespace === undefined || !DNS_LABEL.test(name) || !DNS_LABEL.test(namespace))
    return undefined;
  const suffix = rest.join('.');
  if (suffix !== '' && suffix !== 'svc' && suffix !== `svc.${CLUSTER_DOMAIN}`) return undefined;
  return `${name}.${namespace}.svc.${CLUSTER_DOMAIN}`;
}

/** `name.namespace` of a full service host: the short form suggestions and errors are written in. */
export function shortHost(host: string): string {
  return host.endsWith(`.svc.${CLUSTER_DOMAIN}`) ? host.slice(0, -`.svc.${CLUSTER_DOMAIN}`.length) : host;
}

export const CALL_HOST_FORMS = HOST_FORMS;

export interface CallListResult {
  /** Sorted, without duplicates; absent when the list is unusable as a whole. */
  hosts?: string[];
  errors: string[];
}

/** An annotation's comma-separated list (`"ledger.shop, payments.billing"`), bounded like the mesh file's. */
export function parseCallList(text: string): CallListResult {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_CALLS_BYTES)
    return { errors: [`is ${bytes} bytes, more than the ${MAX_CALLS_BYTES} a calls list may have`] };
  const items = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length > MAX_CALLS)
    return { errors: [`names ${items.length} services, more than the ${MAX_CALLS} a calls list may name`] };
  const errors: string[] = [];
  const hosts = new Set<string>();
  for (const item of items) {
    const host = callHost(item);
    if (host === undefined) errors.push(`"${item.slice(0, 100)}" is not a service host (${HOST_FORMS})`);
    else hosts.add(host);
  }
  if (errors.length > 0) return { errors };
  return { hosts: [...hosts].sort(), errors };
}
