// Realistic hand-made Exchanges (the parsers that produce them are built concurrently) and origins.
import type { Exchange, ExchangeOrigin, HeaderList } from '../../src/protocols/exchange.js';

export const MS = 1_000_000n;

export const serverOrigin = (pid = process.pid): ExchangeOrigin => ({
  role: 'server', pid, localAddress: '127.0.0.1', localPort: 8080, remoteAddress: '127.0.0.1', remotePort: 51234, family: 4,
});

export const clientOrigin = (pid = process.pid): ExchangeOrigin => ({
  role: 'client', pid, localAddress: '127.0.0.1', localPort: 51234, remoteAddress: '127.0.0.1', remotePort: 8080, family: 4,
});

export interface HttpExchangeSpec {
  method?: string;
  target?: string;
  version?: string;
  headers?: HeaderList;
  status?: number | undefined;
  requestBody?: number;
  responseBody?: number;
  startNs?: bigint;
  durationMs?: number;
  error?: string;
  noResponse?: boolean;
}

/** An HTTP/1.1 exchange; `startNs` defaults to "now" on the monotonic clock. */
export function httpExchange(spec: HttpExchangeSpec = {}): Exchange {
  const start = spec.startNs ?? process.hrtime.bigint();
  const end = start + BigInt(Math.round((spec.durationMs ?? 30) * 1e6));
  const ex: Exchange = {
    protocol: spec.version === '2' ? 'http2' : 'http1',
    request: {
      method: spec.method ?? 'GET',
      target: spec.target ?? '/users/42?token=secret',
      version: spec.version ?? 'HTTP/1.1',
      headers: spec.headers ?? [['host', 'localhost:8080'], ['user-agent', 'curl/8.5.0']],
      bodySize: spec.requestBody ?? 0,
      startNs: start,
      endNs: start + 100_000n,
    },
  };
  if (!spec.noResponse) {
    ex.response = { status: spec.status ?? 200, headers: [['content-type', 'text/plain']], bodySize: spec.responseBody ?? 12, startNs: end - 200_000n, endNs: end };
  }
  if (spec.error) ex.error = spec.error;
  return ex;
}

export function grpcExchange(path: string, grpcStatus: number | undefined, extra: { headers?: HeaderList; durationMs?: number; grpcMessage?: string; error?: string } = {}): Exchange {
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round((extra.durationMs ?? 5) * 1e6));
  const ex: Exchange = {
    protocol: 'grpc',
    request: {
      method: 'POST', target: path, version: '2',
      headers: extra.headers ?? [[':authority', 'localhost:50051'], ['content-type', 'application/grpc'], ['user-agent', 'grpc-node-js/1.14.7']],
      bodySize: 17, startNs: start, endNs: start + 50_000n,
    },
    response: { status: 200, headers: [['content-type', 'application/grpc']], bodySize: 23, startNs: end - 10_000n, endNs: end, grpcStatus, grpcMessage: extra.grpcMessage },
    messages: { sent: 1, received: 1 },
  };
  if (extra.error) ex.error = extra.error;
  return ex;
}
