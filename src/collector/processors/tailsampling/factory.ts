import type { ProcessorFactory } from '../../component.js';
import { nextConsume, signalProcessor } from '../../internal/processorhelper.js';
import { compilePolicies, createDefaultConfig, validate, type TailSamplingConfig } from './config.js';
import { TailSamplingProcessor } from './processor.js';

export const tailSamplingProcessorFactory: ProcessorFactory<TailSamplingConfig> = {
  kind: 'processor',
  type: 'tail_sampling',
  signals: ['traces'],
  createDefaultConfig,
  validate,
  createProcessor(settings, cfg, signal, next) {
    if (signal !== 'traces') throw new Error(`tail_sampling only supports traces pipelines, not ${signal}`);
    // TypeScript does not narrow the generic S from the check above; S is 'traces' here.
    const p = new TailSamplingProcessor(settings, cfg, compilePolicies(cfg.policies), nextConsume('traces', next as never));
    return signalProcessor(signal, p.consume as never, { start: p.start, shutdown: p.shutdown });
  },
};
