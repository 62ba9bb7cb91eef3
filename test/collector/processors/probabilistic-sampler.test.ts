// probabilistic_sampler in hash_seed mode must decide exactly like the Collector. Expected decisions
// were derived by hand from the upstream algorithm (an independent Python computation):
//   h = FNV-1a-32(seed as 4 little-endian bytes ‖ 16 trace-id bytes); bucket = h & 0x3fff;
//   sampled ⇔ bucket < uint32(float32(pct) × float32(16384/100)).
//   seed 0:  0af7651916cd43dd8448eb211c80319c → h 0x810d5de4, bucket 7652
//            4bf92f3577b34da6a3ce929d0e0e4736 → h 0x3420408d, bucket 141
//            00000000000000000000000000000001 → h 0xb8fee2c2, bucket 8898
//            ffffffffffffffffffffffffffffffff → h 0x291a1545, bucket 5445
//            5b8efff798038103d269b633813fc60c → h 0x245dd6df, bucket 5855
//   seed 42: same ids → buckets 6506, 7935, 524, 4751, 14301
//   10% → 1638 buckets, 50% → 8192, 33.3% → float32 5455.8716 → 5455 (so bucket 5445 is in, 5855 out).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fnv1a32, scaledSamplingRate } from '../../../src/collector/processors/probabilisticsampler/sampler.js';
import { probabilisticSamplerProcessorFactory } from '../../../src/collector/processors/probabilisticsampler/factory.js';
import { allSpans, logs, Sink, startProcessor, traces, validated } from './support.js';

const IDS = ['0af7651916cd43dd8448eb211c80319c', '4bf92f3577b34da6a3ce929d0e0e4736', '00000000000000000000000000000001',
  'ffffffffffffffffffffffffffffffff', '5b8efff798038103d269b633813fc60c'];

async function sampledIds(pct: number, seed: number): Promise<string[]> {
  const sink = new Sink('traces');
  const { consume } = await startProcessor(probabilisticSamplerProcessorFactory, { sampling_percentage: pct, hash_seed: seed }, 'traces', sink);
  await consume(traces({ items: IDS.map((traceId) => ({ traceId })) }));
  return sink.received.flatMap((r) => allSpans(r.data).map((s) => s.traceId));
}

test('the hash and the scaled rate match the hand-derived values', () => {
  assert.equal(fnv1a32(0, Buffer.from(IDS[0]!, 'hex')), 0x810d5de4);
  assert.equal(fnv1a32(42, Buffer.from(IDS[4]!, 'hex')), 0xc932f7dd);
  assert.equal(scaledSamplingRate(10), 1638);
  assert.equal(scaledSamplingRate(33.3), 5455);
  assert.equal(scaledSamplingRate(150), 16384);
});

test('same trace ids get the same decisions as the Collector', async () => {
  assert.deepEqual(await sampledIds(50, 0), [IDS[0], IDS[1], IDS[3], IDS[4]]);
  assert.deepEqual(await sampledIds(10, 0), [IDS[1]]);
  assert.deepEqual(await sampledIds(33.3, 0), [IDS[1], IDS[3]]);
  assert.deepEqual(await sampledIds(10, 42), [IDS[2]]);
  assert.deepEqual(await sampledIds(100, 42), IDS);
  assert.deepEqual(await sampledIds(0, 0), []);
});

test('sampling.priority forces the decision either way', async () => {
  const sink = new Sink('traces');
  const { consume } = await startProcessor(probabilisticSamplerProcessorFactory, { sampling_percentage: 10 }, 'traces', sink);
  await consume(traces({ items: [
    { name: 'forced', traceId: IDS[0], attributes: { 'sampling.priority': 1 } },
    { name: 'forced-string', traceId: IDS[2], attributes: { 'sampling.priority': '5' } },
    { name: 'vetoed', traceId: IDS[1], attributes: { 'sampling.priority': 0 } },
  ] }));
  assert.deepEqual(sink.received.flatMap((r) => allSpans(r.data).map((s) => s.name)), ['forced', 'forced-string']);
});

test('logs: trace id source, record attribute source, fail_closed for records without randomness', async () => {
  const sink = new Sink('logs');
  const byTrace = await startProcessor(probabilisticSamplerProcessorFactory, { sampling_percentage: 10 }, 'logs', sink);
  await byTrace.consume(logs({ items: [{ body: 'a', traceId: IDS[1] }, { body: 'b', traceId: IDS[0] }, { body: 'no-trace' }] }));
  assert.deepEqual(sink.received.flatMap((r) => r.data.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords.map((l) => l.body)))), ['a']);

  const open = new Sink('logs');
  const failOpen = await startProcessor(probabilisticSamplerProcessorFactory,
    { sampling_percentage: 1, attribute_source: 'record', from_attribute: 'user.id', fail_closed: false, sampling_priority: 'prio' }, 'logs', open);
  await failOpen.consume(logs({ items: [{ body: 'missing-attr' }, { body: 'prio', attributes: { prio: 1, 'user.id': 'u' } }] }));
  assert.deepEqual(open.received[0]!.data.resourceLogs[0]!.scopeLogs[0]!.logRecords.map((l) => l.body), ['missing-attr', 'prio']);
});

test('validation', () => {
  assert.throws(() => validated(probabilisticSamplerProcessorFactory, { mode: 'proportional' }), /not supported by Sonde; use mode: hash_seed/);
  assert.throws(() => validated(probabilisticSamplerProcessorFactory, { attribute_source: 'record' }), /from_attribute: must name a log record attribute/);
  assert.throws(() => validated(probabilisticSamplerProcessorFactory, { sampling_percentage: -1 }), /sampling_percentage: must be a number >= 0/);
});
