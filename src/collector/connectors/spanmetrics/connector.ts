// The `spanmetrics` connector: R.E.D. metrics from spans. Every span adds one call and one duration
// observation to the series of its dimensions (service.name, span.name, span.kind, status.code and
// the configured ones), kept per resource; every metrics_flush_interval the series go downstream
// as `<namespace>.calls` (monotonic sum) and `<namespace>.duration` (histogram), cumulative unless
// DELTA is configured, in which case they restart after each flush.
import type { Logger } from 'pino';
import type { ConsumerComponent, CreateSettings } from '../../component.js';
import type { MetricsConsumer } from '../../consumer.js';
import { anyValueToString } from '../../internal/anyvalue.js';
import { parseDuration } from '../../internal/duration.js';
import { type AnyHistogram, ExplicitHistogram, ExponentialHistogram, histogramMetric } from '../../pdata/histogram.js';
import { MetricsFlusher } from '../../internal/metricsflusher.js';
import {
  AggregationTemporality, type AnyValue, type Attributes, type Metric, type Metrics, type Resource, type ResourceMetrics,
  type Span, SpanKind, StatusCode, type Traces,
} from '../../pdata/model.js';
import { bucketBounds, type Dimension, type SpanMetricsConfig } from './config.js';

const spanKindNames: Record<number, string> = {
  [SpanKind.UNSPECIFIED]: 'SPAN_KIND_UNSPECIFIED', [SpanKind.INTERNAL]: 'SPAN_KIND_INTERNAL', [SpanKind.SERVER]: 'SPAN_KIND_SERVER',
  [SpanKind.CLIENT]: 'SPAN_KIND_CLIENT', [SpanKind.PRODUCER]: 'SPAN_KIND_PRODUCER', [SpanKind.CONSUMER]: 'SPAN_KIND_CONSUMER',
};
const statusNames: Record<number, string> = {
  [StatusCode.UNSET]: 'STATUS_CODE_UNSET', [StatusCode.OK]: 'STATUS_CODE_OK', [StatusCode.ERROR]: 'STATUS_CODE_ERROR',
};
const scope = { name: 'spanmetricsconnector', version: '', attributes: {}, droppedAttributesCount: 0 };

interface CallSeries { attributes: Attributes; calls: number; histogram: AnyHistogram | undefined; lastSeenMs: number }
interface EventSeries { attributes: Attributes; count: number; lastSeenMs: number }
interface ResourceState {
  resource: Resource;
  startNs: bigint;
  calls: Map<string, CallSeries>;
  events: Map<string, EventSeries>;
}

const nowNs = () => BigInt(Date.now()) * 1_000_000n;

export class SpanMetricsConnector implements ConsumerComponent<'traces'> {
  private readonly logger: Logger;
  private readonly delta: boolean;
  private readonly bounds: number[];
  private readonly flushMs: number;
  private readonly expirationMs: number;
  private readonly nsPerUnit: number;
  /** Insertion-ordered: the first entry is the least recently used resource. */
  private readonly resources = new Map<string, ResourceState>();
  private readonly excluded: Set<string>;
  private readonly flusher: MetricsFlusher;
  private timer: NodeJS.Timeout | undefined;

  constructor(settings: CreateSettings, private readonly cfg: SpanMetricsConfig, next: MetricsConsumer) {
    this.logger = settings.logger;
    this.delta = cfg.aggregation_temporality === 'AGGREGATION_TEMPORALITY_DELTA';
    this.bounds = bucketBounds(cfg);
    this.flushMs = parseDuration(cfg.metrics_flush_interval, 'metrics_flush_interval');
    this.expirationMs = parseDuration(cfg.metrics_expiration, 'metrics_expiration');
    this.nsPerUnit = cfg.histogram.unit === 's' ? 1e9 : 1e6;
    this.excluded = new Set(cfg.exclude_dimensions);
    this.flusher = new MetricsFlusher(() => this.collect(), next, (err) => this.logger.warn(
      { err, temporality: cfg.aggregation_temporality },
      'spanmetrics: the metrics pipeline refused a flush; with DELTA temporality these counts are lost'));
  }

  private metricName(name: string): string {
    return this.cfg.namespace === '' ? name : `${this.cfg.namespace}.${name}`;
  }

  async start(): Promise<void> {
    this.timer = setInterval(() => { void this.flush(); }, this.flushMs);
  }

  async consumeTraces(td: Traces): Promise<void> {
    const seenMs = Date.now();
    for (const rs of td.resourceSpans) {
      const state = this.resourceState(rs.resource);
      for (const ss of rs.scopeSpans) for (const span of ss.spans) this.record(state, rs.resource, span, seenMs);
    }
  }

  private resourceState(resource: Resource): ResourceState {
    const keyAttrs = this.cfg.resource_metrics_key_attributes;
    const entries = Object.entries(resource.attributes).filter(([k]) => keyAttrs.length === 0 || keyAttrs.includes(k));
    const key = JSON.stringify(entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, anyValueToString(v)]));
    let state = this.resources.get(key);
    if (state) {
      this.resources.delete(key); // move to the most-recently-used end
    } else {
      state = { resource: { attributes: { ...resource.attributes }, droppedAttributesCount: 0 }, startNs: nowNs(), calls: new Map(), events: new Map() };
      if (this.resources.size >= this.cfg.resource_metrics_cache_size) {
        const oldest = this.resources.keys().next().value!;
        this.resources.delete(oldest);
        this.logger.debug({ resource_metrics_cache_size: this.cfg.resource_metrics_cache_size }, 'spanmetrics: evicted the least recently used resource');
      }
    }
    this.resources.set(key, state);
    return state;
  }

  /** The dimension values of one span, in order; a missing dimension without default is omitted. */
  private dimensions(resource: Resource, span: Span): Array<[string, AnyValue]> {
    const dims: Array<[string, AnyValue]> = [];
    const add = (name: string, value: AnyValue) => { if (!this.excluded.has(name)) dims.push([name, value]); };
    add('service.name', resource.attributes['service.name'] ?? '');
    add('span.name', span.name);
    add('span.kind', spanKindNames[span.kind] ?? 'SPAN_KIND_UNSPECIFIED');
    add('status.code', statusNames[span.status.code] ?? 'STATUS_CODE_UNSET');
    appendConfigured(dims, this.cfg.dimensions, span.attributes, resource.attributes);
    return dims;
  }

  private newHistogram(): AnyHistogram | undefined {
    if (this.cfg.histogram.disable) return undefined;
    if (this.cfg.histogram.exponential) return new ExponentialHistogram(this.cfg.histogram.exponential.max_size ?? 160);
    return new ExplicitHistogram(this.bounds);
  }

  private record(state: ResourceState, resource: Resource, span: Span, seenMs: number): void {
    const dims = this.dimensions(resource, span);
    const key = dimsKey(dims);
    let series = state.calls.get(key);
    if (!series) {
      series = { attributes: Object.fromEntries(dims), calls: 0, histogram: this.newHistogram(), lastSeenMs: seenMs };
      state.calls.set(key, series);
    }
    series.calls++;
    series.lastSeenMs = seenMs;
    if (series.histogram) {
      const ns = span.endTimeUnixNano > span.startTimeUnixNano ? span.endTimeUnixNano - span.startTimeUnixNano : 0n;
      const value = Number(ns) / this.nsPerUnit;
      series.histogram.record(value);
      if (this.cfg.exemplars.enabled && span.traceId !== '') {
        series.histogram.exemplars.push({ filteredAttributes: {}, timeUnixNano: span.endTimeUnixNano, value, valueType: 'double', traceId: span.traceId, spanId: span.spanId });
      }
    }
    if (!this.cfg.events.enabled) return;
    for (const ev of span.events) {
      const evDims = [...dims];
      appendConfigured(evDims, this.cfg.events.dimensions, ev.attributes, {});
      const evKey = dimsKey(evDims);
      const es = state.events.get(evKey) ?? { attributes: Object.fromEntries(evDims), count: 0, lastSeenMs: seenMs };
      es.count++;
      es.lastSeenMs = seenMs;
      state.events.set(evKey, es);
    }
  }

  /** Builds the metrics of every resource (and, with DELTA, starts new series afterwards). */
  collect(): Metrics {
    const timeNs = nowNs();
    const cutoff = this.expirationMs > 0 ? Date.now() - this.expirationMs : -Infinity;
    const temporality = this.delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
    const resourceMetrics: ResourceMetrics[] = [];
    for (const [key, state] of this.resources) {
      for (const [k, s] of state.calls) if (s.lastSeenMs < cutoff) state.calls.delete(k);
      for (const [k, s] of state.events) if (s.lastSeenMs < cutoff) state.events.delete(k);
      if (state.calls.size === 0 && state.events.size === 0) {
        this.resources.delete(key);
        continue;
      }
      const start = state.startNs;
      const base = { startTimeUnixNano: start, timeUnixNano: timeNs, flags: 0 };
      const series = [...state.calls.values()];
      const sum = (name: string, points: Array<{ attributes: Attributes; value: number }>): Metric => ({
        name: this.metricName(name), description: '', unit: '', metadata: {},
        data: {
          type: 'sum', isMonotonic: true, aggregationTemporality: temporality,
          dataPoints: points.map(({ attributes, value }) => ({ ...base, attributes, value, valueType: 'int', exemplars: [] })),
        },
      });
      const metrics: Metric[] = [];
      if (series.length > 0) metrics.push(sum('calls', series.map((s) => ({ attributes: s.attributes, value: s.calls }))));
      if (series.length > 0 && !this.cfg.histogram.disable) {
        metrics.push(histogramMetric({ name: this.metricName('duration'), unit: this.cfg.histogram.unit }, temporality, base,
          series.map((s) => ({ attributes: s.attributes, histogram: s.histogram! }))));
      }
      if (state.events.size > 0) {
        metrics.push(sum('events', [...state.events.values()].map((e) => ({ attributes: e.attributes, value: e.count }))));
      }
      resourceMetrics.push({ resource: structuredClone(state.resource), scopeMetrics: [{ scope: structuredClone(scope), metrics, schemaUrl: '' }], schemaUrl: '' });
      if (this.delta) {
        state.calls.clear();
        state.events.clear();
        state.startNs = timeNs;
      } else {
        for (const s of series) if (s.histogram) s.histogram.exemplars = [];
      }
    }
    return { resourceMetrics };
  }

  /** Sends what has been aggregated now (also what the flush timer calls). */
  flush(): Promise<void> {
    return this.flusher.flush();
  }

  async shutdown(): Promise<void> {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush(); // the metrics pipeline shuts down after this connector, so the last flush lands
  }
}

function appendConfigured(dims: Array<[string, AnyValue]>, configured: Dimension[], primary: Attributes, secondary: Attributes): void {
  for (const d of configured) {
    const v = primary[d.name] ?? secondary[d.name] ?? d.default;
    if (v !== undefined && v !== null) dims.push([d.name, v]);
  }
}

const dimsKey = (dims: Array<[string, AnyValue]>): string => JSON.stringify(dims.map(([k, v]) => [k, anyValueToString(v)]));
