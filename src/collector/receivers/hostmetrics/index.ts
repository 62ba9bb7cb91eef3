import type { CreateSettings, Lifecycle, ReceiverFactory } from '../../component.js';
import type { Consumer } from '../../consumer.js';
import type { Signal } from '../../pdata/model.js';
import { createDefaultHostMetricsConfig, type HostMetricsConfig, validateHostMetricsConfig } from './config.js';
import { HostMetricsReceiver } from './receiver.js';

export const hostMetricsReceiverFactory: ReceiverFactory<HostMetricsConfig> = {
  kind: 'receiver',
  type: 'hostmetrics',
  signals: ['metrics'],
  // Scraper names and their options are checked by validate(), per scraper.
  openKeys: ['scrapers'],
  createDefaultConfig: createDefaultHostMetricsConfig,
  validate: validateHostMetricsConfig,
  createReceiver(settings: CreateSettings, cfg: HostMetricsConfig, next: Partial<{ [S in Signal]: Consumer<S> }>): Lifecycle {
    if (!next.metrics) throw new Error('the hostmetrics receiver produces metrics only: use it in a metrics pipeline');
    return new HostMetricsReceiver(settings, cfg, next.metrics);
  },
};
