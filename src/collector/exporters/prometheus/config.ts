// Options of the `prometheus` exporter, named and defaulted as in the Collector's
// prometheusexporter, except `endpoint` (Sonde binds loopback unless told otherwise) and
// `include_self_metrics` (a Sonde extension).
import { parseDuration } from '../../internal/duration.js';
import { parseEndpoint } from '../../internal/endpoint.js';

export interface PrometheusExporterConfig {
  endpoint: string;
  namespace: string;
  const_labels: Record<string, string>;
  send_timestamps: boolean;
  metric_expiration: string;
  resource_to_telemetry_conversion: { enabled: boolean };
  enable_open_metrics: boolean;
  add_metric_suffixes: boolean;
  include_self_metrics: boolean;
}

export const createDefaultPrometheusConfig = (): PrometheusExporterConfig => ({
  endpoint: '127.0.0.1:9464',
  namespace: '',
  const_labels: {},
  send_timestamps: false,
  metric_expiration: '5m',
  resource_to_telemetry_conversion: { enabled: false },
  enable_open_metrics: false,
  add_metric_suffixes: true,
  include_self_metrics: true,
});

export function validatePrometheusConfig(cfg: PrometheusExporterConfig): void {
  parseEndpoint(cfg.endpoint, 'endpoint');
  const expiration = parseDuration(cfg.metric_expiration, 'metric_expiration');
  if (expiration <= 0) throw new Error(`metric_expiration: must be positive, got "${cfg.metric_expiration}"`);
  if (cfg.namespace !== '' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(cfg.namespace)) {
    throw new Error(`namespace: "${cfg.namespace}" is not a valid Prometheus name prefix ([a-zA-Z_][a-zA-Z0-9_]*)`);
  }
  for (const [k, v] of Object.entries(cfg.const_labels ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`const_labels: "${k}" is not a valid Prometheus label name`);
    if (typeof v !== 'string') throw new Error(`const_labels.${k}: must be a string, got ${JSON.stringify(v)}`);
  }
}
