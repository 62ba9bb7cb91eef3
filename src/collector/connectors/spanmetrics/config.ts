// Options of the `spanmetrics` connector, named and defaulted as in the Collector's
// spanmetricsconnector (namespace `traces.span.metrics`, flush every 60 s, cumulative).
import { parseDuration } from '../../internal/duration.js';

export interface Dimension { name: string; default?: string | null }

export interface SpanMetricsConfig {
  histogram: {
    disable: boolean;
    unit: 'ms' | 's';
    /** `{ buckets: [durations] }`; null means the default buckets. */
    explicit: { buckets?: Array<string | number> } | null;
    /** `{ max_size }`; when set, the duration histogram is exponential. */
    exponential: { max_size?: number } | null;
  };
  dimensions: Dimension[];
  exclude_dimensions: string[];
  dimensions_cache_size: number;
  resource_metrics_cache_size: number;
  resource_metrics_key_attributes: string[];
  aggregation_temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE' | 'AGGREGATION_TEMPORALITY_DELTA';
  namespace: string;
  metrics_flush_interval: string;
  metrics_expiration: string;
  exemplars: { enabled: boolean };
  events: { enabled: boolean; dimensions: Dimension[] };
}

export const defaultDurationBuckets = ['2ms', '4ms', '6ms', '8ms', '10ms', '50ms', '100ms', '200ms', '400ms', '800ms', '1s', '1400ms', '2s', '5s', '10s', '15s'];

export const createDefaultSpanMetricsConfig = (): SpanMetricsConfig => ({
  histogram: { disable: false, unit: 'ms', explicit: null, exponential: null },
  dimensions: [],
  exclude_dimensions: [],
  dimensions_cache_size: 1000,
  resource_metrics_cache_size: 1000,
  resource_metrics_key_attributes: [],
  aggregation_temporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE',
  namespace: 'traces.span.metrics',
  metrics_flush_interval: '60s',
  metrics_expiration: '0',
  exemplars: { enabled: false },
  events: { enabled: false, dimensions: [] },
});

/** Bucket bounds in the histogram unit. Buckets are durations (`"250ms"`); a bare number is nanoseconds, as in the Collector. */
export function bucketBounds(cfg: SpanMetricsConfig): number[] {
  const perUnitMs = cfg.histogram.unit === 's' ? 1000 : 1;
  const buckets = cfg.histogram.explicit?.buckets ?? defaultDurationBuckets;
  return buckets.map((b, i) => parseDuration(b, `histogram.explicit.buckets[${i}]`) / perUnitMs);
}

function validateDimensions(dims: unknown, what: string): void {
  if (!Array.isArray(dims)) throw new Error(`${what}: must be a list of { name, default }`);
  const seen = new Set<string>();
  dims.forEach((d: Dimension, i) => {
    if (typeof d?.name !== 'string' || d.name === '') throw new Error(`${what}[${i}]: needs a non-empty "name"`);
    for (const k of Object.keys(d)) if (k !== 'name' && k !== 'default') throw new Error(`${what}[${i}]: unknown key "${k}" (allowed: name, default)`);
    if (seen.has(d.name)) throw new Error(`${what}: duplicate dimension "${d.name}"`);
    seen.add(d.name);
  });
}

export function validateSpanMetricsConfig(cfg: SpanMetricsConfig): void {
  const h = cfg.histogram;
  if (h.unit !== 'ms' && h.unit !== 's') throw new Error(`histogram.unit: must be "ms" or "s", got "${String(h.unit)}"`);
  if (h.explicit && h.exponential) throw new Error('histogram: use either explicit or exponential, not both');
  for (const k of Object.keys(h.explicit ?? {})) if (k !== 'buckets') throw new Error(`histogram.explicit: unknown key "${k}"`);
  for (const k of Object.keys(h.exponential ?? {})) if (k !== 'max_size') throw new Error(`histogram.exponential: unknown key "${k}"`);
  const maxSize = h.exponential?.max_size;
  if (maxSize !== undefined && (!Number.isInteger(maxSize) || maxSize < 2)) throw new Error(`histogram.exponential.max_size: must be an integer >= 2, got ${maxSize}`);
  const bounds = bucketBounds(cfg);
  if (bounds.some((b, i) => i > 0 && !(b > bounds[i - 1]!))) throw new Error('histogram.explicit.buckets: must be strictly increasing');
  validateDimensions(cfg.dimensions, 'dimensions');
  validateDimensions(cfg.events.dimensions, 'events.dimensions');
  if (cfg.events.enabled && cfg.events.dimensions.length === 0) throw new Error('events.dimensions: required when events.enabled is true');
  if (!Number.isInteger(cfg.dimensions_cache_size) || cfg.dimensions_cache_size <= 0) {
    throw new Error(`dimensions_cache_size: must be a positive integer, got ${cfg.dimensions_cache_size}`);
  }
  if (!Number.isInteger(cfg.resource_metrics_cache_size) || cfg.resource_metrics_cache_size <= 0) {
    throw new Error(`resource_metrics_cache_size: must be a positive integer, got ${cfg.resource_metrics_cache_size}`);
  }
  if (cfg.aggregation_temporality !== 'AGGREGATION_TEMPORALITY_CUMULATIVE' && cfg.aggregation_temporality !== 'AGGREGATION_TEMPORALITY_DELTA') {
    throw new Error(`aggregation_temporality: must be AGGREGATION_TEMPORALITY_CUMULATIVE or AGGREGATION_TEMPORALITY_DELTA, got "${cfg.aggregation_temporality}"`);
  }
  if (parseDuration(cfg.metrics_flush_interval, 'metrics_flush_interval') <= 0) {
    throw new Error(`metrics_flush_interval: must be positive, got "${cfg.metrics_flush_interval}"`);
  }
  parseDuration(cfg.metrics_expiration, 'metrics_expiration');
}
