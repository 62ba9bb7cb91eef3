// batch processor config, with the Collector's defaults.
import { parseDuration } from '../../internal/duration.js';
import { checkNumber, checkStringList } from '../../internal/processorhelper.js';

export interface BatchConfig {
  send_batch_size: number;
  timeout: string;
  send_batch_max_size: number;
  metadata_keys: string[];
  metadata_cardinality_limit: number;
}

export function createDefaultConfig(): BatchConfig {
  return { send_batch_size: 8192, timeout: '200ms', send_batch_max_size: 0, metadata_keys: [], metadata_cardinality_limit: 1000 };
}

export function validate(cfg: BatchConfig): void {
  checkNumber(cfg.send_batch_size, 'send_batch_size', 0);
  parseDuration(cfg.timeout, 'timeout');
  checkNumber(cfg.send_batch_max_size, 'send_batch_max_size', 0);
  if (cfg.send_batch_max_size > 0 && cfg.send_batch_max_size < cfg.send_batch_size) {
    throw new Error(`send_batch_max_size (${cfg.send_batch_max_size}) must be greater than or equal to send_batch_size (${cfg.send_batch_size}), or 0 for no limit`);
  }
  const keys = checkStringList(cfg.metadata_keys, 'metadata_keys').map((k) => k.toLowerCase());
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup) throw new Error(`metadata_keys: duplicate entry ${JSON.stringify(dup)} (keys are case-insensitive)`);
  checkNumber(cfg.metadata_cardinality_limit, 'metadata_cardinality_limit', 0);
}
