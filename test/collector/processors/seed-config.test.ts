// The processors section users paste first (the seed config) validates unchanged, and the
// factories' defaults are the Collector's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { mergeWithDefaults } from '../../../src/collector/config/config.js';
import { processorFactories } from '../../../src/collector/processors/index.js';

const SEED_PROCESSORS = `
memory_limiter:
  check_interval: 1s
  limit_mib: 400
batch:
  send_batch_size: 10000
  timeout: 10s
attributes:
  actions:
    - key: environment
      value: production
      action: insert
    - key: http.user_agent
      action: delete
filter:
  traces:
    span:
      - 'attributes["http.target"] == "/health"'
tail_sampling:
  decision_wait: 10s
  policies:
    - name: errors-policy
      type: status_code
      status_code: {status_codes: [ERROR]}
    - name: slow-traces-policy
      type: latency
      latency: {threshold_ms: 1000}
    - name: probabilistic-policy
      type: probabilistic
      probabilistic: {sampling_percentage: 10}
`;

test('every processor of the seed config validates with Sonde', () => {
  const seed = parse(SEED_PROCESSORS) as Record<string, Record<string, unknown>>;
  for (const [type, userCfg] of Object.entries(seed)) {
    const factory = processorFactories.find((f) => f.type === type);
    assert.ok(factory, `processor ${type} exists`);
    // The config loader's own merge: unknown keys and wrong types become problems.
    const problems: string[] = [];
    const cfg = mergeWithDefaults(factory.createDefaultConfig(), userCfg, `processors::${type}`, new Set(factory.openKeys ?? []), '', problems);
    assert.deepEqual(problems, [], type);
    factory.validate?.(cfg);
  }
});

test('registered processors and their mutatesData capability', () => {
  const types = Object.fromEntries(processorFactories.map((f) => [f.type, f.mutatesData ?? false]));
  assert.deepEqual(types, {
    memory_limiter: false, batch: false, attributes: true, resource: true, filter: false, probabilistic_sampler: false, tail_sampling: false,
  });
});
