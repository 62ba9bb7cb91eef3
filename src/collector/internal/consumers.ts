// Adapters between a signal-generic consume function and the per-signal consumer interfaces
// (consumeTraces / consumeMetrics / consumeLogs), so a component can be written once for all signals.
import type { ConsumerComponent, Host } from '../component.js';
import type { Consumer } from '../consumer.js';
import type { Signal } from '../pdata/model.js';
import type { ConsumeOf } from '../component.js';

export const CONSUME_METHOD = { traces: 'consumeTraces', metrics: 'consumeMetrics', logs: 'consumeLogs' } as const;

/** Wraps a consume function as the consumer object for one signal. */
export function asConsumer<S extends Signal>(signal: S, consume: ConsumeOf<S>): Consumer<S> {
  return { [CONSUME_METHOD[signal]]: consume } as unknown as Consumer<S>;
}

/**
 * The consume function of a per-signal consumer object (bound). A component that throws instead of
 * rejecting (an encoder overflowing its stack, a bug) refuses the data the same way: the caller
 * always gets a promise, so nothing throws out of a caller's timer or callback into the process.
 */
export function consumeOf<S extends Signal>(signal: S, c: Consumer<S>): ConsumeOf<S> {
  const fn = (c as unknown as Record<string, ConsumeOf<S>>)[CONSUME_METHOD[signal]];
  if (typeof fn !== 'function') throw new Error(`component does not implement ${CONSUME_METHOD[signal]}`);
  return (data, ctx) => {
    try {
      return fn.call(c, data, ctx);
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

/** Builds a ConsumerComponent from a consume function and a lifecycle. */
export function asComponent<S extends Signal>(
  signal: S,
  impl: { consume: ConsumeOf<S>; start(host: Host): Promise<void>; shutdown(deadline?: AbortSignal): Promise<void> },
): ConsumerComponent<S> {
  return {
    ...asConsumer(signal, (d, ctx) => impl.consume(d, ctx)),
    start: (host: Host) => impl.start(host),
    shutdown: (deadline?: AbortSignal) => impl.shutdown(deadline),
  } as ConsumerComponent<S>;
}
