// Options of the `servicegraph` connector, named and defaulted as in the Collector's
// servicegraphconnector (store ttl 2 s / 1000 items, flush every 60 s, latency in seconds).
import { parseDuration } from '../../internal/duration.js';

export interface ServiceGraphConfig {
  /** Durations (`"100ms"`; a bare number is nanoseconds, as in the Collector); null means the default buckets. */
  latency_histogram_buckets: Array<string | number> | null;
  exponential_histogram_max_size: number;
  dimensions: string[];
  store: { ttl: string; max_items: number };
  cache_loop: string;
  store_expiration_loop: string;
  virtual_node_peer_attributes: string[];
  virtual_node_extra_label: boolean;
  metrics_flush_interval: string;
  database_name_attributes: string[];
}

export const defaultLatencyBucketsSec = [0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15];

export const createDefaultServiceGraphConfig = (): ServiceGraphConfig => ({
  latency_histogram_buckets: null,
  exponential_histogram_max_size: 0,
  dimensions: [],
  store: { ttl: '2s', max_items: 1000 },
  cache_loop: '1m',
  store_expiration_loop: '2s',
  virtual_node_peer_attributes: ['peer.service', 'db.name', 'db.system'],
  virtual_node_extra_label: false,
  metrics_flush_interval: '60s',
  database_name_attributes: ['db.name'],
});

export function latencyBoundsSec(cfg: ServiceGraphConfig): number[] {
  if (cfg.latency_histogram_buckets === null) return defaultLatencyBucketsSec;
  return cfg.latency_histogram_buckets.map((b, i) => parseDuration(b, `latency_histogram_buckets[${i}]`) / 1000);
}

const stringList = (v: unknown, what: string) => {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) throw new Error(`${what}: must be a list of attribute names`);
};

export function validateServiceGraphConfig(cfg: ServiceGraphConfig): void {
  if (cfg.latency_histogram_buckets !== null && cfg.exponential_histogram_max_size > 0) {
    throw new Error('use either `latency_histogram_buckets` or `exponential_histogram_max_size`');
  }
  if (!Number.isInteger(cfg.exponential_histogram_max_size) || cfg.exponential_histogram_max_size < 0) {
    throw new Error(`exponential_histogram_max_size: can not be negative, got ${cfg.exponential_histogram_max_size}`);
  }
  const bounds = latencyBoundsSec(cfg);
  if (bounds.some((b, i) => i > 0 && !(b > bounds[i - 1]!))) throw new Error('latency_histogram_buckets: must be strictly increasing');
  stringList(cfg.dimensions, 'dimensions');
  stringList(cfg.virtual_node_peer_attributes, 'virtual_node_peer_attributes');
  stringList(cfg.database_name_attributes, 'database_name_attributes');
  if (!Number.isInteger(cfg.store.max_items) || cfg.store.max_items <= 0) throw new Error(`store.max_items: must be a positive integer, got ${cfg.store.max_items}`);
  for (const key of ['cache_loop', 'store_expiration_loop'] as const) {
    if (parseDuration(cfg[key], key) <= 0) throw new Error(`${key}: must be positive, got "${cfg[key]}"`);
  }
  if (parseDuration(cfg.store.ttl, 'store.ttl') <= 0) throw new Error(`store.ttl: must be positive, got "${cfg.store.ttl}"`);
  parseDuration(cfg.metrics_flush_interval, 'metrics_flush_interval');
}
