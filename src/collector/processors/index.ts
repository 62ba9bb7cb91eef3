// Every processor type Sonde has. Add one import and one array entry per component folder.
import type { ProcessorFactory } from '../component.js';
import { attributesProcessorFactory } from './attributes/factory.js';
import { batchProcessorFactory } from './batch/factory.js';
import { filterProcessorFactory } from './filter/factory.js';
import { memoryLimiterProcessorFactory } from './memorylimiter/factory.js';
import { probabilisticSamplerProcessorFactory } from './probabilisticsampler/factory.js';
import { resourceProcessorFactory } from './resource/factory.js';
import { tailSamplingProcessorFactory } from './tailsampling/factory.js';

export const processorFactories: ProcessorFactory[] = [
  memoryLimiterProcessorFactory,
  batchProcessorFactory,
  attributesProcessorFactory,
  resourceProcessorFactory,
  filterProcessorFactory,
  probabilisticSamplerProcessorFactory,
  tailSamplingProcessorFactory,
];
