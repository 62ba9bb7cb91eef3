// Every receiver type Sonde has. Add one import and one array entry per component folder.
import type { ReceiverFactory } from '../component.js';

export const receiverFactories: ReceiverFactory[] = [];
