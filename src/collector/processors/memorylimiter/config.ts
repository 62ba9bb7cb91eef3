// memory_limiter processor config, with the Collector's option names and defaults.
import { parseDuration } from '../../internal/duration.js';
import { checkNumber } from '../../internal/processorhelper.js';

export interface MemoryLimiterConfig {
  check_interval: string;
  limit_mib: number;
  spike_limit_mib: number;
  limit_percentage: number;
  spike_limit_percentage: number;
  min_gc_interval_when_soft_limited: string;
  min_gc_interval_when_hard_limited: string;
}

export function createDefaultConfig(): MemoryLimiterConfig {
  return {
    check_interval: '0s', limit_mib: 0, spike_limit_mib: 0, limit_percentage: 0, spike_limit_percentage: 0,
    min_gc_interval_when_soft_limited: '10s', min_gc_interval_when_hard_limited: '0s',
  };
}

export function validate(cfg: MemoryLimiterConfig): void {
  if (parseDuration(cfg.check_interval, 'check_interval') <= 0) {
    throw new Error('check_interval must be greater than zero (1s is recommended)');
  }
  parseDuration(cfg.min_gc_interval_when_soft_limited, 'min_gc_interval_when_soft_limited');
  parseDuration(cfg.min_gc_interval_when_hard_limited, 'min_gc_interval_when_hard_limited');
  checkNumber(cfg.limit_mib, 'limit_mib', 0);
  checkNumber(cfg.spike_limit_mib, 'spike_limit_mib', 0);
  checkNumber(cfg.limit_percentage, 'limit_percentage', 0, 100);
  checkNumber(cfg.spike_limit_percentage, 'spike_limit_percentage', 0, 100);
  if (cfg.limit_mib === 0 && cfg.limit_percentage === 0) {
    throw new Error("'limit_mib' or 'limit_percentage' must be greater than zero");
  }
  if (cfg.limit_mib > 0 && cfg.spike_limit_mib >= cfg.limit_mib) {
    throw new Error(`spike_limit_mib (${cfg.spike_limit_mib}) must be smaller than limit_mib (${cfg.limit_mib})`);
  }
  if (cfg.limit_mib === 0 && cfg.spike_limit_percentage >= cfg.limit_percentage) {
    throw new Error(`spike_limit_percentage (${cfg.spike_limit_percentage}) must be smaller than limit_percentage (${cfg.limit_percentage})`);
  }
}
