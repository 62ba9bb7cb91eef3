// The instrumentation scope of everything Sonde synthesises from captured exchanges.
import type { InstrumentationScope } from '../collector/pdata/model.js';
import { sondeVersion } from './sonde-version.js';

export const SONDE_SCOPE_NAME = 'sonde';

/** A fresh scope object each call, so a consumer that edits one batch cannot change the next. */
export function sondeScope(): InstrumentationScope {
  return { name: SONDE_SCOPE_NAME, version: sondeVersion(), attributes: {}, droppedAttributesCount: 0 };
}
