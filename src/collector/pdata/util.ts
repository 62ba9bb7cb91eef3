// Small helpers every component needs: item counts (for self-metrics and batch sizes) and deep
// copies (for fan-out to a consumer that mutates, see the service's `mutatesData`).
import type { Logs, Metrics, Signal, SignalData, Traces } from './model.js';

export function countSpans(td: Traces): number {
  let n = 0;
  for (const rs of td.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
  return n;
}

export function countDataPoints(md: Metrics): number {
  let n = 0;
  for (const rm of md.resourceMetrics) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) n += m.data.dataPoints.length;
  return n;
}

export function countLogRecords(ld: Logs): number {
  let n = 0;
  for (const rl of ld.resourceLogs) for (const sl of rl.scopeLogs) n += sl.logRecords.length;
  return n;
}

/** Spans, data points or log records in a batch: the Collector's unit for every item counter. */
export function countItems<S extends Signal>(signal: S, data: SignalData[S]): number {
  switch (signal) {
    case 'traces': return countSpans(data as Traces);
    case 'metrics': return countDataPoints(data as Metrics);
    default: return countLogRecords(data as Logs);
  }
}

/** Deep copies (bigint and Uint8Array included) so that a mutating consumer never sees shared data. */
export const cloneData = <S extends Signal>(_signal: S, data: SignalData[S]): SignalData[S] => structuredClone(data);

/** Item names per signal as the Collector's self-metrics spell them. */
export const ITEM_NAME: Record<Signal, string> = { traces: 'spans', metrics: 'metric_points', logs: 'log_records' };

/** The three-level layout every signal shares: resource groups → scope groups → items. */
export const SIGNAL_LAYOUT = {
  traces: { resources: 'resourceSpans', scopes: 'scopeSpans', items: 'spans' },
  metrics: { resources: 'resourceMetrics', scopes: 'scopeMetrics', items: 'metrics' },
  logs: { resources: 'resourceLogs', scopes: 'scopeLogs', items: 'logRecords' },
} as const;
