// Which Host headers the admin server answers. A DNS-rebinding page (evil.example re-pointed at
// 127.0.0.1) is same-origin with the admin server for the browser, but its requests still carry
// `Host: evil.example`; refusing unknown names keeps /debug/config and the page out of its reach.
// Health, readiness and metrics hold no configuration and are probed by the kubelet and Prometheus with
// the Pod IP as Host, so they answer any Host.
import { splitHostPort } from '../net/host-port';

/** Paths that answer whatever the Host: probes and scrapes. */
export const ANY_HOST_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** The host name of a Host header or flag entry, without port or brackets, lower case, no trailing dot. */
export function hostName(header: string): string {
  let name = header.trim().toLowerCase();
  const withPort = splitHostPort(name);
  if (withPort) name = withPort.host;
  else if (name.startsWith('[')) name = name.slice(1, name.includes(']') ? name.indexOf(']') : undefined);
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function isLoopbackName(name: string): boolean {
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** What to show of a refused Host: a short, plain rendering (the client sent it, not us). */
function shown(header: string): string {
  const clean = header.replace(/[^A-Za-z0-9.:[\]_-]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}...` : clean;
}

export class HostPolicy {
  private readonly allowed: Set<string>;

  /** `extra`: the --admin-allowed-hosts entries (a port, if given, is not compared). */
  constructor(extra: readonly string[] = []) {
    this.allowed = new Set(extra.map(hostName).filter((name) => name.length > 0));
  }

  /** The address the server is bound to is allowed too (e.g. --admin 10.0.0.5:15014). */
  allowBoundAddress(host: string): void {
    this.allowed.add(hostName(host.includes(':') && !host.startsWith('[') ? `[${host}]` : host));
  }

  /** undefined when allowed; otherwise the short message to send with 403. */
  refusal(pathname: string, hostHeader: string | undefined): string | undefined {
    // No Host at all is not a browser (HTTP/1.0 tools): nothing to rebind.
    if (hostHeader === undefined || ANY_HOST_PATHS.has(pathname)) return undefined;
    const name = hostName(hostHeader);
    if (isLoopbackName(name) || this.allowed.has(name)) return undefined;
    return `Host "${shown(hostHeader)}" is not allowed on the admin server (DNS rebinding protection). Open it as 127.0.0.1 (e.g. through kubectl port-forward), or start spillway serve with --admin-allowed-hosts ${shown(name)}\n`;
  }
}
