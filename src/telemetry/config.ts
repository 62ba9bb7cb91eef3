// Configuration of the exchange → telemetry layer (exposed by the `ebpf` receiver). Keys are
// snake_case as they appear in the Collector YAML; resolveTelemetryConfig merges defaults and
// rejects unknown keys and bad values with the path of the offending option.
import { DEFAULT_BODY_SIZE_BUCKETS_BYTES, DEFAULT_DURATION_BUCKETS_SECONDS } from './red-metrics.js';
import { compileRoutePattern, DEFAULT_ROUTE_CONFIG, UNMATCHED_ROUTE_MODES, type RouteConfig, type UnmatchedRouteMode } from './routes.js';

export interface TelemetryConfig {
  routes: RouteConfig;
  buckets: { duration_seconds: number[]; body_size_bytes: number[] };
  /** Emit spans. */
  traces: boolean;
  /** Aggregate RED metrics. */
  metrics: boolean;
  /** Honour the sampled flag of an incoming traceparent (sampled=0 → no span, still counted in metrics). */
  parent_based_sampling: boolean;
  /** Series limit per metric (the overflow series takes the rest). */
  max_series_per_metric: number;
  /** Spans kept between two drains; beyond it new spans are dropped and counted. */
  max_pending_spans: number;
  /** Stop reporting a process once it is seen exporting OTLP itself (its SDK already reports it). */
  exclude_otel_instrumented_services: boolean;
}

export const DEFAULT_TELEMETRY_CONFIG: TelemetryConfig = {
  routes: DEFAULT_ROUTE_CONFIG,
  buckets: { duration_seconds: [...DEFAULT_DURATION_BUCKETS_SECONDS], body_size_bytes: [...DEFAULT_BODY_SIZE_BUCKETS_BYTES] },
  traces: true,
  metrics: true,
  parent_based_sampling: true,
  max_series_per_metric: 10_000,
  max_pending_spans: 65_536,
  exclude_otel_instrumented_services: true,
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkKeys(obj: Obj, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) throw new Error(`${path}: unknown option "${k}" (valid: ${allowed.join(', ')})`);
  }
}

function bool(v: unknown, def: boolean, path: string): boolean {
  if (v === undefined) return def;
  if (typeof v !== 'boolean') throw new Error(`${path}: expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

function positiveInt(v: unknown, def: number, path: string): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${path}: expected a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function strings(v: unknown, def: string[], path: string): string[] {
  if (v === undefined) return [...def];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${path}: expected a list of strings, got ${JSON.stringify(v)}`);
  v.forEach((p, i) => {
    try {
      compileRoutePattern(p);
    } catch (err) {
      throw new Error(`${path}[${i}]: ${(err as Error).message}`);
    }
  });
  return [...v];
}

function bounds(v: unknown, def: readonly number[], path: string): number[] {
  if (v === undefined) return [...def];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new Error(`${path}: expected a list of finite numbers, got ${JSON.stringify(v)}`);
  }
  for (let i = 1; i < v.length; i++) {
    if (v[i] <= v[i - 1]) throw new Error(`${path}: boundaries must be strictly increasing (${v[i - 1]} then ${v[i]})`);
  }
  return [...v];
}

/** Validates a (partial) user config and fills in defaults. Throws an Error naming the bad option. */
export function resolveTelemetryConfig(input: unknown = {}, path = 'telemetry'): TelemetryConfig {
  if (!isObj(input)) throw new Error(`${path}: expected a mapping, got ${JSON.stringify(input)}`);
  const d = DEFAULT_TELEMETRY_CONFIG;
  checkKeys(input, Object.keys(d), path);

  const r = input.routes ?? {};
  if (!isObj(r)) throw new Error(`${path}.routes: expected a mapping, got ${JSON.stringify(r)}`);
  checkKeys(r, Object.keys(d.routes), `${path}.routes`);
  const unmatched = r.unmatched ?? d.routes.unmatched;
  if (!UNMATCHED_ROUTE_MODES.includes(unmatched as UnmatchedRouteMode)) {
    throw new Error(`${path}.routes.unmatched: expected one of ${UNMATCHED_ROUTE_MODES.join(', ')}, got ${JSON.stringify(unmatched)}`);
  }

  const b = input.buckets ?? {};
  if (!isObj(b)) throw new Error(`${path}.buckets: expected a mapping, got ${JSON.stringify(b)}`);
  checkKeys(b, Object.keys(d.buckets), `${path}.buckets`);

  return {
    routes: {
      patterns: strings(r.patterns, d.routes.patterns, `${path}.routes.patterns`),
      ignored_patterns: strings(r.ignored_patterns, d.routes.ignored_patterns, `${path}.routes.ignored_patterns`),
      unmatched: unmatched as UnmatchedRouteMode,
      low_cardinality_max_children: positiveInt(r.low_cardinality_max_children, d.routes.low_cardinality_max_children, `${path}.routes.low_cardinality_max_children`),
      low_cardinality_max_nodes: positiveInt(r.low_cardinality_max_nodes, d.routes.low_cardinality_max_nodes, `${path}.routes.low_cardinality_max_nodes`),
    },
    buckets: {
      duration_seconds: bounds(b.duration_seconds, d.buckets.duration_seconds, `${path}.buckets.duration_seconds`),
      body_size_bytes: bounds(b.body_size_bytes, d.buckets.body_size_bytes, `${path}.buckets.body_size_bytes`),
    },
    traces: bool(input.traces, d.traces, `${path}.traces`),
    metrics: bool(input.metrics, d.metrics, `${path}.metrics`),
    parent_based_sampling: bool(input.parent_based_sampling, d.parent_based_sampling, `${path}.parent_based_sampling`),
    max_series_per_metric: positiveInt(input.max_series_per_metric, d.max_series_per_metric, `${path}.max_series_per_metric`),
    max_pending_spans: positiveInt(input.max_pending_spans, d.max_pending_spans, `${path}.max_pending_spans`),
    exclude_otel_instrumented_services: bool(input.exclude_otel_instrumented_services, d.exclude_otel_instrumented_services, `${path}.exclude_otel_instrumented_services`),
  };
}
