// Factory of the `otlp` exporter (also accepted as `otlp_grpc`, the Collector's newer name).
import type { ExporterFactory } from '../../component.js';
import { otlpClientDefaults, validateOtlpClient } from '../../internal/exporterhelper/config.js';
import { asComponent } from '../../internal/consumers.js';
import { grpcTarget, OtlpGrpcExporter, type OtlpGrpcExporterConfig } from './exporter.js';

export const otlpExporterFactory: ExporterFactory<OtlpGrpcExporterConfig> = {
  kind: 'exporter',
  type: 'otlp',
  aliases: ['otlp_grpc'],
  signals: ['traces', 'metrics', 'logs'],
  createDefaultConfig: () => ({ ...otlpClientDefaults('5s'), balancer_name: '', authority: '', keepalive: null, auth: null }),
  openKeys: ['headers'],
  validate(cfg) {
    if (!cfg.endpoint) throw new Error('requires a non-empty "endpoint" (host:port, e.g. 127.0.0.1:4317)');
    const { target } = grpcTarget(cfg.endpoint, cfg.tls.insecure);
    if (!/^[^/\s]+:\d+$/.test(target)) throw new Error(`endpoint "${cfg.endpoint}" must be host:port (optionally with http:// or https://)`);
    validateOtlpClient(cfg);
  },
  createExporter(settings, cfg, signal) {
    const exp = new OtlpGrpcExporter(signal, settings, cfg);
    return asComponent(signal, exp);
  },
};
