// Every receiver type Sonde has. Add one import and one array entry per component folder.
import type { ReceiverFactory } from '../component.js';
import { otlpReceiverFactory } from './otlp/index.js';
import { hostMetricsReceiverFactory } from './hostmetrics/index.js';
import { ebpfReceiverFactory } from './ebpf/index.js';

export const receiverFactories: ReceiverFactory[] = [otlpReceiverFactory, hostMetricsReceiverFactory, ebpfReceiverFactory];
