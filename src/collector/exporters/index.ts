// Every exporter type Sonde has. Add one import and one array entry per component folder.
import type { ExporterFactory } from '../component.js';
import { debugExporterFactory } from './debug/index.js';
import { fileExporterFactory } from './file/index.js';
import { otlpExporterFactory } from './otlp/index.js';
import { otlphttpExporterFactory } from './otlphttp/index.js';
import { prometheusExporterFactory } from './prometheus/index.js';

export const exporterFactories: ExporterFactory[] = [otlpExporterFactory, otlphttpExporterFactory, fileExporterFactory, debugExporterFactory, prometheusExporterFactory];
