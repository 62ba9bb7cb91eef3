import type { ConnectorFactory, ConsumerComponent, CreateSettings } from '../../component.js';
import type { Consumer, MetricsConsumer } from '../../consumer.js';
import type { Signal } from '../../pdata/model.js';
import { createDefaultServiceGraphConfig, type ServiceGraphConfig, validateServiceGraphConfig } from './config.js';
import { ServiceGraphConnector } from './connector.js';

export const serviceGraphConnectorFactory: ConnectorFactory<ServiceGraphConfig> = {
  kind: 'connector',
  type: 'servicegraph',
  signals: ['traces', 'metrics'],
  pairs: [['traces', 'metrics']],
  createDefaultConfig: createDefaultServiceGraphConfig,
  validate: validateServiceGraphConfig,
  createConnector<F extends Signal, T extends Signal>(settings: CreateSettings, cfg: ServiceGraphConfig, from: F, to: T, next: Consumer<T>): ConsumerComponent<F> {
    if (from !== 'traces' || to !== 'metrics') throw new Error(`the servicegraph connector connects traces to metrics, not ${from} to ${to}`);
    return new ServiceGraphConnector(settings, cfg, next as MetricsConsumer) as unknown as ConsumerComponent<F>;
  },
};
