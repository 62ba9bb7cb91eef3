// Every connector type Sonde has. Add one import and one array entry per component folder.
import type { ConnectorFactory } from '../component.js';

export const connectorFactories: ConnectorFactory[] = [];
