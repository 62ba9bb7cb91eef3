// batch processor: size trigger, timeout, max-size splitting, metadata keys, error propagation,
// flush on shutdown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsumerError } from '../../../src/collector/consumer.js';
import { batchProcessorFactory } from '../../../src/collector/processors/batch/factory.js';
import { allSpans, gauge, metrics, Sink, startProcessor, traces, validated } from './support.js';

const spans = (n: number, prefix = 's') => traces({ items: Array.from({ length: n }, (_, i) => ({ name: `${prefix}${i}` })) });

test('send_batch_size triggers a send at once; the consume resolves when that batch is exported', async () => {
  const sink = new Sink('traces');
  const { consume, proc } = await startProcessor(batchProcessorFactory, { send_batch_size: 10, timeout: '10s' }, 'traces', sink);
  const first = consume(spans(6, 'a'));
  let firstDone = false;
  void first.then(() => { firstDone = true; });
  await sleep(20);
  assert.equal(firstDone, false, 'below send_batch_size the data waits for the timeout');
  await Promise.all([first, consume(spans(6, 'b'))]);
  assert.deepEqual(sink.batches, [12], 'send_batch_size is a trigger, not a cap');
  await proc.shutdown();
});

test('timeout sends a partial batch; timeout 0 sends at once', async () => {
  const sink = new Sink('traces');
  const { consume, proc } = await startProcessor(batchProcessorFactory, { send_batch_size: 1000, timeout: '50ms' }, 'traces', sink);
  const t0 = Date.now();
  await Promise.all([consume(spans(3)), consume(spans(4))]);
  const waited = Date.now() - t0;
  assert.deepEqual(sink.batches, [7]);
  assert.ok(waited >= 45, `sent only after the timeout (${waited} ms)`);
  await proc.shutdown();

  const now = new Sink('traces');
  const immediate = await startProcessor(batchProcessorFactory, { timeout: '0s' }, 'traces', now);
  await immediate.consume(spans(2));
  assert.deepEqual(now.batches, [2]);
});

test('send_batch_max_size splits large requests across batches, in order', async () => {
  const sink = new Sink('traces');
  const { consume, proc } = await startProcessor(batchProcessorFactory, { send_batch_size: 4, send_batch_max_size: 5, timeout: '20ms' }, 'traces', sink);
  await consume(traces({ items: Array.from({ length: 7 }, (_, i) => ({ name: `x${i}` })) }, { items: Array.from({ length: 5 }, (_, i) => ({ name: `y${i}` })) }));
  assert.deepEqual(sink.batches, [5, 5, 2]);
  assert.deepEqual(sink.received.flatMap((r) => allSpans(r.data).map((s) => s.name)),
    [...Array.from({ length: 7 }, (_, i) => `x${i}`), ...Array.from({ length: 5 }, (_, i) => `y${i}`)]);
  assert.equal(sink.received[1]!.data.resourceSpans.length, 2, 'a split keeps resource boundaries (x5,x6 | y0..y2)');
  await proc.shutdown();
});

test('metrics are counted and split by data points', async () => {
  const sink = new Sink('metrics');
  const { consume, proc } = await startProcessor(batchProcessorFactory, { send_batch_size: 3, send_batch_max_size: 3, timeout: '20ms' }, 'metrics', sink);
  await consume(metrics({ items: [gauge('a', [{ value: 1 }, { value: 2 }]), gauge('b', [{ value: 3 }, { value: 4 }, { value: 5 }])] }));
  assert.deepEqual(sink.batches, [3, 2]);
  const names = sink.received.map((r) => r.data.resourceMetrics[0]!.scopeMetrics[0]!.metrics.map((m) => `${m.name}:${m.data.dataPoints.length}`));
  assert.deepEqual(names, [['a:2', 'b:1'], ['b:2']]);
  await proc.shutdown();
});

test('metadata_keys: one batcher per value combination, metadata passed downstream, cardinality limit', async () => {
  const sink = new Sink('traces');
  const { consume, proc } = await startProcessor(batchProcessorFactory,
    { send_batch_size: 100, timeout: '20ms', metadata_keys: ['X-Tenant'], metadata_cardinality_limit: 2 }, 'traces', sink);
  await Promise.all([
    consume(spans(1, 'a'), { metadata: { 'x-tenant': ['a'] } }),
    consume(spans(2, 'b'), { metadata: { 'x-tenant': ['b'] } }),
    consume(spans(3, 'a'), { metadata: { 'x-tenant': ['a'] } }),
  ]);
  const byTenant = Object.fromEntries(sink.received.map((r) => [r.ctx?.metadata?.['x-tenant']?.[0], allSpans(r.data).length]));
  assert.deepEqual(byTenant, { a: 4, b: 2 });
  await assert.rejects(consume(spans(1), { metadata: { 'x-tenant': ['c'] } }), /too many batcher metadata-value combinations/);
  await proc.shutdown();
});

test('downstream errors reach every caller whose data was in the failed batch', async () => {
  const sink = new Sink('traces');
  sink.failWith = ConsumerError.retryable('exporter queue is full');
  const { consume, proc } = await startProcessor(batchProcessorFactory, { send_batch_size: 4, timeout: '20ms' }, 'traces', sink);
  const results = await Promise.allSettled([consume(spans(2)), consume(spans(2))]);
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.ok((r as PromiseRejectedResult).reason instanceof ConsumerError && (r as PromiseRejectedResult).reason.kind === 'retryable');
  }
  sink.failWith = undefined;
  await consume(spans(4));
  assert.deepEqual(sink.batches, [4]);
  await proc.shutdown();
});

test('backpressure: a slow exporter holds the caller until its batch is through', async () => {
  const sink = new Sink('traces');
  sink.delayMs = 80;
  const { consume, proc } = await startProcessor(batchProcessorFactory, { send_batch_size: 1, timeout: '1s' }, 'traces', sink);
  const t0 = Date.now();
  await consume(spans(1));
  assert.ok(Date.now() - t0 >= 75, 'resolved only after the export finished');
  await proc.shutdown();
});

test('shutdown flushes what is queued and waits for it', async () => {
  const sink = new Sink('traces');
  const { consume, proc } = await startProcessor(batchProcessorFactory, { send_batch_size: 1000, timeout: '1h' }, 'traces', sink);
  const pending = consume(spans(5));
  await proc.shutdown();
  await pending;
  assert.deepEqual(sink.batches, [5]);
  await assert.rejects(consume(spans(1)), /is shut down/);
});

test('validation follows the Collector', () => {
  assert.throws(() => validated(batchProcessorFactory, { send_batch_size: 100, send_batch_max_size: 10 }),
    /send_batch_max_size \(10\) must be greater than or equal to send_batch_size \(100\)/);
  assert.throws(() => validated(batchProcessorFactory, { timeout: 'soon' }), /timeout: invalid duration "soon"/);
  assert.throws(() => validated(batchProcessorFactory, { metadata_keys: ['a', 'A'] }), /duplicate entry "a"/);
  assert.deepEqual(batchProcessorFactory.createDefaultConfig(),
    { send_batch_size: 8192, timeout: '200ms', send_batch_max_size: 0, metadata_keys: [], metadata_cardinality_limit: 1000 });
});
