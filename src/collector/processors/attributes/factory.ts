import type { ProcessorFactory } from '../../component.js';
import { compileActions } from '../../internal/attraction.js';
import { nextConsume, signalProcessor } from '../../internal/processorhelper.js';
import { createDefaultConfig, validate, type AttributesConfig } from './config.js';
import { compileSelection } from './matcher.js';
import { AttributesProcessor } from './processor.js';

export const attributesProcessorFactory: ProcessorFactory<AttributesConfig> = {
  kind: 'processor',
  type: 'attributes',
  signals: ['traces', 'metrics', 'logs'],
  mutatesData: true,
  createDefaultConfig,
  validate,
  createProcessor(_settings, cfg, signal, next) {
    const selected = compileSelection(cfg.include ?? undefined, cfg.exclude ?? undefined, signal);
    const p = new AttributesProcessor(signal, compileActions(cfg.actions), selected, nextConsume(signal, next));
    return signalProcessor(signal, p.consume);
  },
};
