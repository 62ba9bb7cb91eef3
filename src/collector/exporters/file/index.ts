// Factory of the `file` exporter.
import type { ExporterFactory } from '../../component.js';
import { asComponent } from '../../internal/consumers.js';
import { FileExporter, type FileExporterConfig } from './exporter.js';

export const fileExporterFactory: ExporterFactory<FileExporterConfig> = {
  kind: 'exporter',
  type: 'file',
  signals: ['traces', 'metrics', 'logs'],
  createDefaultConfig: () => ({ path: '', append: false, format: 'json', compression: '', rotation: null, flush_interval: '1s', group_by: null, encoding: null }),
  validate(cfg) {
    if (!cfg.path) throw new Error('path must be non-empty');
    if (cfg.format !== 'json' && cfg.format !== 'proto') throw new Error(`format: "${cfg.format}" is not supported (use json or proto)`);
    if (cfg.compression) throw new Error(`compression: "${cfg.compression}" is not supported by Sonde yet (remove the option)`);
    if (cfg.rotation) throw new Error('rotation is not supported by Sonde yet (remove the option)');
    if (cfg.group_by) throw new Error('group_by is not supported by Sonde yet (remove the option)');
    if (cfg.encoding) throw new Error('encoding extensions are not supported by Sonde yet (use format: json or proto)');
  },
  createExporter(_settings, cfg, signal) {
    const exp = new FileExporter(signal, cfg);
    return asComponent(signal, exp);
  },
};
