// Small pieces every processor needs: turning one consume function into the signal's consumer
// interface, calling the next consumer of a signal, forwarding what a dropping processor kept,
// and config checks with the Collector's style of message (the option, what is wrong, how to fix it).
import type { ConsumeOf, ConsumerComponent } from '../component.js';
import type { ConsumeContext } from '../consumer.js';
import type { Signal, SignalData } from '../pdata/model.js';
import { countItems } from '../pdata/util.js';
import { asConsumer, consumeOf } from './consumers.js';
import type { ProcessorTelemetry } from './selftelemetry.js';

/** Wraps a consume function (and optional lifecycle hooks) as the component for `signal`. */
export function signalProcessor<S extends Signal>(
  signal: S,
  consume: ConsumeOf<S>,
  hooks: { start?: () => Promise<void>; shutdown?: (deadline?: AbortSignal) => Promise<void> } = {},
): ConsumerComponent<S> {
  return {
    ...asConsumer(signal, consume),
    start: hooks.start ?? (async () => {}),
    shutdown: hooks.shutdown ?? (async () => {}),
  } as ConsumerComponent<S>;
}

/** The next consumer's consume function for `signal`, bound to it. */
export const nextConsume = consumeOf;

/**
 * For processors that drop on purpose (filter, sampling): counts what was removed from `data`,
 * forwards what was `kept`, and stops the request here when nothing is left (as the Collector's
 * ErrSkipProcessingData does).
 */
export async function forwardKept<S extends Signal>(
  signal: S, data: SignalData[S], kept: SignalData[S], telemetry: ProcessorTelemetry, next: ConsumeOf<S>, ctx?: ConsumeContext,
): Promise<void> {
  const left = countItems(signal, kept);
  const dropped = countItems(signal, data) - left;
  if (dropped > 0) telemetry.dropped(signal, dropped);
  if (left === 0) return;
  await next(kept, ctx);
}

/** Throws unless `value` is a finite number within [min, max]. */
export function checkNumber(value: unknown, option: string, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? `a number >= ${min}` : `a number between ${min} and ${max}`;
    throw new Error(`${option}: must be ${range}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Throws unless `value` is an array of strings. */
export function checkStringList(value: unknown, option: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new Error(`${option}: must be a list of strings, got ${JSON.stringify(value)}`);
  }
  return value as string[];
}

/** Throws unless `value` is one of `allowed`. */
export function checkEnum<T extends string>(value: unknown, option: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new Error(`${option}: must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** Compiles a regular expression from config, naming the option when it is invalid. */
export function checkRegExp(pattern: unknown, option: string): RegExp {
  if (typeof pattern !== 'string') throw new Error(`${option}: must be a regular expression string, got ${JSON.stringify(pattern)}`);
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new Error(`${option}: invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
}

/**
 * Rejects keys the config loader cannot check itself (entries of lists, maps with a null default),
 * in the loader's style: `'include' has invalid keys: foo`.
 */
export function checkKeys(value: unknown, allowed: readonly string[], option: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`'${option}' expected a map, got ${JSON.stringify(value)}`);
  }
  const invalid = Object.keys(value).filter((k) => !allowed.includes(k));
  if (invalid.length) throw new Error(`'${option}' has invalid keys: ${invalid.sort().join(', ')} (valid: ${allowed.join(', ')})`);
}
