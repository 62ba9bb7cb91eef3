// tail_sampling: the seed config's policies, every policy type, the final-decision rules, late
// spans, decision caches, the num_traces memory bound and self-metrics. decision_wait is 100ms
// here so the suite stays fast.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { StatusCode, type Span } from '../../../src/collector/pdata/model.js';
import { tailSamplingProcessorFactory } from '../../../src/collector/processors/tailsampling/factory.js';
import { compilePolicy, finalDecision, type Decision, type PolicyConfig, type TraceView } from '../../../src/collector/processors/tailsampling/policies.js';
import { waitFor } from '../helpers.js';
import { testHost } from '../prometheus/support.js';
import { allSpans, Sink, span, startProcessor, traces, validated } from './support.js';

const WAIT = 100;
/** Long enough for a decision (wait + one tick) with room for a loaded CI machine. */
const settle = () => sleep(WAIT * 4);

/** How long a decision may take (decisions run on a timer) before waitFor fails. */
const DECIDED_WITHIN_MS = 5000;

/** A trace view for policy unit tests: spans under one resource. */
function view(spans: Array<Partial<Span>>, resource: Record<string, unknown> = {}, traceId = '0af7651916cd43dd8448eb211c80319c'): TraceView {
  const td = traces({ resource: resource as never, items: spans.map((s) => ({ traceId, ...s })) });
  const rs = td.resourceSpans[0]!, ss = rs.scopeSpans[0]!;
  return { traceId, spans: ss.spans.map((s) => ({ span: s, rs, ss })) };
}
const decide = (p: Omit<PolicyConfig, 'name'>, t: TraceView): Decision => compilePolicy({ name: 'p', ...p } as PolicyConfig, 'policies[0]', true).evaluate(t);
const ms = (n: number) => BigInt(n) * 1_000_000n;

test('seed config: errors and slow traces are kept, healthy fast traces sampled at 10% by trace-id hash', async () => {
  const sink = new Sink('traces');
  const { consume, proc } = await startProcessor(tailSamplingProcessorFactory, {
    decision_wait: `${WAIT}ms`,
    policies: [
      { name: 'errors-policy', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
      { name: 'slow-traces-policy', type: 'latency', latency: { threshold_ms: 1000 } },
      { name: 'probabilistic-policy', type: 'probabilistic', probabilistic: { sampling_percentage: 10 } },
    ],
  }, 'traces', sink);
  // Hash decisions (FNV-1a-64 of "default-hash-seed" ‖ id bytes ≤ ⌊(2^64−1)·0.1⌋) derived by hand:
  // 1111… → 0x05f67235ca0d8eed (in), 2222… → 0x251a8f0f320662fd (out).
  const error = '4bf92f3577b34da6a3ce929d0e0e4736', slow = '5b8efff798038103d269b633813fc60c';
  await consume(traces({ items: [
    { traceId: error, name: 'err-root' },
    { traceId: error, name: 'err-child', status: { code: StatusCode.ERROR, message: 'boom' } },
    { traceId: slow, name: 'slow-root', startTimeUnixNano: ms(0), endTimeUnixNano: ms(300) },
    { traceId: '11111111111111111111111111111111', name: 'lucky' },
    { traceId: '22222222222222222222222222222222', name: 'unlucky' },
  ] }));
  // The slow trace's second span arrives later, in another request: the trace spans 0..1200 ms.
  await consume(traces({ items: [{ traceId: slow, name: 'slow-child', startTimeUnixNano: ms(900), endTimeUnixNano: ms(1200) }] }));
  assert.equal(sink.received.length, 0, 'nothing leaves before decision_wait');
  await waitFor('5 sampled spans', () => sink.items >= 5, DECIDED_WITHIN_MS);
  await sleep(WAIT); // nothing else is released
  assert.deepEqual(sink.received.flatMap((r) => allSpans(r.data).map((s) => s.name)).sort(),
    ['err-child', 'err-root', 'lucky', 'slow-child', 'slow-root']);
  await proc.shutdown();
});

test('late spans follow the in-memory decision; the decision caches outlive eviction', async () => {
  const sink = new Sink('traces');
  const { consume, proc } = await startProcessor(tailSamplingProcessorFactory, {
    decision_wait: `${WAIT}ms`, num_traces: 2,
    decision_cache: { sampled_cache_size: 10, non_sampled_cache_size: 10 },
    policies: [{ name: 'keep', type: 'string_attribute', string_attribute: { key: 'keep', values: ['yes'] } }],
  }, 'traces', sink);
  const [kept, dropped] = ['a'.repeat(32), 'b'.repeat(32)];
  await consume(traces({ items: [{ traceId: kept, name: 'k1', attributes: { keep: 'yes' } }, { traceId: dropped, name: 'd1' }] }));
  await waitFor('the first decision', () => sink.received.length === 1, DECIDED_WITHIN_MS);
  assert.deepEqual(allSpans(sink.received[0]!.data).map((s) => s.name), ['k1']);
  // Still in memory: late spans follow at once (sampled → forwarded, not sampled → dropped).
  await consume(traces({ items: [{ traceId: kept, name: 'k2' }, { traceId: dropped, name: 'd2', attributes: { keep: 'yes' } }] }));
  assert.deepEqual(allSpans(sink.received[1]!.data).map((s) => s.name), ['k2']);
  // Two new traces evict both decided ones (num_traces 2); the caches still know them.
  await consume(traces({ items: [{ traceId: 'c'.repeat(32), name: 'c' }, { traceId: 'd'.repeat(32), name: 'd' }] }));
  await consume(traces({ items: [{ traceId: kept, name: 'k3' }, { traceId: dropped, name: 'd3', attributes: { keep: 'yes' } }] }));
  assert.deepEqual(allSpans(sink.received[2]!.data).map((s) => s.name), ['k3']);
  await proc.shutdown();
});

test('without a decision cache, a span of a forgotten trace starts a new buffered trace', async () => {
  const sink = new Sink('traces');
  const { consume, proc } = await startProcessor(tailSamplingProcessorFactory, {
    decision_wait: `${WAIT}ms`, num_traces: 1,
    policies: [{ name: 'keep', type: 'string_attribute', string_attribute: { key: 'keep', values: ['yes'] } }],
  }, 'traces', sink);
  const id = 'e'.repeat(32);
  await consume(traces({ items: [{ traceId: id, name: 'first' }] }));
  await settle(); // decided: not sampled
  await consume(traces({ items: [{ traceId: 'f'.repeat(32), name: 'other' }] })); // evicts the decided trace
  await consume(traces({ items: [{ traceId: id, name: 'late', attributes: { keep: 'yes' } }] })); // buffered again, evicts 'other'
  await waitFor('the late trace\'s decision', () => sink.received.length >= 1, DECIDED_WITHIN_MS);
  assert.deepEqual(sink.received.flatMap((r) => allSpans(r.data).map((s) => s.name)), ['late']);
  await proc.shutdown();
});

test('num_traces bounds memory: the oldest undecided traces are evicted and counted as dropped too early', async () => {
  const reg = new Registry();
  const sink = new Sink('traces');
  const { consume, proc } = await startProcessor(tailSamplingProcessorFactory, {
    decision_wait: `${WAIT}ms`, num_traces: 3, policies: [{ name: 'all', type: 'always_sample' }],
  }, 'traces', sink, testHost(reg));
  for (let i = 0; i < 10; i++) await consume(traces({ items: [{ traceId: i.toString(16).padStart(32, '0'), name: `t${i}` }] }));
  await waitFor('3 sampled spans', () => sink.items >= 3, DECIDED_WITHIN_MS);
  await sleep(WAIT);
  assert.deepEqual(sink.received.flatMap((r) => allSpans(r.data).map((s) => s.name)).sort(), ['t7', 't8', 't9']);
  const text = await reg.metrics();
  assert.match(text, /sonde_processor_tail_sampling_sampling_trace_dropped_too_early_total\{processor="tail_sampling"\} 7/);
  assert.match(text, /sonde_processor_tail_sampling_global_count_traces_sampled_total\{processor="tail_sampling",sampled="true"\} 3/);
  await proc.shutdown();
});

test('shutdown decides pending traces with what arrived (unless drop_pending_traces_on_shutdown)', async () => {
  const sink = new Sink('traces');
  const keep = await startProcessor(tailSamplingProcessorFactory, { decision_wait: '1h', policies: [{ name: 'all', type: 'always_sample' }] }, 'traces', sink);
  await keep.consume(traces({ items: [{ name: 'pending' }] }));
  await keep.proc.shutdown();
  assert.equal(sink.items, 1);
  const drop = await startProcessor(tailSamplingProcessorFactory,
    { decision_wait: '1h', drop_pending_traces_on_shutdown: true, policies: [{ name: 'all', type: 'always_sample' }] }, 'traces', sink);
  await drop.consume(traces({ items: [{ name: 'pending' }] }));
  await drop.proc.shutdown();
  assert.equal(sink.items, 1);
});

test('attribute policies match span or resource attributes; invert_match gives inverted decisions', () => {
  const t = view([{ attributes: { 'http.status_code': 503, 'url.path': '/api/v1/x', cached: true } }], { 'deployment.environment': 'prod' });
  assert.equal(decide({ type: 'numeric_attribute', numeric_attribute: { key: 'http.status_code', min_value: 500, max_value: 599 } }, t), 'sampled');
  assert.equal(decide({ type: 'numeric_attribute', numeric_attribute: { key: 'http.status_code', min_value: 400, max_value: 499 } }, t), 'not_sampled');
  assert.equal(decide({ type: 'numeric_attribute', numeric_attribute: { key: 'http.status_code', min_value: 500, invert_match: true } }, t), 'invert_not_sampled');
  assert.equal(decide({ type: 'string_attribute', string_attribute: { key: 'deployment.environment', values: ['prod'] } }, t), 'sampled');
  assert.equal(decide({ type: 'string_attribute', string_attribute: { key: 'url.path', values: ['^/api/v\\d'], enabled_regex_matching: true } }, t), 'sampled');
  assert.equal(decide({ type: 'string_attribute', string_attribute: { key: 'url.path', values: ['/health'], invert_match: true } }, t), 'invert_sampled');
  assert.equal(decide({ type: 'boolean_attribute', boolean_attribute: { key: 'cached', value: true } }, t), 'sampled');
  assert.equal(decide({ type: 'boolean_attribute', boolean_attribute: { key: 'cached', value: false } }, t), 'not_sampled');
});

test('latency, span_count, status_code, trace_state, ottl_condition', () => {
  const t = view([
    { startTimeUnixNano: ms(0), endTimeUnixNano: ms(100), traceState: 'vendor=a,env=canary' },
    { startTimeUnixNano: ms(400), endTimeUnixNano: ms(600), status: { code: StatusCode.OK, message: '' },
      events: [{ name: 'exception', timeUnixNano: 0n, attributes: {}, droppedAttributesCount: 0 }] },
  ]);
  assert.equal(decide({ type: 'latency', latency: { threshold_ms: 600 } }, t), 'sampled', 'earliest start to latest end');
  assert.equal(decide({ type: 'latency', latency: { threshold_ms: 100, upper_threshold_ms: 500 } }, t), 'not_sampled');
  assert.equal(decide({ type: 'span_count', span_count: { min_spans: 2 } }, t), 'sampled');
  assert.equal(decide({ type: 'span_count', span_count: { min_spans: 3, max_spans: 10 } }, t), 'not_sampled');
  assert.equal(decide({ type: 'status_code', status_code: { status_codes: ['ERROR', 'OK'] } }, t), 'sampled');
  assert.equal(decide({ type: 'status_code', status_code: { status_codes: ['ERROR'] } }, t), 'not_sampled');
  assert.equal(decide({ type: 'trace_state', trace_state: { key: 'env', values: ['canary'] } }, t), 'sampled');
  assert.equal(decide({ type: 'trace_state', trace_state: { key: 'env', values: ['prod'] } }, t), 'not_sampled');
  assert.equal(decide({ type: 'ottl_condition', ottl_condition: { spanevent: ['name == "exception"'] } }, t), 'sampled');
  assert.equal(decide({ type: 'ottl_condition', ottl_condition: { span: ['end_time_unix_nano - start_time_unix_nano > 1000000000'] } }, t), 'not_sampled');
  assert.equal(decide({ type: 'ottl_condition', ottl_condition: { error_mode: 'ignore', span: ['name + 1 == 2', 'true'] } }, t), 'sampled');
});

test('and, drop and the final decision rules', () => {
  const t = view([{ attributes: { 'url.path': '/health', tier: 'gold' } }]);
  const isHealth = { name: 'h', type: 'string_attribute', string_attribute: { key: 'url.path', values: ['/health'] } };
  const isGold = { name: 'g', type: 'string_attribute', string_attribute: { key: 'tier', values: ['gold'] } };
  assert.equal(decide({ type: 'and', and: { and_sub_policy: [isHealth, isGold] } }, t), 'sampled');
  assert.equal(decide({ type: 'and', and: { and_sub_policy: [isHealth, { ...isGold, string_attribute: { key: 'tier', values: ['silver'] } }] } }, t), 'not_sampled');
  assert.equal(decide({ type: 'drop', drop: { drop_sub_policy: [isHealth] } }, t), 'dropped');
  assert.equal(finalDecision(['sampled', 'dropped']), false, 'any drop wins');
  assert.equal(finalDecision(['sampled', 'invert_not_sampled']), false);
  assert.equal(finalDecision(['sampled', 'not_sampled']), true);
  assert.equal(finalDecision(['invert_sampled']), true);
  assert.equal(finalDecision(['invert_sampled', 'not_sampled']), false);
  assert.equal(finalDecision(['not_sampled']), false);
  assert.throws(() => decide({ type: 'and', and: { and_sub_policy: [{ name: 'x', type: 'and', and: {} }] } }, t), /and_sub_policy\[0\]\.type: must be one of always_sample/);
});

test('rate_limiting and composite budgets per second', async () => {
  // Budgets are per wall-clock second; run the sequence early in a fresh second.
  if (Date.now() % 1000 > 600) await sleep(1005 - (Date.now() % 1000));
  const two = view([{}, {}]);
  const limiter = compilePolicy({ name: 'r', type: 'rate_limiting', rate_limiting: { spans_per_second: 5 } }, 'p', true);
  assert.deepEqual([limiter.evaluate(two), limiter.evaluate(two), limiter.evaluate(two)], ['sampled', 'sampled', 'not_sampled']);
  const composite = compilePolicy({
    name: 'c', type: 'composite', composite: {
      max_total_spans_per_second: 6,
      policy_order: ['gold', 'rest'],
      composite_sub_policy: [
        { name: 'gold', type: 'string_attribute', string_attribute: { key: 'tier', values: ['gold'] } },
        { name: 'rest', type: 'always_sample' },
      ],
      rate_allocation: [{ policy: 'gold', percent: 50 }],
    },
  }, 'p', true);
  const gold = (n: number) => view(Array.from({ length: n }, () => ({ attributes: { tier: 'gold' } })));
  const got = [composite.evaluate(gold(2)), composite.evaluate(two), composite.evaluate(gold(1)), composite.evaluate(two), composite.evaluate(gold(1))];
  // gold has 50% of 6 = 3 spans/s, the unlisted always_sample the unallocated 3 spans/s.
  assert.deepEqual(got, ['sampled', 'sampled', 'sampled', 'not_sampled', 'sampled']);
});

test('validation names the policy and the fix', () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ policies: [] }, /policies: at least one policy is required/],
    [{ policies: [{ name: 'x', type: 'magic' }] }, /policies\[0\]\.type: must be one of always_sample/],
    [{ policies: [{ name: 'x', type: 'status_code', status_code: { status_codes: ['FAILED'] } }] }, /status_codes\[0\]: must be one of OK, ERROR, UNSET/],
    [{ policies: [{ name: 'x', type: 'latency', latency: { threshold_ms: 10, upper_threshold_ms: 5 } }] }, /upper_threshold_ms \(5\) must be >= threshold_ms/],
    [{ policies: [{ name: 'x', type: 'ottl_condition', ottl_condition: { span: ['name =='] } }] }, /ottl_condition\.span\[0\]: expected a value.*column 8/],
    [{ policies: [{ name: 'x', type: 'always_sample' }, { name: 'x', type: 'always_sample' }] }, /duplicate policy name "x"/],
    [{ decision_wait: '0s', policies: [{ name: 'x', type: 'always_sample' }] }, /decision_wait: must be greater than zero/],
    [{ policies: [{ name: 'x', type: 'latency', latency: { treshold_ms: 5 } }] }, /'policies\[0\]\.latency' has invalid keys: treshold_ms/],
  ];
  for (const [cfg, re] of bad) assert.throws(() => validated(tailSamplingProcessorFactory, cfg), re);
  assert.equal(span().traceId.length, 32);
});
