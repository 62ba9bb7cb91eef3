import type { ProcessorFactory } from '../../component.js';
import { nextConsume, signalProcessor } from '../../internal/processorhelper.js';
import { compileFilterConditions, createDefaultConfig, validate, type FilterConfig } from './config.js';
import { FilterProcessor } from './processor.js';

export const filterProcessorFactory: ProcessorFactory<FilterConfig> = {
  kind: 'processor',
  type: 'filter',
  signals: ['traces', 'metrics', 'logs'],
  createDefaultConfig,
  validate,
  createProcessor(settings, cfg, signal, next) {
    const p = new FilterProcessor(settings, cfg, signal, compileFilterConditions(cfg, signal), nextConsume(signal, next));
    return signalProcessor(signal, p.consume);
  },
};
