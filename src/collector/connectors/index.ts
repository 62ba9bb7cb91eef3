// Every connector type Sonde has. Add one import and one array entry per component folder.
import type { ConnectorFactory } from '../component.js';
import { serviceGraphConnectorFactory } from './servicegraph/index.js';
import { spanMetricsConnectorFactory } from './spanmetrics/index.js';

export const connectorFactories: ConnectorFactory[] = [spanMetricsConnectorFactory, serviceGraphConnectorFactory];
