// memory_limiter measures this process's real RSS: a limit far below it refuses, a huge one passes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { ConsumerError, isRetryable } from '../../../src/collector/consumer.js';
import { memoryLimiterProcessorFactory } from '../../../src/collector/processors/memorylimiter/factory.js';
import { testHost } from '../prometheus/support.js';
import { Sink, startProcessor, traces, validated } from './support.js';

test('refuses with a retryable error while RSS is above the soft limit', async () => {
  assert.ok(process.memoryUsage.rss() > 8 * 1024 * 1024, 'the test process uses more than 8 MiB');
  const sink = new Sink('traces');
  const reg = new Registry();
  const { consume, proc } = await startProcessor(memoryLimiterProcessorFactory, { check_interval: '1s', limit_mib: 4, spike_limit_mib: 1 }, 'traces', sink, testHost(reg));
  await assert.rejects(consume(traces({ items: [{}] })), (err: unknown) =>
    err instanceof ConsumerError && isRetryable(err) && err.message === 'data refused due to high memory usage');
  assert.equal(sink.received.length, 0);
  assert.match(await reg.metrics(), /sonde_processor_refused_spans_total\{processor="memory_limiter"\} 1/);
  await proc.shutdown();
});

test('passes data through while RSS is below the soft limit (limit_mib and limit_percentage)', async () => {
  const sink = new Sink('logs');
  const mib = await startProcessor(memoryLimiterProcessorFactory, { check_interval: '1s', limit_mib: 1_000_000 }, 'logs', sink);
  await mib.consume({ resourceLogs: [] });
  const pct = await startProcessor(memoryLimiterProcessorFactory, { check_interval: '1s', limit_percentage: 100, spike_limit_percentage: 1 }, 'logs', sink);
  await pct.consume({ resourceLogs: [] });
  assert.equal(sink.received.length, 2);
  await mib.proc.shutdown();
  await pct.proc.shutdown();
});

test('validation follows the Collector', () => {
  assert.throws(() => validated(memoryLimiterProcessorFactory, { limit_mib: 100 }), /check_interval must be greater than zero/);
  assert.throws(() => validated(memoryLimiterProcessorFactory, { check_interval: '1s' }), /'limit_mib' or 'limit_percentage' must be greater than zero/);
  assert.throws(() => validated(memoryLimiterProcessorFactory, { check_interval: '1s', limit_mib: 100, spike_limit_mib: 100 }), /spike_limit_mib \(100\) must be smaller than limit_mib/);
  assert.throws(() => validated(memoryLimiterProcessorFactory, { check_interval: '1s', limit_percentage: 120 }), /limit_percentage: must be a number between 0 and 100/);
  validated(memoryLimiterProcessorFactory, { check_interval: '1s', limit_mib: 400 }); // the seed config's settings
});
