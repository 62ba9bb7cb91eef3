// probabilistic_sampler config. Sonde implements the Collector's default `hash_seed` mode.
import { checkEnum, checkNumber } from '../../internal/processorhelper.js';

export interface ProbabilisticSamplerConfig {
  sampling_percentage: number;
  hash_seed: number;
  mode: 'hash_seed';
  fail_closed: boolean;
  sampling_precision: number;
  attribute_source: 'traceID' | 'record';
  from_attribute: string;
  sampling_priority: string;
}

export function createDefaultConfig(): ProbabilisticSamplerConfig {
  return {
    sampling_percentage: 0, hash_seed: 0, mode: 'hash_seed', fail_closed: true, sampling_precision: 4,
    attribute_source: 'traceID', from_attribute: '', sampling_priority: '',
  };
}

export function validate(cfg: ProbabilisticSamplerConfig): void {
  checkNumber(cfg.sampling_percentage, 'sampling_percentage', 0);
  checkNumber(cfg.hash_seed, 'hash_seed', 0, 0xffffffff);
  if (!Number.isInteger(cfg.hash_seed)) throw new Error(`hash_seed: must be an unsigned 32-bit integer, got ${cfg.hash_seed}`);
  if ((cfg.mode as string) === 'proportional' || (cfg.mode as string) === 'equalizing') {
    throw new Error(`mode: "${cfg.mode}" (OTEP 235 consistent sampling) is not supported by Sonde; use mode: hash_seed`);
  }
  checkEnum(cfg.mode, 'mode', ['hash_seed'] as const);
  checkNumber(cfg.sampling_precision, 'sampling_precision', 1, 14);
  checkEnum(cfg.attribute_source, 'attribute_source', ['traceID', 'record'] as const);
  if (cfg.attribute_source === 'record' && cfg.from_attribute === '') {
    throw new Error('from_attribute: must name a log record attribute when attribute_source is "record"');
  }
}
