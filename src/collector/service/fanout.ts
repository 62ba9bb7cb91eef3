// One consume → several consumers (a pipeline's exporters, or a receiver's pipelines). Every
// branch runs; the call rejects if any branch failed, with an error that stays retryable only when
// every failure was retryable (retrying then cannot duplicate into a branch that failed for good).
// Consumers that mutate data get their own copy; read-only consumers share one.
import type { ConsumeOf } from '../component.js';
import { ConsumerError } from '../consumer.js';
import type { Signal } from '../pdata/model.js';
import { cloneData } from '../pdata/util.js';

export interface FanoutBranch<S extends Signal> {
  consume: ConsumeOf<S>;
  mutatesData: boolean;
}

function combineErrors(errors: unknown[]): unknown {
  if (errors.length === 1) return errors[0];
  const kinds = errors.map((e) => (e instanceof ConsumerError ? e.kind : 'permanent'));
  const kind = kinds.every((k) => k === 'retryable') ? 'retryable' : kinds.every((k) => k === 'resourceExhausted') ? 'resourceExhausted' : 'permanent';
  const message = errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ');
  return new ConsumerError(message, kind, { cause: errors[0] });
}

export function fanout<S extends Signal>(signal: S, branches: FanoutBranch<S>[]): FanoutBranch<S> {
  if (branches.length === 1) return branches[0]!;
  // Mutating branches always get copies because a sibling may still be reading the original.
  const consume: ConsumeOf<S> = async (data, ctx) => {
    const results = await Promise.allSettled(
      branches.map((b) => b.consume(b.mutatesData ? cloneData(signal, data) : data, ctx)),
    );
    const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
    if (errors.length) throw combineErrors(errors);
  };
  // Every branch got its own copy where needed, so the fan-out itself never mutates its input.
  return { consume, mutatesData: false };
}
