// Factory of the `debug` exporter.
import type { ExporterFactory } from '../../component.js';
import { asComponent } from '../../internal/consumers.js';
import { DebugExporter, type DebugExporterConfig } from './exporter.js';

const VERBOSITIES = ['basic', 'normal', 'detailed'];

export const debugExporterFactory: ExporterFactory<DebugExporterConfig> = {
  kind: 'exporter',
  type: 'debug',
  signals: ['traces', 'metrics', 'logs'],
  createDefaultConfig: () => ({ verbosity: 'basic', sampling_initial: 2, sampling_thereafter: 1, use_internal_logger: true }),
  validate(cfg) {
    if (!VERBOSITIES.includes(cfg.verbosity)) throw new Error(`verbosity: unknown level "${cfg.verbosity}" (valid values: [${VERBOSITIES.join(' ')}])`);
    if (!(cfg.sampling_initial >= 0) || !(cfg.sampling_thereafter >= 0)) throw new Error('sampling_initial and sampling_thereafter must be >= 0');
  },
  createExporter(settings, cfg, signal) {
    const exp = new DebugExporter(signal, settings.logger, cfg);
    return asComponent(signal, { consume: (d) => exp.consume(d), start: async () => {}, shutdown: async () => {} });
  },
};
