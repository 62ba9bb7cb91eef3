import type { ProcessorFactory } from '../../component.js';
import { nextConsume, signalProcessor } from '../../internal/processorhelper.js';
import { createDefaultConfig, validate, type ProbabilisticSamplerConfig } from './config.js';
import { ProbabilisticSampler } from './sampler.js';

export const probabilisticSamplerProcessorFactory: ProcessorFactory<ProbabilisticSamplerConfig> = {
  kind: 'processor',
  type: 'probabilistic_sampler',
  signals: ['traces', 'logs'],
  createDefaultConfig,
  validate,
  createProcessor(settings, cfg, signal, next) {
    const p = new ProbabilisticSampler(settings, cfg, signal, nextConsume(signal, next));
    return signalProcessor(signal, p.consume);
  },
};
