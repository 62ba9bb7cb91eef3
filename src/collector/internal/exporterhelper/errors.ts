// How an export attempt failed, and which failures are worth retrying (the OTLP spec's list).

/** Thrown by an exporter's send function. `throttleMs` is the server's requested delay (Retry-After, RetryInfo). */
export class ExportError extends Error {
  constructor(message: string, readonly retryable: boolean, readonly throttleMs?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExportError';
  }
}

// gRPC status codes (numeric, so this module does not depend on grpc-js).
const CANCELLED = 1;
const DEADLINE_EXCEEDED = 4;
const RESOURCE_EXHAUSTED = 8;
const ABORTED = 10;
const OUT_OF_RANGE = 11;
const UNAVAILABLE = 14;
const DATA_LOSS = 15;

/** OTLP/gRPC: retry CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS; RESOURCE_EXHAUSTED only with RetryInfo. */
export function isRetryableGrpcCode(code: number, hasRetryInfo: boolean): boolean {
  if (code === RESOURCE_EXHAUSTED) return hasRetryInfo;
  return code === CANCELLED || code === DEADLINE_EXCEEDED || code === ABORTED || code === OUT_OF_RANGE || code === UNAVAILABLE || code === DATA_LOSS;
}

/** OTLP/HTTP: retry 429, 502, 503, 504 only. */
export const isRetryableHttpStatus = (status: number): boolean => status === 429 || status === 502 || status === 503 || status === 504;

/** `Retry-After`: delay-seconds or an HTTP date; milliseconds to wait, or undefined if absent/invalid. */
export function parseRetryAfter(value: string | undefined | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
