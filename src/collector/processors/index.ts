// Every processor type Sonde has. Add one import and one array entry per component folder.
import type { ProcessorFactory } from '../component.js';

export const processorFactories: ProcessorFactory[] = [];
