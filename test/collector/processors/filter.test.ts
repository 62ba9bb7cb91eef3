// filter processor: the seed config's example, every context, flat conditions, empty containers
// removed, error_mode.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { ConsumerError } from '../../../src/collector/consumer.js';
import { filterProcessorFactory } from '../../../src/collector/processors/filter/factory.js';
import { testHost } from '../prometheus/support.js';
import { gauge, logs, metrics, Sink, spanNames, startProcessor, traces, validated } from './support.js';

test('seed config: traces.span drops health checks and keeps everything else', async () => {
  const sink = new Sink('traces');
  const reg = new Registry();
  const { consume } = await startProcessor(filterProcessorFactory, { traces: { span: ['attributes["http.target"] == "/health"'], spanevent: [] } }, 'traces', sink, testHost(reg));
  const input = traces({
    items: [
      { name: 'health', attributes: { 'http.target': '/health' } },
      { name: 'checkout', attributes: { 'http.target': '/api/checkout' } },
      { name: 'no-target' },
    ],
  });
  await consume(input);
  assert.deepEqual(sink.received.map((r) => spanNames(r.data)), [['checkout', 'no-target']]);
  assert.equal(input.resourceSpans[0]!.scopeSpans[0]!.spans.length, 3, 'the input is not mutated');
  assert.match(await reg.metrics(), /sonde_processor_dropped_spans_total\{processor="filter"\} 1/);
});

test('a request whose every span is dropped goes nowhere; empty resources and scopes disappear', async () => {
  const sink = new Sink('traces');
  const { consume } = await startProcessor(filterProcessorFactory, { traces: { span: ['name == "drop-me"'], spanevent: [] } }, 'traces', sink);
  await consume(traces({ items: [{ name: 'drop-me' }] }, { items: [{ name: 'drop-me' }] }));
  assert.equal(sink.received.length, 0);
  await consume(traces({ resource: { 'service.name': 'a' }, items: [{ name: 'drop-me' }] }, { resource: { 'service.name': 'b' }, items: [{ name: 'keep' }] }));
  assert.equal(sink.received.length, 1);
  const out = sink.received[0]!.data;
  assert.equal(out.resourceSpans.length, 1);
  assert.equal(out.resourceSpans[0]!.resource.attributes['service.name'], 'b');
});

test('span events are filtered without dropping their span', async () => {
  const sink = new Sink('traces');
  const { consume } = await startProcessor(filterProcessorFactory, { traces: { span: [], spanevent: ['name == "debug"'] } }, 'traces', sink);
  const ev = (name: string) => ({ name, timeUnixNano: 0n, attributes: {}, droppedAttributesCount: 0 });
  await consume(traces({ items: [{ name: 's', events: [ev('debug'), ev('exception')] }] }));
  assert.deepEqual(sink.received[0]!.data.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.events.map((e) => e.name), ['exception']);
});

test('flat trace_conditions with prefixes, including resource-level conditions', async () => {
  const sink = new Sink('traces');
  const { consume } = await startProcessor(filterProcessorFactory, {
    trace_conditions: ['resource.attributes["service.name"] == "noisy"', 'span.kind == SPAN_KIND_INTERNAL and span.end_time_unix_nano - span.start_time_unix_nano < 1000000'],
  }, 'traces', sink);
  await consume(traces(
    { resource: { 'service.name': 'noisy' }, items: [{ name: 'n1' }, { name: 'n2' }] },
    { items: [{ name: 'fast-internal', kind: 1, startTimeUnixNano: 0n, endTimeUnixNano: 500n }, { name: 'slow-internal', kind: 1, startTimeUnixNano: 0n, endTimeUnixNano: 5_000_000n }, { name: 'server' }] },
  ));
  assert.deepEqual(spanNames(sink.received[0]!.data), ['slow-internal', 'server']);
});

test('metrics: metric conditions drop metrics; dropping every data point drops the metric', async () => {
  const sink = new Sink('metrics');
  const { consume } = await startProcessor(filterProcessorFactory, {
    metrics: { metric: ['name == "debug.metric"'], datapoint: ['attributes["env"] == "test"'] },
  }, 'metrics', sink);
  await consume(metrics({
    items: [
      gauge('debug.metric', [{ value: 1 }]),
      gauge('requests', [{ value: 1, attributes: { env: 'test' } }, { value: 2, attributes: { env: 'prod' } }]),
      gauge('only.test', [{ value: 3, attributes: { env: 'test' } }]),
    ],
  }));
  const out = sink.received[0]!.data.resourceMetrics[0]!.scopeMetrics[0]!.metrics;
  assert.deepEqual(out.map((m) => m.name), ['requests']);
  assert.deepEqual(out[0]!.data.dataPoints.map((dp) => dp.attributes.env), ['prod']);
});

test('flat metric_conditions run per data point when they mention datapoint.*', async () => {
  const sink = new Sink('metrics');
  const { consume } = await startProcessor(filterProcessorFactory, {
    metric_conditions: ['metric.name == "requests" and datapoint.value_int > 1'],
  }, 'metrics', sink);
  await consume(metrics({ items: [gauge('requests', [{ value: 1 }, { value: 2 }]), gauge('other', [{ value: 5 }])] }));
  const out = sink.received[0]!.data.resourceMetrics[0]!.scopeMetrics[0]!.metrics;
  assert.deepEqual(out.map((m) => [m.name, m.data.dataPoints.length]), [['requests', 1], ['other', 1]]);
});

test('logs: log_record conditions on severity and body', async () => {
  const sink = new Sink('logs');
  const { consume } = await startProcessor(filterProcessorFactory, {
    logs: { log_record: ['severity_number < SEVERITY_NUMBER_WARN', 'IsMatch(body, "password")'] },
  }, 'logs', sink);
  await consume(logs({ items: [{ body: 'info', severityNumber: 9 }, { body: 'warn', severityNumber: 13 }, { body: 'password=1', severityNumber: 17 }] }));
  assert.deepEqual(sink.received[0]!.data.resourceLogs[0]!.scopeLogs[0]!.logRecords.map((l) => l.body), ['warn']);
});

test('error_mode: propagate rejects the request, ignore skips the failing condition', async () => {
  const failing = { traces: { span: ['attributes["n"] + 1 > 2', 'name == "drop"'], spanevent: [] } };
  const sink = new Sink('traces');
  const strict = await startProcessor(filterProcessorFactory, failing, 'traces', sink);
  await assert.rejects(strict.consume(traces({ items: [{ name: 'x', attributes: { n: 'text' } }] })),
    (err: unknown) => err instanceof ConsumerError && err.kind === 'permanent' && /cannot apply "\+"/.test(err.message));
  assert.equal(sink.received.length, 0);
  const lenient = await startProcessor(filterProcessorFactory, { ...failing, error_mode: 'ignore' }, 'traces', sink);
  await lenient.consume(traces({ items: [{ name: 'x', attributes: { n: 'text' } }, { name: 'drop' }] }));
  assert.deepEqual(spanNames(sink.received[0]!.data), ['x']);
});

test('validate reports the option, index and column of a bad condition', () => {
  assert.throws(() => validated(filterProcessorFactory, { traces: { span: ['name == "a"', 'name == '], spanevent: [] } }),
    /traces\.span\[1\]: expected a value, a path or "\(", found end of condition at column 9/);
  assert.throws(() => validated(filterProcessorFactory, { error_mode: 'loud' }), /error_mode: must be one of propagate, ignore, silent/);
  assert.throws(() => validated(filterProcessorFactory, { log_conditions: ['span.name == "x"'] }), /log_conditions\[0\]: the span context cannot be used/);
});
