// Factory of the `otlphttp` exporter (also accepted as `otlp_http`, the Collector's newer name).
import type { ExporterFactory } from '../../component.js';
import { otlpClientDefaults, validateOtlpClient } from '../../internal/exporterhelper/config.js';
import { asComponent } from '../../internal/consumers.js';
import type { Signal } from '../../pdata/model.js';
import { GZIP_DEFAULT_LEVEL, OtlpHttpExporter, type OtlpHttpExporterConfig, signalUrl } from './exporter.js';

export const otlphttpExporterFactory: ExporterFactory<OtlpHttpExporterConfig> = {
  kind: 'exporter',
  type: 'otlphttp',
  aliases: ['otlp_http'],
  signals: ['traces', 'metrics', 'logs'],
  createDefaultConfig: () => ({
    ...otlpClientDefaults('30s'),
    traces_endpoint: '',
    metrics_endpoint: '',
    logs_endpoint: '',
    encoding: 'proto',
    compression_params: { level: GZIP_DEFAULT_LEVEL },
    read_buffer_size: null,
    write_buffer_size: null,
    max_idle_conns: null,
    max_idle_conns_per_host: null,
    max_conns_per_host: null,
    idle_conn_timeout: null,
    proxy_url: null,
    auth: null,
  }),
  openKeys: ['headers'],
  validate(cfg) {
    if (!cfg.endpoint && !cfg.traces_endpoint && !cfg.metrics_endpoint && !cfg.logs_endpoint) {
      throw new Error('at least one endpoint must be specified ("endpoint", or traces_endpoint / metrics_endpoint / logs_endpoint)');
    }
    if (cfg.encoding !== 'proto' && cfg.encoding !== 'json') throw new Error(`encoding: "${cfg.encoding}" is not supported (use proto or json)`);
    const level = cfg.compression_params.level;
    if (!Number.isInteger(level) || level < -1 || level > 9) {
      throw new Error(`compression_params::level: ${JSON.stringify(level)} is not a gzip level (use 1 = fastest … 9 = smallest, 0 = store, -1 = zlib's default, 6)`);
    }
    for (const signal of ['traces', 'metrics', 'logs'] as Signal[]) {
      if (!cfg.endpoint && !cfg[`${signal}_endpoint`]) continue;
      const url = signalUrl(cfg, signal);
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new Error(`${signal}: invalid endpoint URL "${url}" (expected http://host:port or https://host:port)`);
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${signal}: endpoint "${url}" must use http or https`);
    }
    validateOtlpClient(cfg);
  },
  createExporter(settings, cfg, signal) {
    if (!cfg.endpoint && !cfg[`${signal}_endpoint`]) {
      throw new Error(`exporter "${settings.id}" has no endpoint for ${signal} (set endpoint or ${signal}_endpoint)`);
    }
    const exp = new OtlpHttpExporter(signal, settings, cfg);
    return asComponent(signal, exp);
  },
};
