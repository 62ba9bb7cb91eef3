// The `ebpf` receiver factory: zero-code traces and RED metrics of the HTTP/1.x, HTTP/2 and gRPC
// traffic of this host's processes. See docs/ebpf-receiver.md.
import type { CreateSettings, Lifecycle, ReceiverFactory } from '../../component.js';
import type { Consumer } from '../../consumer.js';
import type { Signal } from '../../pdata/model.js';
import { createDefaultEbpfConfig, validateEbpfConfig, type EbpfReceiverConfig } from './config.js';
import { EbpfReceiver } from './receiver.js';

export const ebpfReceiverFactory: ReceiverFactory<EbpfReceiverConfig> = {
  kind: 'receiver',
  type: 'ebpf',
  signals: ['traces', 'metrics'],
  createDefaultConfig: createDefaultEbpfConfig,
  validate: validateEbpfConfig,
  createReceiver(settings: CreateSettings, cfg: EbpfReceiverConfig, next: Partial<{ [S in Signal]: Consumer<S> }>): Lifecycle {
    if (!next.traces && !next.metrics) throw new Error('the ebpf receiver produces traces and metrics: use it in a traces or metrics pipeline');
    return new EbpfReceiver(settings, cfg, { traces: next.traces, metrics: next.metrics });
  },
};

export { EbpfReceiver } from './receiver.js';
export type { EbpfReceiverConfig } from './config.js';
