// Sampling policies of the tail_sampling processor. Each policy looks at a whole buffered trace
// and returns a decision; the processor combines them (any drop → not sampled; any inverted
// not-sampled → not sampled; any sampled → sampled; an inverted sampled without any not-sampled →
// sampled; otherwise not sampled), as the Collector does.
import { ConditionSet, compileCondition, ERROR_MODES, type ErrorMode } from '../../internal/ottl/index.js';
import { checkEnum, checkKeys, checkNumber, checkRegExp, checkStringList } from '../../internal/processorhelper.js';
import type { AnyValue, InstrumentationScope, Resource, ResourceSpans, ScopeSpans, Span } from '../../pdata/model.js';
import { StatusCode } from '../../pdata/model.js';

export interface SpanRef { span: Span; rs: ResourceSpans; ss: ScopeSpans }
export interface TraceView { traceId: string; spans: SpanRef[] }
export type Decision = 'sampled' | 'not_sampled' | 'invert_sampled' | 'invert_not_sampled' | 'dropped';

export interface Policy {
  name: string;
  type: string;
  evaluate(trace: TraceView): Decision;
}

export interface PolicyConfig { name: string; type: string; [settings: string]: unknown }

const SIMPLE_TYPES = ['always_sample', 'latency', 'numeric_attribute', 'probabilistic', 'status_code', 'string_attribute',
  'boolean_attribute', 'rate_limiting', 'span_count', 'trace_state', 'ottl_condition'] as const;
const COMPOSED_TYPES = ['and', 'drop', 'composite'] as const;
const ALL_TYPES = [...SIMPLE_TYPES, ...COMPOSED_TYPES];

/** Whether any resource or span attribute `key` of the trace satisfies `test` (policies match either, as upstream). */
function anyAttribute(trace: TraceView, key: string, test: (v: AnyValue) => boolean): boolean {
  const seen = new Set<Resource>();
  for (const { span, rs } of trace.spans) {
    if (!seen.has(rs.resource)) {
      seen.add(rs.resource);
      const rv = rs.resource.attributes[key];
      if (rv !== undefined && test(rv)) return true;
    }
    const v = span.attributes[key];
    if (v !== undefined && test(v)) return true;
  }
  return false;
}

function matchDecision(matched: boolean, invert: boolean): Decision {
  if (invert) return matched ? 'invert_not_sampled' : 'invert_sampled';
  return matched ? 'sampled' : 'not_sampled';
}

/** FNV-1a 64 over the salt's bytes then the trace id's bytes (upstream's hashTraceID). */
function fnv1a64(salt: string, id: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  const mask = 0xffffffffffffffffn;
  for (const b of [...Buffer.from(salt, 'utf8'), ...id]) h = ((h ^ BigInt(b)) * 0x100000001b3n) & mask;
  return h;
}

/** floor((2^64 − 1) × ratio), exactly: a double is m / 2^e with integer m. */
function probabilityThreshold(ratio: number): bigint {
  if (ratio >= 1) return 0xffffffffffffffffn;
  let m = ratio, e = 0n;
  while (!Number.isInteger(m)) { m *= 2; e++; }
  return (0xffffffffffffffffn * BigInt(m)) / (1n << e);
}

const settingsOf = (p: PolicyConfig, key: string, option: string, allowed: readonly string[]): Record<string, unknown> => {
  const s = (p[key] ?? {}) as Record<string, unknown>;
  checkKeys(s, allowed, `${option}.${key}`);
  return s;
};

/** Spans-per-second budget that resets every wall-clock second. */
class SecondBudget {
  private second = -1;
  used = 0;
  roll(): void {
    const now = Math.floor(Date.now() / 1000);
    if (now !== this.second) { this.second = now; this.used = 0; }
  }
}

export function compilePolicy(p: PolicyConfig, option: string, topLevel: boolean): Policy {
  checkKeys(p, ['name', 'type', ...ALL_TYPES], option);
  if (typeof p.name !== 'string' || p.name === '') throw new Error(`${option}.name: every policy needs a name`);
  const type = checkEnum(p.type, `${option}.type`, topLevel ? ALL_TYPES : SIMPLE_TYPES);
  const o = `${option}.${type}`;
  const make = (evaluate: (t: TraceView) => Decision): Policy => ({ name: p.name, type, evaluate });

  switch (type) {
    case 'always_sample':
      return make(() => 'sampled');

    case 'latency': {
      const s = settingsOf(p, type, option, ['threshold_ms', 'upper_threshold_ms']);
      const lower = checkNumber(s.threshold_ms ?? 0, `${o}.threshold_ms`, 0);
      const upper = checkNumber(s.upper_threshold_ms ?? 0, `${o}.upper_threshold_ms`, 0);
      if (upper > 0 && upper < lower) throw new Error(`${o}.upper_threshold_ms (${upper}) must be >= threshold_ms (${lower}), or 0 for no upper bound`);
      return make((t) => {
        let start: bigint | undefined, end: bigint | undefined;
        for (const { span } of t.spans) {
          if (start === undefined || span.startTimeUnixNano < start) start = span.startTimeUnixNano;
          if (end === undefined || span.endTimeUnixNano > end) end = span.endTimeUnixNano;
        }
        if (start === undefined || end === undefined) return 'not_sampled';
        const ms = Number(end - start) / 1e6;
        return (upper === 0 ? ms >= lower : ms > lower && ms <= upper) ? 'sampled' : 'not_sampled';
      });
    }

    case 'numeric_attribute': {
      const s = settingsOf(p, type, option, ['key', 'min_value', 'max_value', 'invert_match']);
      const key = nonEmpty(s.key, `${o}.key`);
      if (s.min_value === undefined && s.max_value === undefined) throw new Error(`${o}: set min_value and/or max_value`);
      const min = s.min_value === undefined ? -Infinity : checkNumber(s.min_value, `${o}.min_value`);
      const max = s.max_value === undefined ? Infinity : checkNumber(s.max_value, `${o}.max_value`);
      const invert = s.invert_match === true;
      return make((t) => matchDecision(anyAttribute(t, key, (v) => (typeof v === 'number' || typeof v === 'bigint') && Number(v) >= min && Number(v) <= max), invert));
    }

    case 'probabilistic': {
      const s = settingsOf(p, type, option, ['sampling_percentage', 'hash_salt']);
      const pct = checkNumber(s.sampling_percentage ?? 0, `${o}.sampling_percentage`, 0, 100);
      const salt = s.hash_salt === undefined || s.hash_salt === '' ? 'default-hash-seed' : String(s.hash_salt);
      const threshold = probabilityThreshold(pct / 100);
      return make((t) => (fnv1a64(salt, Buffer.from(t.traceId, 'hex')) <= threshold && pct > 0 ? 'sampled' : 'not_sampled'));
    }

    case 'status_code': {
      const s = settingsOf(p, type, option, ['status_codes']);
      const names = checkStringList(s.status_codes, `${o}.status_codes`);
      if (names.length === 0) throw new Error(`${o}.status_codes: list at least one of OK, ERROR, UNSET`);
      const codes = new Set(names.map((n, i) => StatusCode[checkEnum(n, `${o}.status_codes[${i}]`, ['OK', 'ERROR', 'UNSET'] as const)]));
      return make((t) => (t.spans.some(({ span }) => codes.has(span.status.code)) ? 'sampled' : 'not_sampled'));
    }

    case 'string_attribute': {
      const s = settingsOf(p, type, option, ['key', 'values', 'enabled_regex_matching', 'cache_max_size', 'invert_match']);
      const key = nonEmpty(s.key, `${o}.key`);
      const values = checkStringList(s.values, `${o}.values`);
      const invert = s.invert_match === true;
      let test: (v: string) => boolean;
      if (s.enabled_regex_matching === true) {
        const res = values.map((v, i) => checkRegExp(v, `${o}.values[${i}]`));
        test = (v) => res.some((re) => re.test(v));
      } else {
        const set = new Set(values);
        test = (v) => set.has(v);
      }
      return make((t) => matchDecision(anyAttribute(t, key, (v) => typeof v === 'string' && test(v)), invert));
    }

    case 'boolean_attribute': {
      const s = settingsOf(p, type, option, ['key', 'value', 'invert_match']);
      const key = nonEmpty(s.key, `${o}.key`);
      if (typeof s.value !== 'boolean') throw new Error(`${o}.value: must be true or false`);
      const want = s.value, invert = s.invert_match === true;
      return make((t) => matchDecision(anyAttribute(t, key, (v) => v === want), invert));
    }

    case 'rate_limiting': {
      const s = settingsOf(p, type, option, ['spans_per_second']);
      const limit = checkNumber(s.spans_per_second, `${o}.spans_per_second`, 1);
      const budget = new SecondBudget();
      return make((t) => {
        budget.roll();
        // Strictly below the limit, as upstream.
        if (budget.used + t.spans.length < limit) { budget.used += t.spans.length; return 'sampled'; }
        return 'not_sampled';
      });
    }

    case 'span_count': {
      const s = settingsOf(p, type, option, ['min_spans', 'max_spans']);
      const min = checkNumber(s.min_spans ?? 0, `${o}.min_spans`, 0);
      const max = checkNumber(s.max_spans ?? 0, `${o}.max_spans`, 0);
      if (max > 0 && max < min) throw new Error(`${o}.max_spans (${max}) must be >= min_spans (${min}), or 0 for no maximum`);
      return make((t) => (t.spans.length >= min && (max === 0 || t.spans.length <= max) ? 'sampled' : 'not_sampled'));
    }

    case 'trace_state': {
      const s = settingsOf(p, type, option, ['key', 'values']);
      const key = nonEmpty(s.key, `${o}.key`);
      const values = new Set(checkStringList(s.values, `${o}.values`));
      return make((t) => (t.spans.some(({ span }) => span.traceState.split(',').some((entry) => {
        const eq = entry.indexOf('=');
        return eq > 0 && entry.slice(0, eq).trim() === key && values.has(entry.slice(eq + 1).trim());
      })) ? 'sampled' : 'not_sampled'));
    }

    case 'ottl_condition': {
      const s = settingsOf(p, type, option, ['error_mode', 'span', 'spanevent']);
      const errorMode = checkEnum(s.error_mode ?? 'propagate', `${o}.error_mode`, ERROR_MODES) as ErrorMode;
      const compile = (list: unknown, ctx: 'span' | 'spanevent') => checkStringList(list ?? [], `${o}.${ctx}`).map((src, i) => {
        try { return compileCondition(src, ctx); } catch (err) { throw new Error(`${o}.${ctx}[${i}]: ${(err as Error).message}`); }
      });
      const spanConds = new ConditionSet(compile(s.span, 'span'), errorMode, () => {});
      const eventConds = new ConditionSet(compile(s.spanevent, 'spanevent'), errorMode, () => {});
      if (spanConds.size + eventConds.size === 0) throw new Error(`${o}: list at least one span or spanevent condition`);
      return make((t) => {
        try {
          for (const { span, rs, ss } of t.spans) {
            const base = { resource: rs.resource, scope: ss.scope as InstrumentationScope, span };
            if (spanConds.any(base)) return 'sampled';
            if (eventConds.size > 0 && span.events.some((spanEvent) => eventConds.any({ ...base, spanEvent }))) return 'sampled';
          }
        } catch {
          return 'not_sampled'; // error_mode propagate: a failing condition makes the policy not sample
        }
        return 'not_sampled';
      });
    }

    case 'and': {
      const s = settingsOf(p, type, option, ['and_sub_policy']);
      const subs = compileSubPolicies(s.and_sub_policy, `${o}.and_sub_policy`);
      return make((t) => (subs.every((sp) => isSample(sp.evaluate(t))) ? 'sampled' : 'not_sampled'));
    }

    case 'drop': {
      const s = settingsOf(p, type, option, ['drop_sub_policy']);
      const subs = compileSubPolicies(s.drop_sub_policy, `${o}.drop_sub_policy`);
      return make((t) => (subs.every((sp) => isSample(sp.evaluate(t))) ? 'dropped' : 'not_sampled'));
    }

    case 'composite':
      return compileComposite(p, option);
  }
}

const isSample = (d: Decision) => d === 'sampled' || d === 'invert_sampled';

function nonEmpty(v: unknown, option: string): string {
  if (typeof v !== 'string' || v === '') throw new Error(`${option}: must be a non-empty string`);
  return v;
}

function compileSubPolicies(list: unknown, option: string): Policy[] {
  if (!Array.isArray(list) || list.length === 0) throw new Error(`${option}: list at least one sub-policy`);
  return list.map((sp: PolicyConfig, i) => compilePolicy(sp, `${option}[${i}]`, false));
}

/**
 * composite: sub-policies in policy_order each get a share of max_total_spans_per_second
 * (rate_allocation percent; a listed policy without a percent gets an equal share; unlisted ones
 * share the unallocated rest). The first
 * sub-policy that samples and still has budget this second samples the trace.
 */
function compileComposite(p: PolicyConfig, option: string): Policy {
  const o = `${option}.composite`;
  const s = settingsOf(p, 'composite', option, ['max_total_spans_per_second', 'policy_order', 'composite_sub_policy', 'rate_allocation']);
  const total = checkNumber(s.max_total_spans_per_second, `${o}.max_total_spans_per_second`, 1);
  const subs = compileSubPolicies(s.composite_sub_policy, `${o}.composite_sub_policy`);
  const byName = new Map(subs.map((sp) => [sp.name, sp]));
  const order = checkStringList(s.policy_order ?? subs.map((sp) => sp.name), `${o}.policy_order`).map((name, i) => {
    const sp = byName.get(name);
    if (!sp) throw new Error(`${o}.policy_order[${i}]: no composite_sub_policy is named ${JSON.stringify(name)}`);
    return sp;
  });
  const allocation = new Map<string, number>();
  const rates = (s.rate_allocation ?? []) as Array<{ policy: string; percent?: number }>;
  if (!Array.isArray(rates)) throw new Error(`${o}.rate_allocation: must be a list of {policy, percent}`);
  rates.forEach((r, i) => {
    checkKeys(r, ['policy', 'percent'], `${o}.rate_allocation[${i}]`);
    if (!byName.has(r.policy)) throw new Error(`${o}.rate_allocation[${i}].policy: no composite_sub_policy is named ${JSON.stringify(r.policy)}`);
    const pct = checkNumber(r.percent ?? 0, `${o}.rate_allocation[${i}].percent`, 0, 100);
    allocation.set(r.policy, pct > 0 ? (pct / 100) * total : total / subs.length);
  });
  // Sub-policies without an allocation share what the others left (the README's "use always_sample
  // to fill the remaining capacity"; upstream gives them 0).
  const unallocated = Math.max(0, total - [...allocation.values()].reduce((a, b) => a + b, 0));
  const slots = order.map((sp) => ({ sp, limit: allocation.get(sp.name) ?? unallocated, budget: new SecondBudget() }));
  const all = new SecondBudget();
  return {
    name: p.name,
    type: 'composite',
    evaluate(t) {
      all.roll();
      for (const slot of slots) {
        slot.budget.roll();
        if (!isSample(slot.sp.evaluate(t))) continue;
        const n = t.spans.length;
        if (slot.budget.used + n <= slot.limit && all.used + n <= total) {
          slot.budget.used += n;
          all.used += n;
          return 'sampled';
        }
      }
      return 'not_sampled';
    },
  };
}

/** The processor's final decision from every top-level policy's decision. */
export function finalDecision(decisions: Decision[]): boolean {
  const has = (d: Decision) => decisions.includes(d);
  if (has('dropped') || has('invert_not_sampled')) return false;
  if (has('sampled')) return true;
  return has('invert_sampled') && !has('not_sampled');
}
