// A cluster's `gateway` and `gatewayKind` fields, as both the mesh file and the clusters file read them.
import { GATEWAY_KINDS, GatewayAddress } from '../mesh/model';
import { At, Fields, YamlChecker } from '../config-validation/yaml-checker';

export type GatewayRead = { ok: true; gateway?: GatewayAddress } | { ok: false };

/**
 * The gateway (read by `readAddress`, which reports its own errors) with its kind; `form` names the
 * address form in the error of a kind given without a gateway ("HOST:PORT").
 */
export function readClusterGateway(
  c: YamlChecker,
  f: Fields,
  readAddress: (at: At) => GatewayAddress | undefined,
  form: string,
): GatewayRead {
  const gatewayAt = f.optional('gateway');
  const kindAt = f.optional('gatewayKind');
  const kind = kindAt ? c.oneOf(kindAt, GATEWAY_KINDS) : undefined;
  if (kindAt && kind && !gatewayAt) c.report(kindAt, `gatewayKind needs a gateway (${form}) in the same cluster`);
  const address = gatewayAt ? readAddress(gatewayAt) : undefined;
  if ((gatewayAt && !address) || (kindAt && (!kind || !gatewayAt))) return { ok: false };
  // A Spillway gateway is the default: only Istio's is marked.
  return { ok: true, ...(address ? { gateway: kind === 'istio' ? { ...address, kind } : address } : {}) };
}
