// The `spillway.io/*` annotations a Service may carry: what the mesh file says per service, said on the
// Service itself. Every wrong value is reported with the annotation named and the form it needs.
import { CanaryConfig, FailoverMode } from '../../mesh/model';
import { DEFAULT_SUBSET_LABEL } from '../../mesh/defaults';
import { LABEL_KEY, LABEL_VALUE } from '../../config-validation/value-rules';
import { parseCallList } from '../../mesh/calls';

export const ANNOTATION_PREFIX = 'spillway.io/';
export const EXPORT_ANNOTATION = 'spillway.io/export';
export const SUBSET_LABEL_ANNOTATION = 'spillway.io/subset-label';
export const FAILOVER_ANNOTATION = 'spillway.io/failover';
export const CANARY_SUBSET_ANNOTATION = 'spillway.io/canary-subset';
export const STABLE_SUBSET_ANNOTATION = 'spillway.io/stable-subset';
export const CANARY_WEIGHT_ANNOTATION = 'spillway.io/canary-weight';
export const CANARY_HEADER_ANNOTATION = 'spillway.io/canary-header';
export const CANARY_ORDER_ANNOTATION = 'spillway.io/canary-order';
/** On a Service: `"true"` makes it the cluster's east-west gateway (see gateway-service.ts). */
export const GATEWAY_ANNOTATION = 'spillway.io/gateway';
/** mTLS end to end for the Service; its pods' sidecars terminate it on the sidecar port. */
export const MTLS_ANNOTATION = 'spillway.io/mtls';
export const SIDECAR_PORT_ANNOTATION = 'spillway.io/sidecar-port';
/** The services the workload calls (`"ledger.shop, payments.billing"`): its sidecars get only these. */
export const CALLS_ANNOTATION = 'spillway.io/calls';
/** Where a workload sidecar terminates mTLS unless the Service says otherwise (Istio's inbound port). */
export const DEFAULT_SIDECAR_PORT = 15006;

const KNOWN_ANNOTATIONS = [
  EXPORT_ANNOTATION,
  SUBSET_LABEL_ANNOTATION,
  FAILOVER_ANNOTATION,
  CANARY_SUBSET_ANNOTATION,
  STABLE_SUBSET_ANNOTATION,
  CANARY_WEIGHT_ANNOTATION,
  CANARY_HEADER_ANNOTATION,
  CANARY_ORDER_ANNOTATION,
  GATEWAY_ANNOTATION,
  MTLS_ANNOTATION,
  SIDECAR_PORT_ANNOTATION,
  CALLS_ANNOTATION,
];
const FAILOVER_MODES: readonly FailoverMode[] = ['cluster', 'region'];
const CANARY_ORDERS: readonly CanaryConfig['order'][] = ['version-first', 'locality-first'];
const MAX_WEIGHT_PERCENT = 100;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** What a Service's annotations decide. */
export interface ServiceSettings {
  exportAnnotation: boolean;
  subsetLabel: string;
  failover: FailoverMode;
  canary?: CanaryConfig;
  /** Set for an mTLS Service: the port of its pods' sidecars (every endpoint's `sidecarPort`). */
  mtlsSidecarPort?: number;
  /** Declared callees (full hosts, sorted). */
  calls?: string[];
}

export const DEFAULT_SETTINGS: ServiceSettings = {
  exportAnnotation: false,
  subsetLabel: DEFAULT_SUBSET_LABEL,
  failover: 'cluster',
};

export interface SettingsResult {
  /** Settings with every wrong annotation left at its default. */
  settings: ServiceSettings;
  /** One line per wrong annotation: `spillway.io/x: "value" is not ...`. */
  errors: string[];
}

export function readServiceSettings(annotations: Readonly<Record<string, string>>): SettingsResult {
  const errors: string[] = [];
  const get = (key: string): string | undefined => annotations[key]?.trim();
  const fail = (key: string, message: string): undefined => {
    errors.push(`${key}: "${annotations[key]}" ${message}`);
    return undefined;
  };

  for (const key of Object.keys(annotations)) {
    if (key.startsWith(ANNOTATION_PREFIX) && !KNOWN_ANNOTATIONS.includes(key)) {
      errors.push(`${key}: unknown annotation (known: ${KNOWN_ANNOTATIONS.join(', ')})`);
    }
  }
  const exportText = get(EXPORT_ANNOTATION);
  const exportAnnotation =
    exportText === undefined
      ? false
      : (parseBoolean(exportText) ?? fail(EXPORT_ANNOTATION, 'must be "true" or "false"') ?? false);
  const subsetText = get(SUBSET_LABEL_ANNOTATION);
  const subsetLabel =
    subsetText === undefined
      ? DEFAULT_SUBSET_LABEL
      : LABEL_KEY.test(subsetText)
        ? subsetText
        : (fail(SUBSET_LABEL_ANNOTATION, 'is not a label key (like version or app.kubernetes.io/version)') ??
          DEFAULT_SUBSET_LABEL);
  const failoverText = get(FAILOVER_ANNOTATION);
  const failover =
    failoverText === undefined
      ? 'cluster'
      : (oneOf(failoverText, FAILOVER_MODES) ??
        fail(FAILOVER_ANNOTATION, `is not one of ${FAILOVER_MODES.join(', ')}`) ??
        'cluster');
  const canary = readCanary(get, fail);
  const mtlsSidecarPort = readMtls(get, fail);
  const callsText = annotations[CALLS_ANNOTATION];
  const calls =
    callsText === undefined
      ? undefined
      : readCalls(callsText, (message) => errors.push(`${CALLS_ANNOTATION}: ${message}`));
  return {
    settings: {
      exportAnnotation,
      subsetLabel,
      failover,
      ...(canary ? { canary } : {}),
      ...(mtlsSidecarPort ? { mtlsSidecarPort } : {}),
      ...(calls ? { calls } : {}),
    },
    errors,
  };
}

/**
 * Bounded like the mesh file's `calls:` (mesh/calls.ts). Errors name the wrong host, not the whole value
 * (which may be 16 KiB); unknown hosts are no error here: the callee may live in another cluster's shard.
 */
function readCalls(text: string, report: (message: string) => void): string[] | undefined {
  const result = parseCallList(text);
  for (const error of result.errors.slice(0, 3)) report(error);
  if (result.errors.length > 3) report(`and ${result.errors.length - 3} more hosts like these`);
  return result.hosts;
}

/** `spillway.io/mtls: "true"`, with the sidecar port from `spillway.io/sidecar-port` (default 15006). */
function readMtls(
  get: (key: string) => string | undefined,
  fail: (key: string, message: string) => undefined,
): number | undefined {
  const mtlsText = get(MTLS_ANNOTATION);
  const portText = get(SIDECAR_PORT_ANNOTATION);
  const mtls =
    mtlsText === undefined ? false : (parseBoolean(mtlsText) ?? fail(MTLS_ANNOTATION, 'must be "true" or "false"'));
  if (mtls === undefined) return undefined; // reported already
  if (!mtls)
    return portText === undefined ? undefined : fail(SIDECAR_PORT_ANNOTATION, `needs ${MTLS_ANNOTATION}: "true"`);
  if (portText === undefined) return DEFAULT_SIDECAR_PORT;
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  return port >= 1 && port <= 65535 ? port : fail(SIDECAR_PORT_ANNOTATION, 'must be a port number (1-65535)');
}

/** The canary needs both subsets; weight, header and order are optional (no weight: header only). */
function readCanary(
  get: (key: string) => string | undefined,
  fail: (key: string, message: string) => undefined,
): CanaryConfig | undefined {
  const canaryText = get(CANARY_SUBSET_ANNOTATION);
  const stableText = get(STABLE_SUBSET_ANNOTATION);
  const weightText = get(CANARY_WEIGHT_ANNOTATION);
  const headerText = get(CANARY_HEADER_ANNOTATION);
  const orderText = get(CANARY_ORDER_ANNOTATION);
  if (canaryText === undefined && stableText === undefined) {
    for (const [key, value] of [
      [CANARY_WEIGHT_ANNOTATION, weightText],
      [CANARY_HEADER_ANNOTATION, headerText],
      [CANARY_ORDER_ANNOTATION, orderText],
    ] as const) {
      if (value !== undefined) fail(key, `needs ${CANARY_SUBSET_ANNOTATION} and ${STABLE_SUBSET_ANNOTATION} too`);
    }
    return undefined;
  }
  if (canaryText === undefined) return fail(STABLE_SUBSET_ANNOTATION, `needs ${CANARY_SUBSET_ANNOTATION} too`);
  if (stableText === undefined) return fail(CANARY_SUBSET_ANNOTATION, `needs ${STABLE_SUBSET_ANNOTATION} too`);
  const canary = LABEL_VALUE.test(canaryText) ? canaryText : fail(CANARY_SUBSET_ANNOTATION, 'is not a label value');
  const stable = LABEL_VALUE.test(stableText) ? stableText : fail(STABLE_SUBSET_ANNOTATION, 'is not a label value');
  if (canary !== undefined && canary === stable)
    return fail(CANARY_SUBSET_ANNOTATION, 'must differ from the stable subset');
  const weight =
    weightText === undefined
      ? 0
      : (parsePercent(weightText) ??
        fail(CANARY_WEIGHT_ANNOTATION, `must be a whole number of percent in 0..${MAX_WEIGHT_PERCENT}`));
  const header =
    headerText === undefined
      ? undefined
      : (parseHeader(headerText) ?? fail(CANARY_HEADER_ANNOTATION, 'must be NAME=VALUE, e.g. x-canary=always'));
  const order =
    orderText === undefined
      ? 'version-first'
      : (oneOf(orderText, CANARY_ORDERS) ?? fail(CANARY_ORDER_ANNOTATION, `is not one of ${CANARY_ORDERS.join(', ')}`));
  if (canary === undefined || stable === undefined || weight === undefined || order === undefined) return undefined;
  if (headerText !== undefined && header === undefined) return undefined;
  return { canary, stable, weight, order, ...(header ? { header } : {}) };
}

function parseBoolean(text: string): boolean | undefined {
  if (text === 'true') return true;
  if (text === 'false') return false;
  return undefined;
}

function parsePercent(text: string): number | undefined {
  if (!/^\d{1,3}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= MAX_WEIGHT_PERCENT ? value : undefined;
}

/** `x-canary=always` -> header match; names are lower-cased, as Envoy matches them. */
function parseHeader(text: string): CanaryConfig['header'] {
  const equals = text.indexOf('=');
  if (equals <= 0) return undefined;
  const name = text.slice(0, equals).trim();
  const exact = text.slice(equals + 1).trim();
  return HEADER_NAME.test(name) && exact !== '' ? { name: name.toLowerCase(), exact } : undefined;
}

function oneOf<T extends string>(text: string, values: readonly T[]): T | undefined {
  return (values as readonly string[]).includes(text) ? (text as T) : undefined;
}
