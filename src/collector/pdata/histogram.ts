// Histogram accumulators for whatever turns observations into pdata histograms (the spanmetrics
// and servicegraph connectors, the agent's RED metrics): explicit bounds as OTLP defines them
// (bucket i holds bounds[i-1] < v <= bounds[i]; the last bucket is everything above the last
// bound), and a base-2 exponential histogram that lowers its scale to stay within `maxSize`
// buckets, as the SDKs do.
import type { AggregationTemporality, Attributes, Exemplar, Metric } from './model.js';

export class ExplicitHistogram {
  readonly bucketCounts: number[];
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  exemplars: Exemplar[] = [];

  constructor(readonly bounds: readonly number[]) {
    this.bucketCounts = new Array(bounds.length + 1).fill(0);
  }

  record(value: number): void {
    // Binary search for the first bound >= value.
    let lo = 0;
    let hi = this.bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.bounds[mid]! >= value) hi = mid;
      else lo = mid + 1;
    }
    this.bucketCounts[lo]!++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  reset(): void {
    this.bucketCounts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.exemplars = [];
  }
}

/** Positive values only (durations): negatives are counted in the zero bucket. */
export class ExponentialHistogram {
  scale = 20;
  zeroCount = 0;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  exemplars: Exemplar[] = [];
  /** bucket index → count at the current scale. */
  private buckets = new Map<number, number>();
  private lowest = Infinity;
  private highest = -Infinity;

  constructor(readonly maxSize = 160) {}

  private indexOf(value: number, scale: number): number {
    // Bucket i holds (base^i, base^(i+1)] with base = 2^(2^-scale).
    return Math.ceil(Math.log2(value) * 2 ** scale) - 1;
  }

  record(value: number): void {
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (!(value > 0)) {
      this.zeroCount++;
      return;
    }
    let index = this.indexOf(value, this.scale);
    const low = Math.min(this.lowest, index);
    const high = Math.max(this.highest, index);
    if (high - low + 1 > this.maxSize) {
      let shift = 0;
      while (((high >> shift) - (low >> shift)) + 1 > this.maxSize) shift++;
      this.downscale(shift);
      index = this.indexOf(value, this.scale);
    }
    this.buckets.set(index, (this.buckets.get(index) ?? 0) + 1);
    this.lowest = Math.min(this.lowest, index);
    this.highest = Math.max(this.highest, index);
  }

  private downscale(shift: number): void {
    const next = new Map<number, number>();
    for (const [i, c] of this.buckets) next.set(i >> shift, (next.get(i >> shift) ?? 0) + c);
    this.buckets = next;
    this.scale -= shift;
    this.lowest = this.lowest === Infinity ? Infinity : this.lowest >> shift;
    this.highest = this.highest === -Infinity ? -Infinity : this.highest >> shift;
  }

  /** Dense positive buckets: offset and counts. */
  positive(): { offset: number; bucketCounts: number[] } {
    if (this.buckets.size === 0) return { offset: 0, bucketCounts: [] };
    const counts = new Array(this.highest - this.lowest + 1).fill(0);
    for (const [i, c] of this.buckets) counts[i - this.lowest] = c;
    return { offset: this.lowest, bucketCounts: counts };
  }

  reset(): void {
    this.scale = 20;
    this.zeroCount = 0;
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.exemplars = [];
    this.buckets.clear();
    this.lowest = Infinity;
    this.highest = -Infinity;
  }
}

export type AnyHistogram = ExplicitHistogram | ExponentialHistogram;
export interface PointTimes { startTimeUnixNano: bigint; timeUnixNano: bigint; flags: number }

/**
 * A pdata histogram metric (explicit or exponential, after the kind of the accumulators) with one
 * point per series. Exemplars are copied, so the accumulators may clear theirs afterwards.
 */
export function histogramMetric(
  meta: { name: string; unit: string; description?: string },
  temporality: AggregationTemporality,
  times: PointTimes,
  series: Array<{ attributes: Attributes; histogram: AnyHistogram }>,
): Metric {
  const head = { name: meta.name, unit: meta.unit, description: meta.description ?? '', metadata: {} };
  if (series[0]?.histogram instanceof ExponentialHistogram) {
    return {
      ...head,
      data: {
        type: 'exponentialHistogram', aggregationTemporality: temporality,
        dataPoints: series.map(({ attributes, histogram }) => {
          const h = histogram as ExponentialHistogram;
          return {
            ...times, attributes, count: h.count, sum: h.sum, scale: h.scale, zeroCount: h.zeroCount, zeroThreshold: 0,
            positive: h.positive(), negative: { offset: 0, bucketCounts: [] }, exemplars: [...h.exemplars], min: h.min, max: h.max,
          };
        }),
      },
    };
  }
  return {
    ...head,
    data: {
      type: 'histogram', aggregationTemporality: temporality,
      dataPoints: series.map(({ attributes, histogram }) => {
        const h = histogram as ExplicitHistogram;
        return {
          ...times, attributes, count: h.count, sum: h.sum, bucketCounts: [...h.bucketCounts], explicitBounds: [...h.bounds],
          exemplars: [...h.exemplars], min: h.min, max: h.max,
        };
      }),
    },
  };
}
