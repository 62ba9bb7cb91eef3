import type { ProcessorFactory } from '../../component.js';
import { nextConsume, signalProcessor } from '../../internal/processorhelper.js';
import { createDefaultConfig, validate, type BatchConfig } from './config.js';
import { BatchProcessor } from './processor.js';

export const batchProcessorFactory: ProcessorFactory<BatchConfig> = {
  kind: 'processor',
  type: 'batch',
  signals: ['traces', 'metrics', 'logs'],
  createDefaultConfig,
  validate,
  createProcessor(settings, cfg, signal, next) {
    const p = new BatchProcessor(settings, cfg, signal, nextConsume(signal, next));
    return signalProcessor(signal, p.consume, { shutdown: p.shutdown });
  },
};
