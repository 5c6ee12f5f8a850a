// "host:port" text, the one parser for every place that takes it: CLI flags, the mesh file's gateways,
// the admin server's Host header.

/** "host:port" -> its two parts as written (the port unchecked); IPv6 hosts in brackets; else undefined. */
export function splitHostPort(text: string): { host: string; port: string } | undefined {
  const bracketed = /^\[([^\]]+)\]:([^:]*)$/.exec(text);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] };
  const colon = text.lastIndexOf(':');
  if (colon <= 0 || text.indexOf(':') !== colon) return undefined;
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

/** "host:port" -> parts, the port a number in 0..65535; IPv6 hosts in brackets. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const parts = splitHostPort(text);
  if (!parts || !/^\d{1,5}$/.test(parts.port)) return undefined;
  const port = Number(parts.port);
  return port <= 65535 ? { host: parts.host, port } : undefined;
}
