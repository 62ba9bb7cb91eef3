// tail_sampling processor config, with the Collector's option names and defaults.
import { parseDuration } from '../../internal/duration.js';
import { checkNumber } from '../../internal/processorhelper.js';
import { compilePolicy, type PolicyConfig } from './policies.js';

export interface TailSamplingConfig {
  decision_wait: string;
  num_traces: number;
  expected_new_traces_per_sec: number;
  decision_cache: { sampled_cache_size: number; non_sampled_cache_size: number };
  sample_on_first_match: boolean;
  drop_pending_traces_on_shutdown: boolean;
  policies: PolicyConfig[];
}

export function createDefaultConfig(): TailSamplingConfig {
  return {
    decision_wait: '30s',
    num_traces: 50000,
    expected_new_traces_per_sec: 0,
    decision_cache: { sampled_cache_size: 0, non_sampled_cache_size: 0 },
    sample_on_first_match: false,
    drop_pending_traces_on_shutdown: false,
    policies: [],
  };
}

export function validate(cfg: TailSamplingConfig): void {
  if (parseDuration(cfg.decision_wait, 'decision_wait') <= 0) throw new Error('decision_wait: must be greater than zero (e.g. "30s")');
  checkNumber(cfg.num_traces, 'num_traces', 1);
  checkNumber(cfg.expected_new_traces_per_sec, 'expected_new_traces_per_sec', 0);
  checkNumber(cfg.decision_cache.sampled_cache_size, 'decision_cache.sampled_cache_size', 0);
  checkNumber(cfg.decision_cache.non_sampled_cache_size, 'decision_cache.non_sampled_cache_size', 0);
  if (!Array.isArray(cfg.policies) || cfg.policies.length === 0) {
    throw new Error('policies: at least one policy is required (e.g. - {name: all, type: always_sample})');
  }
  compilePolicies(cfg.policies);
}

export function compilePolicies(policies: PolicyConfig[]) {
  const names = new Set<string>();
  return policies.map((p, i) => {
    const compiled = compilePolicy(p, `policies[${i}]`, true);
    if (names.has(compiled.name)) throw new Error(`policies[${i}].name: duplicate policy name ${JSON.stringify(compiled.name)}`);
    names.add(compiled.name);
    return compiled;
  });
}
