// Every extension type Sonde has. Add one import and one array entry per component folder.
import type { ExtensionFactory } from '../component.js';

export const extensionFactories: ExtensionFactory[] = [];
