// Factory of the `otlp` receiver (also accepted as `otlp_grpc`, the Collector's newer name).
import type { ReceiverFactory } from '../../component.js';
import { createDefaultConfig, type OtlpReceiverConfig, unmarshal, validate } from './config.js';
import { OtlpReceiver } from './receiver.js';

export const otlpReceiverFactory: ReceiverFactory<OtlpReceiverConfig> = {
  kind: 'receiver',
  type: 'otlp',
  aliases: ['otlp_grpc'],
  signals: ['traces', 'metrics', 'logs'],
  createDefaultConfig,
  openKeys: ['protocols.http.response_headers'],
  unmarshal,
  validate,
  createReceiver: (settings, cfg, next) => new OtlpReceiver(settings, cfg, next),
};

export { OtlpReceiver } from './receiver.js';
export type { OtlpReceiverConfig } from './config.js';
