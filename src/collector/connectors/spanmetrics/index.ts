import type { ConnectorFactory, ConsumerComponent, CreateSettings } from '../../component.js';
import type { Consumer, MetricsConsumer } from '../../consumer.js';
import type { Signal } from '../../pdata/model.js';
import { createDefaultSpanMetricsConfig, type SpanMetricsConfig, validateSpanMetricsConfig } from './config.js';
import { SpanMetricsConnector } from './connector.js';

export const spanMetricsConnectorFactory: ConnectorFactory<SpanMetricsConfig> = {
  kind: 'connector',
  type: 'spanmetrics',
  signals: ['traces', 'metrics'],
  pairs: [['traces', 'metrics']],
  // Validated by validate(): explicit/exponential may be null in the defaults.
  openKeys: ['histogram.explicit', 'histogram.exponential'],
  createDefaultConfig: createDefaultSpanMetricsConfig,
  validate: validateSpanMetricsConfig,
  createConnector<F extends Signal, T extends Signal>(settings: CreateSettings, cfg: SpanMetricsConfig, from: F, to: T, next: Consumer<T>): ConsumerComponent<F> {
    if (from !== 'traces' || to !== 'metrics') throw new Error(`the spanmetrics connector connects traces to metrics, not ${from} to ${to}`);
    return new SpanMetricsConnector(settings, cfg, next as MetricsConsumer) as unknown as ConsumerComponent<F>;
  },
};
