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

/**
 * A request whose head was parsed, told before its Exchange completes: trace context is decided
 * when a request starts, so a caller's is known before the calls it makes (telemetry/).
 */
export interface RequestStart {
  /** The request's place on its connection (HTTP/1.x: 1, 2, … in order; HTTP/2: the stream id); its Exchange carries the same. */
  sequence: number;
  /** The request headers of interest (traceparent, tracestate, …), as in ExchangeRequest. */
  headers: HeaderList;
  /** Capture timestamp of the request's first byte. */
  startNs: bigint;
}

/** What takeStarts() returns when no request started (shared: most pushes start none). */
export const NO_STARTS: readonly RequestStart[] = Object.freeze([]);

export interface Exchange {
  protocol: 'http1' | 'http2' | 'grpc';
  /** The request's place on its connection, as told by its RequestStart. */
  sequence?: number;
  request: ExchangeRequest;
  /** Absent when the connection closed or reset before a response. */
  response?: ExchangeResponse;
  /** gRPC streaming: messages each way (length-prefixed frames). */
  messages?: { sent: number; received: number };
  /** Set when the exchange ended abnormally: 'reset', 'closed', 'cancelled', 'truncated'. */
  error?: string;
}

/** One request across layers: its connection (ExchangeOrigin.connectionId) and its sequence there. */
export interface RequestRef {
  connectionId: number;
  sequence: number;
}

/** The request a process was serving when it made a call (the call's in-process parent). */
export interface InProcessParent extends RequestRef {
  /**
   * False when the calling thread serves one request at a time (thread per request: the request it
   * read last is the one it serves). True when a process's main thread made the call: event loops
   * (Node.js, nginx, asyncio) serve many requests on one thread, so the request read last is the
   * one served only when the call is made before the next read — an inference. True for Go
   * programs too, whose goroutines move between threads.
   */
  inferred: boolean;
}

/** A request that started (its head was parsed), where, and what links it to other requests on this host (told by the capture layer). */
export interface StartedRequest {
  start: RequestStart;
  origin: ExchangeOrigin;
  /** Client requests: the request the process was serving when it sent this one. */
  parent?: InProcessParent;
  /** Server requests: the client request on the other end of this connection, when that end is on this host too. */
  peer?: RequestRef;
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
  /** Identifies the connection while the capture layer tracks it (RequestRef.connectionId). */
  connectionId?: number;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  family?: 4 | 6;
  /** True when the bytes came from a TLS library hook (plaintext seen inside the process). */
  tls?: boolean;
}
