import type { ProcessorFactory } from '../../component.js';
import { compileActions } from '../../internal/attraction.js';
import { nextConsume, signalProcessor } from '../../internal/processorhelper.js';
import { createDefaultConfig, validate, type ResourceConfig } from './config.js';
import { ResourceProcessor } from './processor.js';

export const resourceProcessorFactory: ProcessorFactory<ResourceConfig> = {
  kind: 'processor',
  type: 'resource',
  signals: ['traces', 'metrics', 'logs'],
  mutatesData: true,
  createDefaultConfig,
  validate,
  createProcessor(_settings, cfg, signal, next) {
    const p = new ResourceProcessor(signal, compileActions(cfg.attributes, 'attributes'), nextConsume(signal, next));
    return signalProcessor(signal, p.consume);
  },
};
