// The one interface between pipeline stages. Every consume returns a promise so that refusals and
// export errors travel back upstream to the receiver (which answers 503/UNAVAILABLE, 429 or 400)
// instead of being dropped silently.
import type { Logs, Metrics, Signal, SignalData, Traces } from './pdata/model.js';

/** Request-scoped context a receiver attaches: client metadata for `batch.metadata_keys`, the peer. */
export interface ConsumeContext {
  /** Lowercased header / gRPC metadata names → values, as the receiver saw them. */
  metadata?: Record<string, string[]>;
  clientAddress?: string;
}

export interface TracesConsumer { consumeTraces(td: Traces, ctx?: ConsumeContext): Promise<void> }
export interface MetricsConsumer { consumeMetrics(md: Metrics, ctx?: ConsumeContext): Promise<void> }
export interface LogsConsumer { consumeLogs(ld: Logs, ctx?: ConsumeContext): Promise<void> }
export type Consumer<S extends Signal> =
  S extends 'traces' ? TracesConsumer : S extends 'metrics' ? MetricsConsumer : LogsConsumer;

export type ConsumeFn<S extends Signal> = (data: SignalData[S], ctx?: ConsumeContext) => Promise<void>;

/**
 * Classifies failures the way the Collector's consumererror does. A receiver maps:
 * retryable → HTTP 503 / gRPC UNAVAILABLE; resourceExhausted → 429 / RESOURCE_EXHAUSTED;
 * permanent → 400 (bad data) or 500.
 */
export class ConsumerError extends Error {
  constructor(
    message: string,
    readonly kind: 'retryable' | 'permanent' | 'resourceExhausted',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConsumerError';
  }
  static retryable(message: string, cause?: unknown) { return new ConsumerError(message, 'retryable', { cause }); }
  static permanent(message: string, cause?: unknown) { return new ConsumerError(message, 'permanent', { cause }); }
}

/** Errors that are not ConsumerErrors count as permanent: retrying a bug does not fix it. */
export const isRetryable = (err: unknown): boolean => err instanceof ConsumerError && err.kind === 'retryable';
