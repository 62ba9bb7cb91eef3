// Keeps the latest state of every series the exporter has seen, in Prometheus terms, until a
// scrape reads it or `metric_expiration` removes it. Like the Collector's prometheusexporter
// accumulator: cumulative points replace older ones; DELTA monotonic sums and DELTA histograms are
// added up into cumulative series (their start time stays the first point's); DELTA
// non-monotonic sums cannot become a Prometheus type and are dropped (counted). Exponential
// histograms become classic histograms with one bucket per exponential bucket.
import { anyValueToString } from '../../internal/anyvalue.js';
import {
  AggregationTemporality, type Attributes, type Exemplar, type ExponentialHistogramDataPoint,
  type HistogramDataPoint, type Metric, type Metrics, type Resource,
} from '../../pdata/model.js';
import { prometheusLabelName, prometheusMetricName } from './naming.js';

export type FamilyType = 'gauge' | 'counter' | 'histogram' | 'summary';
/** Label pairs sorted by name. */
export type Labels = Array<[string, string]>;

export interface HistogramState {
  /** Upper bounds, ascending, without +Inf. */
  bounds: number[];
  /** Per-bucket (not cumulative) counts, bounds.length + 1 entries (the last is +Inf). */
  counts: number[];
  sum: number;
  count: number;
  /** The latest exemplar per bucket, if any. */
  exemplars: Array<Exemplar | undefined>;
}

export interface Series {
  labels: Labels;
  /** Point time in ms since the epoch (written only with send_timestamps). */
  timeMs: number;
  startTimeNs: bigint;
  pointTimeNs: bigint;
  /** When this exporter last received the series (Date.now()), for metric_expiration. */
  updatedAt: number;
  value: number;
  exemplar?: Exemplar;
  histogram?: HistogramState;
  summary?: { quantiles: Array<{ quantile: number; value: number }>; sum: number; count: number };
}

export interface Family { name: string; type: FamilyType; help: string; series: Map<string, Series> }

export interface AccumulatorOptions {
  namespace: string;
  addMetricSuffixes: boolean;
  resourceToTelemetry: boolean;
  constLabels: Record<string, string>;
}

export type DropReason = 'delta_non_monotonic_sum' | 'type_conflict' | 'malformed_histogram';

const labelsKey = (labels: Labels): string => JSON.stringify(labels);
const identityKeys = new Set(['service.name', 'service.namespace', 'service.instance.id']);

/** Attribute map → Prometheus labels; keys that normalise to the same name are joined with `;` as upstream does. */
function attributesToLabels(attrs: Attributes, into: Map<string, string>): void {
  const merged = new Map<string, string[]>();
  for (const key of Object.keys(attrs).sort()) {
    const name = prometheusLabelName(key);
    const value = anyValueToString(attrs[key]!);
    const list = merged.get(name);
    if (list) list.push(value);
    else merged.set(name, [value]);
  }
  for (const [name, values] of merged) into.set(name, values.join(';'));
}

function jobAndInstance(resource: Resource): Map<string, string> {
  const out = new Map<string, string>();
  const a = resource.attributes;
  const name = a['service.name'];
  if (name !== undefined && name !== null) {
    const ns = a['service.namespace'];
    const job = anyValueToString(name);
    out.set('job', ns !== undefined && ns !== null && anyValueToString(ns) !== '' ? `${anyValueToString(ns)}/${job}` : job);
  }
  const instance = a['service.instance.id'];
  if (instance !== undefined && instance !== null) out.set('instance', anyValueToString(instance));
  return out;
}

/** Classic buckets for an exponential histogram: negatives, the zero bucket, positives; base = 2^(2^-scale). */
export function exponentialToClassic(dp: ExponentialHistogramDataPoint): { bounds: number[]; counts: number[] } {
  const base = 2 ** (2 ** -dp.scale);
  const bounds: number[] = [];
  const counts: number[] = [];
  const push = (bound: number, count: number) => {
    if (bounds.length > 0 && !(bound > bounds[bounds.length - 1]!)) counts[counts.length - 1]! += count;
    else { bounds.push(bound); counts.push(count); }
  };
  const neg = dp.negative.bucketCounts;
  for (let i = neg.length - 1; i >= 0; i--) push(-(base ** (dp.negative.offset + i)), neg[i]!);
  if (dp.zeroCount > 0 || neg.length > 0) push(dp.zeroThreshold, dp.zeroCount);
  const pos = dp.positive.bucketCounts;
  for (let i = 0; i < pos.length; i++) push(base ** (dp.positive.offset + i + 1), pos[i]!);
  counts.push(0); // +Inf
  return { bounds, counts };
}

function bucketIndex(bounds: number[], value: number): number {
  const i = bounds.findIndex((b) => value <= b);
  return i < 0 ? bounds.length : i;
}

function histogramState(bounds: number[], counts: number[], sum: number, count: number, exemplars: Exemplar[]): HistogramState {
  const byBucket: Array<Exemplar | undefined> = new Array(counts.length).fill(undefined);
  for (const ex of exemplars) byBucket[bucketIndex(bounds, ex.value)] = ex;
  return { bounds, counts, sum, count, exemplars: byBucket };
}

const sameBounds = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export class MetricAccumulator {
  private readonly families = new Map<string, Family>();
  /** target_info series keyed by their labels. */
  private readonly targets = new Map<string, Series>();
  /** Points dropped from the batch being accumulated, by reason. */
  private dropped = new Map<DropReason, number>();

  constructor(private readonly opts: AccumulatorOptions) {}

  private drop(reason: DropReason, points: number): void {
    if (points > 0) this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + points);
  }

  /** Folds a batch in; returns how many points were dropped, by reason. */
  accumulate(md: Metrics, now = Date.now()): Map<DropReason, number> {
    this.dropped = new Map();
    for (const rm of md.resourceMetrics) {
      const identity = jobAndInstance(rm.resource);
      this.recordTarget(rm.resource, identity, now);
      const resourceLabels = new Map<string, string>();
      if (this.opts.resourceToTelemetry) attributesToLabels(rm.resource.attributes, resourceLabels);
      for (const sm of rm.scopeMetrics) {
        const scopeLabels = new Map<string, string>();
        if (sm.scope.name !== '') {
          scopeLabels.set('otel_scope_name', sm.scope.name);
          scopeLabels.set('otel_scope_version', sm.scope.version);
        }
        const labelsFor = (attrs: Attributes): Labels => {
          const m = new Map(resourceLabels);
          attributesToLabels(attrs, m);
          for (const [k, v] of scopeLabels) m.set(k, v);
          for (const [k, v] of identity) m.set(k, v);
          for (const [k, v] of Object.entries(this.opts.constLabels)) m.set(k, v);
          return [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        };
        for (const metric of sm.metrics) this.accumulateMetric(metric, labelsFor, now);
      }
    }
    return this.dropped;
  }

  private recordTarget(resource: Resource, identity: Map<string, string>, now: number): void {
    const others: Attributes = {};
    for (const [k, v] of Object.entries(resource.attributes)) if (!identityKeys.has(k)) others[k] = v;
    if (Object.keys(others).length === 0 || identity.size === 0) return;
    const m = new Map<string, string>();
    attributesToLabels(others, m);
    for (const [k, v] of identity) m.set(k, v);
    for (const [k, v] of Object.entries(this.opts.constLabels)) m.set(k, v);
    const labels = [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    this.targets.set(labelsKey(labels), { labels, timeMs: now, startTimeNs: 0n, pointTimeNs: 0n, updatedAt: now, value: 1 });
  }

  private family(name: string, type: FamilyType, help: string, points: number): Family | undefined {
    let fam = this.families.get(name);
    if (!fam) {
      fam = { name, type, help, series: new Map() };
      this.families.set(name, fam);
    }
    if (fam.type !== type) {
      this.drop('type_conflict', points);
      return undefined;
    }
    return fam;
  }

  private accumulateMetric(metric: Metric, labelsFor: (a: Attributes) => Labels, now: number): void {
    const d = metric.data;
    const name = prometheusMetricName(
      { name: metric.name, unit: metric.unit, data: { type: d.type, isMonotonic: d.type === 'sum' ? d.isMonotonic : undefined } },
      this.opts.namespace, this.opts.addMetricSuffixes,
    );
    const base = (labels: Labels, start: bigint, time: bigint): Series => ({
      labels, startTimeNs: start, pointTimeNs: time, timeMs: Number(time / 1_000_000n), updatedAt: now, value: 0,
    });
    switch (d.type) {
      case 'gauge':
      case 'sum': {
        const counter = d.type === 'sum' && d.isMonotonic;
        const delta = d.type === 'sum' && d.aggregationTemporality === AggregationTemporality.DELTA;
        if (delta && !counter) return this.drop('delta_non_monotonic_sum', d.dataPoints.length);
        const fam = this.family(name, counter ? 'counter' : 'gauge', metric.description, d.dataPoints.length);
        if (!fam) return;
        for (const dp of d.dataPoints) {
          const labels = labelsFor(dp.attributes);
          const key = labelsKey(labels);
          const prev = fam.series.get(key);
          if (prev && !delta && dp.timeUnixNano < prev.pointTimeNs) continue; // an older cumulative point
          const s = base(labels, delta && prev ? prev.startTimeNs : dp.startTimeUnixNano, dp.timeUnixNano);
          s.value = delta && prev ? prev.value + dp.value : dp.value;
          s.exemplar = dp.exemplars.at(-1) ?? prev?.exemplar;
          fam.series.set(key, s);
        }
        return;
      }
      case 'histogram':
      case 'exponentialHistogram': {
        const fam = this.family(name, 'histogram', metric.description, d.dataPoints.length);
        if (!fam) return;
        const delta = d.aggregationTemporality === AggregationTemporality.DELTA;
        for (const dp of d.dataPoints as Array<HistogramDataPoint | ExponentialHistogramDataPoint>) {
          let bounds: number[];
          let counts: number[];
          if ('explicitBounds' in dp) {
            bounds = dp.explicitBounds;
            counts = dp.bucketCounts.length === 0 ? [...bounds.map(() => 0), dp.count] : dp.bucketCounts;
            if (counts.length !== bounds.length + 1) { this.drop('malformed_histogram', 1); continue; }
          } else {
            ({ bounds, counts } = exponentialToClassic(dp));
          }
          const labels = labelsFor(dp.attributes);
          const key = labelsKey(labels);
          const prev = fam.series.get(key);
          if (prev && !delta && dp.timeUnixNano < prev.pointTimeNs) continue;
          const h = histogramState(bounds, counts, dp.sum ?? 0, dp.count, dp.exemplars);
          const s = base(labels, dp.startTimeUnixNano, dp.timeUnixNano);
          const ph = prev?.histogram;
          if (delta && ph && sameBounds(ph.bounds, bounds)) {
            s.startTimeNs = prev.startTimeNs;
            h.counts = h.counts.map((c, i) => c + ph.counts[i]!);
            h.sum += ph.sum;
            h.count += ph.count;
            h.exemplars = h.exemplars.map((e, i) => e ?? ph.exemplars[i]);
          }
          s.histogram = h;
          fam.series.set(key, s);
        }
        return;
      }
      case 'summary': {
        const fam = this.family(name, 'summary', metric.description, d.dataPoints.length);
        if (!fam) return;
        for (const dp of d.dataPoints) {
          const labels = labelsFor(dp.attributes);
          const key = labelsKey(labels);
          const prev = fam.series.get(key);
          if (prev && dp.timeUnixNano < prev.pointTimeNs) continue;
          const s = base(labels, dp.startTimeUnixNano, dp.timeUnixNano);
          s.summary = { quantiles: dp.quantileValues, sum: dp.sum, count: dp.count };
          fam.series.set(key, s);
        }
        return;
      }
    }
  }

  /** Removes series (and targets) not updated within `expirationMs`. */
  expire(expirationMs: number, now = Date.now()): void {
    const cutoff = now - expirationMs;
    for (const [name, fam] of this.families) {
      for (const [key, s] of fam.series) if (s.updatedAt < cutoff) fam.series.delete(key);
      if (fam.series.size === 0) this.families.delete(name);
    }
    for (const [key, s] of this.targets) if (s.updatedAt < cutoff) this.targets.delete(key);
  }

  /** Expires, then returns what is left (families sorted by name). */
  collect(expirationMs: number, now = Date.now()): { families: Family[]; targets: Series[] } {
    this.expire(expirationMs, now);
    const families = [...this.families.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    return { families, targets: [...this.targets.values()] };
  }
}
