// include/exclude matching for the attributes processor (the Collector's filterconfig
// MatchProperties): every property that is set must match; within a list property any entry may
// match, except `attributes` and `resources`, where every listed key must match.
import { anyValueToString } from '../../internal/anyvalue.js';
import { checkEnum, checkKeys, checkRegExp, checkStringList } from '../../internal/processorhelper.js';
import type { AnyValue, Attributes, InstrumentationScope, LogRecord, Resource, Signal, Span } from '../../pdata/model.js';
import { SpanKind } from '../../pdata/model.js';

export interface KeyValueMatch { key: string; value?: AnyValue }
export interface MatchProperties {
  match_type: 'strict' | 'regexp';
  services?: string[];
  span_names?: string[];
  span_kinds?: string[];
  attributes?: KeyValueMatch[];
  resources?: KeyValueMatch[];
  libraries?: Array<{ name: string; version?: string }>;
  log_bodies?: string[];
  log_severity_texts?: string[];
  metric_names?: string[];
}

/** What one record offers to matching; fields that do not apply to the signal are absent. */
export interface MatchSubject {
  resource: Resource;
  scope: InstrumentationScope;
  attributes: Attributes;
  span?: Span;
  log?: LogRecord;
  metricName?: string;
}

export type Matcher = (s: MatchSubject) => boolean;

const MATCH_KEYS = ['match_type', 'services', 'span_names', 'span_kinds', 'attributes', 'resources', 'libraries',
  'log_bodies', 'log_severity_texts', 'metric_names'] as const;

const SIGNAL_ONLY: Record<string, Signal> = {
  services: 'traces', span_names: 'traces', span_kinds: 'traces',
  log_bodies: 'logs', log_severity_texts: 'logs', metric_names: 'metrics',
};

// `services` is allowed for logs and metrics too: it is a resource property.
const ALLOWED_ELSEWHERE = new Set(['services']);

function stringMatcher(list: string[], strict: boolean, option: string): (s: string | undefined) => boolean {
  if (strict) { const set = new Set(list); return (s) => s !== undefined && set.has(s); }
  const res = list.map((p, i) => checkRegExp(p, `${option}[${i}]`));
  return (s) => s !== undefined && res.some((re) => re.test(s));
}

function valueMatches(actual: AnyValue | undefined, expected: AnyValue | undefined, re: RegExp | undefined): boolean {
  if (actual === undefined) return false;
  if (expected === undefined) return true;
  if (re) return re.test(anyValueToString(actual));
  if (typeof actual !== typeof expected) return false;
  return anyValueToString(actual) === anyValueToString(expected);
}

function kvMatcher(list: KeyValueMatch[], strict: boolean, option: string): (a: Attributes) => boolean {
  const entries = list.map((kv, i) => {
    if (!kv || typeof kv.key !== 'string' || kv.key === '') throw new Error(`${option}[${i}].key: must be a non-empty string`);
    const re = !strict && kv.value !== undefined ? checkRegExp(String(kv.value), `${option}[${i}].value`) : undefined;
    return { key: kv.key, value: kv.value, re };
  });
  return (a) => entries.every((e) => valueMatches(a[e.key], e.value, e.re));
}

const kindName = (k: SpanKind) => SpanKind[k] ?? 'UNSPECIFIED';

/**
 * Compiles one include/exclude block; throws naming the option on any problem. With a signal, also
 * rejects properties that cannot apply to it (span_names in a logs pipeline, ...).
 */
export function compileMatcher(mp: MatchProperties, signal: Signal | undefined, option: string): Matcher {
  checkKeys(mp, MATCH_KEYS, option);
  checkEnum(mp.match_type, `${option}.match_type`, ['strict', 'regexp'] as const);
  const strict = mp.match_type === 'strict';
  const checks: Matcher[] = [];
  for (const [prop, only] of Object.entries(SIGNAL_ONLY)) {
    if ((mp as unknown as Record<string, unknown[] | undefined>)[prop]?.length && signal !== undefined && only !== signal && !ALLOWED_ELSEWHERE.has(prop)) {
      throw new Error(`${option}.${prop}: only applies to ${only}, but this attributes processor is in a ${signal} pipeline`);
    }
  }
  const list = (prop: keyof MatchProperties) => {
    const v = mp[prop];
    return v === undefined || (Array.isArray(v) && v.length === 0) ? undefined : v;
  };
  if (list('services')) {
    const m = stringMatcher(checkStringList(mp.services, `${option}.services`), strict, `${option}.services`);
    checks.push((s) => { const v = s.resource.attributes['service.name']; return typeof v === 'string' && m(v); });
  }
  if (list('span_names')) {
    const m = stringMatcher(checkStringList(mp.span_names, `${option}.span_names`), strict, `${option}.span_names`);
    checks.push((s) => m(s.span?.name));
  }
  if (list('span_kinds')) {
    // Accept SPAN_KIND_SERVER as well as the short Server/server form.
    const wanted = new Set(checkStringList(mp.span_kinds, `${option}.span_kinds`).map((k) => k.toUpperCase().replace(/^SPAN_KIND_/, '')));
    checks.push((s) => s.span !== undefined && wanted.has(kindName(s.span.kind)));
  }
  if (list('attributes')) {
    const m = kvMatcher(mp.attributes!, strict, `${option}.attributes`);
    checks.push((s) => m(s.attributes));
  }
  if (list('resources')) {
    const m = kvMatcher(mp.resources!, strict, `${option}.resources`);
    checks.push((s) => m(s.resource.attributes));
  }
  if (list('libraries')) {
    const libs = mp.libraries!.map((l, i) => {
      if (!l || typeof l.name !== 'string') throw new Error(`${option}.libraries[${i}].name: must be a string`);
      return {
        name: stringMatcher([l.name], strict, `${option}.libraries[${i}].name`),
        version: l.version === undefined ? undefined : stringMatcher([l.version], strict, `${option}.libraries[${i}].version`),
      };
    });
    checks.push((s) => libs.some((l) => l.name(s.scope.name) && (!l.version || l.version(s.scope.version))));
  }
  if (list('log_bodies')) {
    const m = stringMatcher(checkStringList(mp.log_bodies, `${option}.log_bodies`), strict, `${option}.log_bodies`);
    checks.push((s) => s.log !== undefined && s.log.body !== null && m(anyValueToString(s.log.body)));
  }
  if (list('log_severity_texts')) {
    const m = stringMatcher(checkStringList(mp.log_severity_texts, `${option}.log_severity_texts`), strict, `${option}.log_severity_texts`);
    checks.push((s) => m(s.log?.severityText));
  }
  if (list('metric_names')) {
    const m = stringMatcher(checkStringList(mp.metric_names, `${option}.metric_names`), strict, `${option}.metric_names`);
    checks.push((s) => m(s.metricName));
  }
  if (checks.length === 0) throw new Error(`${option}: set at least one property to match on (services, span_names, attributes, resources, libraries, ...)`);
  return (s) => checks.every((c) => c(s));
}

/** include → must match (when set); exclude → must not match (when set). */
export function compileSelection(include: MatchProperties | undefined, exclude: MatchProperties | undefined, signal: Signal | undefined): Matcher {
  const inc = include ? compileMatcher(include, signal, 'include') : undefined;
  const exc = exclude ? compileMatcher(exclude, signal, 'exclude') : undefined;
  return (s) => (!inc || inc(s)) && (!exc || !exc(s));
}
