// Who a client is, from its TLS certificate: a SPIFFE-style URI SAN `spiffe://<trust domain>/cluster/<name>`
// (optionally followed by more path, e.g. /ns/shop/sa/checkout). A client may only ask for the view of the
// cluster its certificate names, so a proxy in west cannot read east's configuration by claiming it.
import type { PeerCertificate } from 'tls';

export interface IdentityPolicy {
  trustDomain: string;
}

export type IdentityCheck = { ok: true; identity: string } | { ok: false; message: string };

/** URI SANs of a certificate, from Node's `subjectaltname` text ("URI:spiffe://..., DNS:..."). */
export function uriSans(certificate: PeerCertificate | undefined): string[] {
  const text = certificate?.subjectaltname ?? '';
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('URI:'))
    .map((part) => part.slice('URI:'.length));
}

export function clusterIdentityPrefix(policy: IdentityPolicy, clusterId: string): string {
  return `spiffe://${policy.trustDomain}/cluster/${clusterId}`;
}

export function checkClusterIdentity(
  policy: IdentityPolicy,
  certificate: PeerCertificate | undefined,
  clusterId: string,
): IdentityCheck {
  if (!certificate || Object.keys(certificate).length === 0) {
    return {
      ok: false,
      message:
        'this server requires a client certificate (mTLS); configure the xDS client with one issued by the mesh CA',
    };
  }
  const expected = clusterIdentityPrefix(policy, clusterId);
  const sans = uriSans(certificate);
  const match = sans.find((san) => san === expected || san.startsWith(`${expected}/`));
  if (match) return { ok: true, identity: match };
  return {
    ok: false,
    message: `client certificate identity ${sans.length > 0 ? sans.join(', ') : '(no URI SAN)'} does not match CLUSTER_ID "${clusterId}": expected a URI SAN starting with ${expected}`,
  };
}
