// What a protocol parser produces from the bytes of one connection: one request/response pair.
// Pure data: no I/O, no clocks. Timestamps are the capture's (kernel monotonic ns), converted to
// wall clock once, downstream, in telemetry/.
import type { ConnectionRole } from './segment.js';

export type HeaderList = Array<[name: string, value: string]>;

export interface ExchangeRequest {
  method: string;
  /** Request target as sent (origin-form path + query, or absolute-form / authority-form). */
  target: string;
  /** `HTTP/1.0`, `HTTP/1.1`, `2`. */
  version: string;
  /** Only the headers of interest (host, user-agent, content-type, traceparent, tracestate,
   *  grpc-timeout, …); never authorization, cookie or other credentials. Lowercased names. */
  headers: HeaderList;
  /** Body size in bytes, as framed (Content-Length, chunked sum, or DATA bytes). */
  bodySize: number;
  /** Capture timestamp of the first byte of the request. */
  startNs: bigint;
  /** Capture timestamp of the last byte of the request. */
  endNs: bigint;
}

export interface ExchangeResponse {
  status: number;
  headers: HeaderList;
  bodySize: number;
  startNs: bigint;
  endNs: bigint;
  /** gRPC: status from trailers or a Trailers-Only response. */
  grpcStatus?: number;
  grpcMessage?: string;
}

export interface Exchange {
  protocol: 'http1' | 'http2' | 'grpc';
  request: ExchangeRequest;
  /** Absent when the connection closed or reset before a response. */
  response?: ExchangeResponse;
  /** gRPC streaming: messages each way (length-prefixed frames). */
  messages?: { sent: number; received: number };
  /** Set when the exchange ended abnormally: 'reset', 'closed', 'cancelled', 'truncated'. */
  error?: string;
}

/**
 * Where an exchange was seen: handed out by the capture layer (src/capture) with each Exchange,
 * read by the telemetry layer (src/telemetry).
 */
export interface ExchangeOrigin {
  /** server: the process accepted the connection; client: it connected out. */
  role: Exclude<ConnectionRole, 'unknown'>;
  /** 0 when the owning process could not be determined. */
  pid: number;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  family?: 4 | 6;
  /** True when the bytes came from a TLS library hook (plaintext seen inside the process). */
  tls?: boolean;
}
