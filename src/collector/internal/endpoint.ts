// `host:port` endpoints as the Collector writes them. `localhost` binds the IPv4 loopback only, so
// a listener is never reachable from outside unless an address like 0.0.0.0 is configured.
export interface HostPort { host: string; port: number }

export function parseEndpoint(endpoint: string, what: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(endpoint.trim());
  if (!m) throw new Error(`${what}: invalid endpoint "${endpoint}" (expected host:port, e.g. 127.0.0.1:4317)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`${what}: invalid port ${port} in "${endpoint}"`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' || host === 'localhost' ? '127.0.0.1' : host, port };
}
