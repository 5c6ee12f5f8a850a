// One remote-cluster Secret (like Istio's remote secrets) read into a cluster config: the label
// `spillway.io/cluster` names the cluster, data key `kubeconfig` says how to reach its API server, and
// annotations place it (region, zone) and optionally give its east-west gateway. Pure: no I/O.
import { KubeClusterConfig } from './clusters-file';
import { parseKubeconfig } from './api-access';
import { parseGatewayAddress } from './gateway-service';
import { KubeSecret, objectKey } from './kube-objects';

export const REMOTE_CLUSTER_LABEL = 'spillway.io/cluster';
export const KUBECONFIG_KEY = 'kubeconfig';
export const REGION_ANNOTATION = 'spillway.io/region';
export const ZONE_ANNOTATION = 'spillway.io/zone';
export const SECRET_GATEWAY_ANNOTATION = 'spillway.io/gateway';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export type RemoteSecretResult = { ok: true; config: KubeClusterConfig } | { ok: false; error: string };

/** Reads a Secret; the error names the Secret and says what to fix. `namespaces`: what to watch there. */
export function readRemoteSecret(secret: KubeSecret, namespaces?: string[]): RemoteSecretResult {
  const where = `Secret ${objectKey(secret.meta)}`;
  const fail = (problem: string): RemoteSecretResult => ({
    ok: false,
    error: `${where}: ${problem}; fix the Secret (it is ignored until then)`,
  });
  const name = secret.meta.labels[REMOTE_CLUSTER_LABEL]?.trim() ?? '';
  if (!DNS_LABEL.test(name))
    return fail(
      `label ${REMOTE_CLUSTER_LABEL}: "${name}" is not a cluster name (a DNS label: lowercase letters, digits and '-')`,
    );
  const encoded = secret.data[KUBECONFIG_KEY];
  if (encoded === undefined || encoded === '')
    return fail(`has no data key "${KUBECONFIG_KEY}" (the kubeconfig of cluster ${name})`);
  const region = secret.meta.annotations[REGION_ANNOTATION]?.trim();
  const zone = secret.meta.annotations[ZONE_ANNOTATION]?.trim();
  if (!region || !zone)
    return fail(
      `needs the annotations ${REGION_ANNOTATION} and ${ZONE_ANNOTATION} (where cluster ${name} runs, e.g. europe-west1 and europe-west1-b)`,
    );
  const gatewayText = secret.meta.annotations[SECRET_GATEWAY_ANNOTATION]?.trim();
  const gateway = gatewayText ? parseGatewayAddress(gatewayText) : undefined;
  if (typeof gateway === 'string') return fail(`annotation ${SECRET_GATEWAY_ANNOTATION}: ${gateway}`);

  const origin = `${where} (key ${KUBECONFIG_KEY})`;
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  // Checked now, so a broken kubeconfig is reported against the Secret and never starts a watch.
  const access = parseKubeconfig(text, origin, process.cwd());
  if (!access.ok) return fail(access.error.replace(/\s+/g, ' ').trim()); // YAML errors span lines; a log line must not
  return {
    ok: true,
    config: {
      cluster: { name, region, zone, ...(gateway ? { gateway } : {}) },
      access: { kind: 'kubeconfig-text', text, origin },
      ...(namespaces ? { namespaces } : {}),
    },
  };
}
