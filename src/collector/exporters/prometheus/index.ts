import type { ConsumerComponent, CreateSettings, ExporterFactory } from '../../component.js';
import type { Signal } from '../../pdata/model.js';
import { createDefaultPrometheusConfig, type PrometheusExporterConfig, validatePrometheusConfig } from './config.js';
import { PrometheusExporter } from './exporter.js';

export const prometheusExporterFactory: ExporterFactory<PrometheusExporterConfig> = {
  kind: 'exporter',
  type: 'prometheus',
  signals: ['metrics'],
  openKeys: ['const_labels'],
  createDefaultConfig: createDefaultPrometheusConfig,
  validate: validatePrometheusConfig,
  createExporter<S extends Signal>(settings: CreateSettings, cfg: PrometheusExporterConfig, signal: S): ConsumerComponent<S> {
    if (signal !== 'metrics') throw new Error(`the prometheus exporter exports metrics only, not ${signal}`);
    return new PrometheusExporter(settings, cfg) as unknown as ConsumerComponent<S>;
  },
};
