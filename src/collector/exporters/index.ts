// Every exporter type Sonde has. Add one import and one array entry per component folder.
import type { ExporterFactory } from '../component.js';

export const exporterFactories: ExporterFactory[] = [];
