// Who answered: every demo backend puts its identity in a response header (and its body), so a curl, the
// traffic generator and tests can all tell which cluster, version and port served a request.

export interface BackendIdentity {
  /** Mesh cluster the backend runs in. */
  cluster: string;
  /** `name.namespace`, e.g. checkout.shop */
  service: string;
  /** Subset label value (e.g. v1), or "unversioned". */
  version: string;
  port: number;
}

export const BACKEND_IDENTITY_HEADER = 'x-demo-backend';

/** "east/checkout.shop/v1/18081": the header value; slashes never occur in the parts. */
export function formatIdentity(identity: BackendIdentity): string {
  return `${identity.cluster}/${identity.service}/${identity.version}/${identity.port}`;
}

export function parseIdentity(text: string | undefined): BackendIdentity | undefined {
  const parts = text?.split('/');
  if (parts?.length !== 4) return undefined;
  const [cluster, service, version, portText] = parts as [string, string, string, string];
  const port = Number(portText);
  if (!cluster || !service || !version || !Number.isInteger(port)) return undefined;
  return { cluster, service, version, port };
}

/** Short form for progress lines and traffic summaries: "east v1 :18081". */
export function shortIdentity(identity: BackendIdentity): string {
  return `${identity.cluster} ${identity.version} :${identity.port}`;
}

/** Printed on stdout once a backend listens; carries the bound port. */
export const BACKEND_READY_LINE = /^READY (\d+)$/;

export function readyLine(port: number): string {
  return `READY ${port}\n`;
}
