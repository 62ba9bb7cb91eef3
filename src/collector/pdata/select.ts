// Non-mutating selection, counting, splitting and concatenation over the pdata model. Processors
// that drop or regroup telemetry build new containers around the original records, so the input
// they were given stays intact (a fan-out may hand the same object to another pipeline).
import type {
  LogRecord, Logs, Metric, Metrics, ResourceLogs, ResourceMetrics, ResourceSpans, ScopeLogs,
  ScopeMetrics, ScopeSpans, Signal, SignalData, Span, Traces,
} from './model.js';

/** Returns a span to keep (possibly a copy with fewer events) or undefined to drop it. */
export type SpanMapper = (span: Span, scope: ScopeSpans, resource: ResourceSpans) => Span | undefined;
export type MetricMapper = (metric: Metric, scope: ScopeMetrics, resource: ResourceMetrics) => Metric | undefined;
export type LogMapper = (log: LogRecord, scope: ScopeLogs, resource: ResourceLogs) => LogRecord | undefined;

// Maps the items of a resource → scope → item tree; containers left without items are removed.
function mapTree<R, C, I>(
  resources: R[], scopesOf: (r: R) => C[], itemsOf: (c: C) => I[],
  withScopes: (r: R, cs: C[]) => R, withItems: (c: C, is: I[]) => C,
  fn: (item: I, scope: C, resource: R) => I | undefined,
): R[] {
  const out: R[] = [];
  for (const r of resources) {
    const scopes: C[] = [];
    for (const c of scopesOf(r)) {
      const items: I[] = [];
      for (const item of itemsOf(c)) {
        const kept = fn(item, c, r);
        if (kept) items.push(kept);
      }
      if (items.length > 0) scopes.push(withItems(c, items));
    }
    if (scopes.length > 0) out.push(withScopes(r, scopes));
  }
  return out;
}

/** Applies `fn` to every span; scopes and resources left without spans are removed. */
export function mapSpans(td: Traces, fn: SpanMapper): Traces {
  return { resourceSpans: mapTree(td.resourceSpans, (r) => r.scopeSpans, (c) => c.spans, (r, scopeSpans) => ({ ...r, scopeSpans }), (c, spans) => ({ ...c, spans }), fn) };
}

/** Applies `fn` to every metric; a metric returned without data points is removed, as are empty containers. */
export function mapMetrics(md: Metrics, fn: MetricMapper): Metrics {
  const keepNonEmpty: MetricMapper = (m, sm, rm) => { const kept = fn(m, sm, rm); return kept && kept.data.dataPoints.length > 0 ? kept : undefined; };
  return { resourceMetrics: mapTree(md.resourceMetrics, (r) => r.scopeMetrics, (c) => c.metrics, (r, scopeMetrics) => ({ ...r, scopeMetrics }), (c, metrics) => ({ ...c, metrics }), keepNonEmpty) };
}

/** Applies `fn` to every log record; scopes and resources left without records are removed. */
export function mapLogs(ld: Logs, fn: LogMapper): Logs {
  return { resourceLogs: mapTree(ld.resourceLogs, (r) => r.scopeLogs, (c) => c.logRecords, (r, scopeLogs) => ({ ...r, scopeLogs }), (c, logRecords) => ({ ...c, logRecords }), fn) };
}

/** A metric with a replaced data point list (the data variant and its other fields are kept). */
export function withDataPoints(metric: Metric, keep: (dp: Metric['data']['dataPoints'][number]) => boolean): Metric {
  const dataPoints = (metric.data.dataPoints as Array<Metric['data']['dataPoints'][number]>).filter(keep);
  if (dataPoints.length === metric.data.dataPoints.length) return metric;
  return { ...metric, data: { ...metric.data, dataPoints } as Metric['data'] };
}

/** Concatenates the resource-level containers of several requests into one (no deep merge). */
export function concatData<S extends Signal>(signal: S, parts: SignalData[S][]): SignalData[S] {
  if (parts.length === 1) return parts[0]!;
  if (signal === 'traces') return { resourceSpans: (parts as Traces[]).flatMap((p) => p.resourceSpans) } as SignalData[S];
  if (signal === 'metrics') return { resourceMetrics: (parts as Metrics[]).flatMap((p) => p.resourceMetrics) } as SignalData[S];
  return { resourceLogs: (parts as Logs[]).flatMap((p) => p.resourceLogs) } as SignalData[S];
}

/**
 * Splits off the first `n` items (n ≥ 1). Returns [head, rest]; rest is undefined when nothing is
 * left. Containers cut in the middle appear in both halves with the same resource and scope.
 */
export function splitItems<S extends Signal>(signal: S, data: SignalData[S], n: number): [SignalData[S], SignalData[S] | undefined] {
  if (signal === 'traces') return splitTraces(data as Traces, n) as [SignalData[S], SignalData[S] | undefined];
  if (signal === 'metrics') return splitMetrics(data as Metrics, n) as [SignalData[S], SignalData[S] | undefined];
  return splitLogs(data as Logs, n) as [SignalData[S], SignalData[S] | undefined];
}

// Generic two-level split (resource → scope → items); traces and logs share it through accessors.
function splitTwoLevel<R, C, I>(
  resources: R[], n: number,
  scopesOf: (r: R) => C[], itemsOf: (c: C) => I[],
  withScopes: (r: R, cs: C[]) => R, withItems: (c: C, is: I[]) => C,
): [R[], R[]] {
  const head: R[] = [];
  let left = n;
  for (let ri = 0; ri < resources.length; ri++) {
    const r = resources[ri]!;
    const scopes = scopesOf(r);
    const headScopes: C[] = [];
    for (let ci = 0; ci < scopes.length; ci++) {
      const c = scopes[ci]!;
      const items = itemsOf(c);
      if (items.length <= left) {
        headScopes.push(c);
        left -= items.length;
        if (left === 0 && (ci < scopes.length - 1 || ri < resources.length - 1)) {
          head.push(withScopes(r, headScopes));
          const restScopes = scopes.slice(ci + 1);
          return [head, [...(restScopes.length ? [withScopes(r, restScopes)] : []), ...resources.slice(ri + 1)]];
        }
        continue;
      }
      headScopes.push(withItems(c, items.slice(0, left)));
      head.push(withScopes(r, headScopes));
      const restScopes = [withItems(c, items.slice(left)), ...scopes.slice(ci + 1)];
      return [head, [withScopes(r, restScopes), ...resources.slice(ri + 1)]];
    }
    head.push(headScopes.length === scopes.length ? r : withScopes(r, headScopes));
  }
  return [head, []];
}

function splitTraces(td: Traces, n: number): [Traces, Traces | undefined] {
  const [head, rest] = splitTwoLevel<ResourceSpans, ScopeSpans, Span>(
    td.resourceSpans, n, (r) => r.scopeSpans, (c) => c.spans,
    (r, scopeSpans) => ({ ...r, scopeSpans }), (c, spans) => ({ ...c, spans }));
  return [{ resourceSpans: head }, rest.length ? { resourceSpans: rest } : undefined];
}

function splitLogs(ld: Logs, n: number): [Logs, Logs | undefined] {
  const [head, rest] = splitTwoLevel<ResourceLogs, ScopeLogs, LogRecord>(
    ld.resourceLogs, n, (r) => r.scopeLogs, (c) => c.logRecords,
    (r, scopeLogs) => ({ ...r, scopeLogs }), (c, logRecords) => ({ ...c, logRecords }));
  return [{ resourceLogs: head }, rest.length ? { resourceLogs: rest } : undefined];
}

// Metrics have one more level (metric → data points); a scope's "items" are its metrics' points,
// so split the scope's metric list by data points first, then reuse the two-level split.
function splitMetrics(md: Metrics, n: number): [Metrics, Metrics | undefined] {
  type PointRef = { metric: Metric; index: number };
  const pointsOf = (sm: ScopeMetrics): PointRef[] =>
    sm.metrics.flatMap((metric) => metric.data.dataPoints.map((_, index) => ({ metric, index })));
  const regroup = (sm: ScopeMetrics, refs: PointRef[]): ScopeMetrics => {
    const byMetric = new Map<Metric, number[]>();
    for (const ref of refs) {
      const list = byMetric.get(ref.metric) ?? [];
      list.push(ref.index);
      byMetric.set(ref.metric, list);
    }
    const metrics = [...byMetric].map(([metric, idx]) => idx.length === metric.data.dataPoints.length
      ? metric
      : { ...metric, data: { ...metric.data, dataPoints: idx.map((i) => metric.data.dataPoints[i]) } as Metric['data'] });
    return { ...sm, metrics };
  };
  const [head, rest] = splitTwoLevel<ResourceMetrics, ScopeMetrics, PointRef>(
    md.resourceMetrics, n, (r) => r.scopeMetrics, pointsOf,
    (r, scopeMetrics) => ({ ...r, scopeMetrics }), regroup);
  return [{ resourceMetrics: head }, rest.length ? { resourceMetrics: rest } : undefined];
}
