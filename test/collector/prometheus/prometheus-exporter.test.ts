// The prometheus exporter against a real scrape: pdata metrics of every type go in through the
// factory's consumer, a real HTTP GET on 127.0.0.1 reads them back, a strict parser checks the
// exposition, and the assertions check the Collector's translation rules.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Counter, Registry } from 'prom-client';
import type { ConsumerComponent } from '../../../src/collector/component.js';
import { prometheusExporterFactory } from '../../../src/collector/exporters/prometheus/index.js';
import { prometheusLabelName, prometheusMetricName } from '../../../src/collector/exporters/prometheus/naming.js';
import {
  AggregationTemporality, type Attributes, type Exemplar, type Metric, type MetricData, type Metrics,
} from '../../../src/collector/pdata/model.js';
import { findSamples, parseExposition } from './exposition-parser.js';
import { scrape, testHost, testSettings } from './support.js';

const T0 = 1_700_000_000_000_000_000n;
const resource = { 'service.name': 'checkout', 'service.namespace': 'shop', 'service.instance.id': 'i-1', 'host.name': 'node-a' };

const metric = (name: string, unit: string, data: MetricData, description = ''): Metric => ({ name, unit, description, metadata: {}, data });
const num = (value: number, attributes: Attributes = {}, exemplars: Exemplar[] = []) => ({
  attributes, startTimeUnixNano: T0, timeUnixNano: T0 + 1_000_000_000n, flags: 0, value, valueType: 'double' as const, exemplars,
});
function batch(metrics: Metric[], res: Attributes = resource): Metrics {
  return {
    resourceMetrics: [{
      resource: { attributes: res, droppedAttributesCount: 0 },
      schemaUrl: '',
      scopeMetrics: [{ scope: { name: 'test-scope', version: '1.0', attributes: {}, droppedAttributesCount: 0 }, schemaUrl: '', metrics }],
    }],
  };
}

const durationBounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const exemplar: Exemplar = {
  filteredAttributes: {}, timeUnixNano: T0 + 500_000_000n, value: 0.007, valueType: 'double',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7',
};
const requestDuration = metric('http.server.request.duration', 's', {
  type: 'histogram',
  aggregationTemporality: AggregationTemporality.CUMULATIVE,
  dataPoints: [{
    attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, 'http.route': '/cart' },
    startTimeUnixNano: T0, timeUnixNano: T0 + 1_000_000_000n, flags: 0,
    count: 6, sum: 1.234, bucketCounts: [1, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2], explicitBounds: durationBounds,
    exemplars: [exemplar],
  }],
}, 'Duration of HTTP server requests.');

function everyType(): Metric[] {
  return [
    requestDuration,
    metric('http.server.requests', '{request}', { type: 'sum', isMonotonic: true, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints: [num(42, { '1st.attr': 'a', _private: 'b', __meta: 'c' }, [exemplar])] }),
    metric('requests.total', '', { type: 'sum', isMonotonic: true, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints: [num(5)] }),
    metric('process.memory.usage', 'By', { type: 'sum', isMonotonic: false, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints: [num(1048576)] }),
    metric('system.cpu.utilization', '1', { type: 'gauge', dataPoints: [num(0.25, { 'cpu': 'cpu0' })] }),
    metric('net.rate', 'KiBy/s', { type: 'gauge', dataPoints: [num(12.5)] }),
    metric('queue.size', '{item}', { type: 'gauge', dataPoints: [num(-3, { label: 'quote " back\\slash\nnewline' })] }),
    metric('rpc.latency', 'ms', {
      type: 'summary',
      dataPoints: [{ attributes: {}, startTimeUnixNano: T0, timeUnixNano: T0 + 1_000_000_000n, flags: 0, count: 10, sum: 55, quantileValues: [{ quantile: 0.5, value: 4 }, { quantile: 0.99, value: 9.5 }] }],
    }),
    metric('exp.latency', 's', {
      type: 'exponentialHistogram',
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPoints: [{
        attributes: {}, startTimeUnixNano: T0, timeUnixNano: T0 + 1_000_000_000n, flags: 0, count: 6, sum: 9, scale: 0,
        zeroCount: 1, zeroThreshold: 0, positive: { offset: 0, bucketCounts: [2, 3] }, negative: { offset: 0, bucketCounts: [] }, exemplars: [],
      }],
    }),
  ];
}

const deltaSum = (name: string, value: number, isMonotonic: boolean, t: bigint) => metric(name, '{event}', {
  type: 'sum', isMonotonic, aggregationTemporality: AggregationTemporality.DELTA,
  dataPoints: [{ ...num(value), startTimeUnixNano: t, timeUnixNano: t + 1_000_000_000n }],
});

/**
 * A parser Sonde did not write (npm parse-prometheus-text-format) must read the same families,
 * types, and counter/gauge values and labels. (It loses the labels of labelled histograms and
 * summaries, so those are left to the strict parser.)
 */
function crossCheckWithThirdPartyParser(body: string, fams: ReturnType<typeof parseExposition>): void {
  const theirs = parsePrometheusTextFormat(body);
  assert.deepEqual(theirs.map((f) => f.name).sort(), [...fams.keys()].sort());
  for (const f of theirs) {
    const mine = fams.get(f.name)!;
    assert.equal(f.type.toLowerCase(), mine.type, f.name);
    if (mine.type !== 'counter' && mine.type !== 'gauge') continue;
    assert.deepEqual(
      f.metrics.map((m) => [m.labels ?? {}, Number(m.value)]),
      mine.samples.map((x) => [x.labels, x.value]),
      f.name,
    );
  }
}

const open: ConsumerComponent<'metrics'>[] = [];
async function startExporter(overrides: Record<string, unknown> = {}, selfMetrics = new Registry()) {
  const cfg = { ...prometheusExporterFactory.createDefaultConfig(), endpoint: '127.0.0.1:0', ...overrides };
  prometheusExporterFactory.validate!(cfg);
  const host = testHost(selfMetrics);
  const exp = prometheusExporterFactory.createExporter(testSettings('exporter', 'prometheus', host), cfg, 'metrics');
  await exp.start(host);
  open.push(exp);
  const port = (exp as unknown as { address(): { port: number } }).address().port;
  return { exp, port, selfMetrics };
}
after(async () => { await Promise.all(open.map((e) => e.shutdown())); });

describe('prometheus exporter', () => {
  it('defaults follow the Collector, with a loopback endpoint', () => {
    assert.deepEqual(prometheusExporterFactory.createDefaultConfig(), {
      endpoint: '127.0.0.1:9464', namespace: '', const_labels: {}, send_timestamps: false, metric_expiration: '5m',
      resource_to_telemetry_conversion: { enabled: false }, enable_open_metrics: false, add_metric_suffixes: true,
      include_self_metrics: true,
    });
  });

  it('translates every metric type and serves it with job, instance, target_info and self-metrics', async () => {
    const self = new Registry();
    new Counter({ name: 'sonde_test_events_total', help: 'test self metric', registers: [self] }).inc(3);
    const { exp, port } = await startExporter({}, self);
    await exp.consumeMetrics(batch(everyType()));
    await exp.consumeMetrics(batch([deltaSum('jobs.done', 3, true, T0), deltaSum('updown.delta', 1, false, T0)]));
    await exp.consumeMetrics(batch([deltaSum('jobs.done', 4, true, T0 + 1_000_000_000n)]));

    const res = await scrape(port);
    assert.equal(res.status, 200);
    assert.equal(res.contentType, Registry.PROMETHEUS_CONTENT_TYPE);
    const fams = parseExposition(res.body);
    crossCheckWithThirdPartyParser(res.body, fams);
    const id = { job: 'shop/checkout', instance: 'i-1' };

    // The semconv duration histogram: seconds suffix, cumulative buckets, +Inf, _sum, _count.
    const hist = fams.get('http_server_request_duration_seconds')!;
    assert.equal(hist.type, 'histogram');
    assert.equal(hist.help, 'Duration of HTTP server requests.');
    const sel = { ...id, http_request_method: 'GET', http_response_status_code: '200', http_route: '/cart', otel_scope_name: 'test-scope', otel_scope_version: '1.0' };
    const bucket = (le: string) => findSamples(fams, 'http_server_request_duration_seconds_bucket', { ...sel, le });
    assert.equal(bucket('0.005')[0]!.value, 1);
    assert.equal(bucket('0.01')[0]!.value, 3);
    assert.equal(bucket('0.5')[0]!.value, 4);
    assert.equal(bucket('10')[0]!.value, 4);
    assert.equal(bucket('+Inf')[0]!.value, 6);
    assert.equal(findSamples(fams, 'http_server_request_duration_seconds_count', sel)[0]!.value, 6);
    assert.equal(findSamples(fams, 'http_server_request_duration_seconds_sum', sel)[0]!.value, 1.234);

    // Monotonic sums: `_total` once; `{…}` units dropped; label sanitisation.
    assert.equal(fams.get('http_server_requests_total')!.type, 'counter');
    const counter = findSamples(fams, 'http_server_requests_total', id)[0]!;
    assert.equal(counter.value, 42);
    assert.deepEqual([counter.labels.key_1st_attr, counter.labels.key_private, counter.labels.__meta], ['a', 'b', 'c']);
    assert.equal(findSamples(fams, 'requests_total', id)[0]!.value, 5);
    // Non-monotonic sum → gauge with unit word; gauge with unit 1 → _ratio; X/Y → X_per_Y.
    assert.equal(fams.get('process_memory_usage_bytes')!.type, 'gauge');
    assert.equal(findSamples(fams, 'process_memory_usage_bytes', id)[0]!.value, 1048576);
    assert.equal(findSamples(fams, 'system_cpu_utilization_ratio', { ...id, cpu: 'cpu0' })[0]!.value, 0.25);
    assert.equal(findSamples(fams, 'net_rate_kibibytes_per_second', id)[0]!.value, 12.5);
    assert.equal(findSamples(fams, 'queue_size', id)[0]!.labels.label, 'quote " back\\slash\nnewline');
    assert.equal(findSamples(fams, 'queue_size', id)[0]!.value, -3);
    // Summary with quantiles.
    assert.equal(fams.get('rpc_latency_milliseconds')!.type, 'summary');
    assert.equal(findSamples(fams, 'rpc_latency_milliseconds', { quantile: '0.99' })[0]!.value, 9.5);
    assert.equal(findSamples(fams, 'rpc_latency_milliseconds_count')[0]!.value, 10);
    // Exponential histogram (scale 0: buckets (1,2], (2,4]) → classic buckets.
    assert.deepEqual(findSamples(fams, 'exp_latency_seconds_bucket').map((s) => [s.labels.le, s.value]), [['0', 1], ['2', 3], ['4', 6], ['+Inf', 6]]);
    // DELTA monotonic sums accumulate into a cumulative counter; DELTA up-down sums are dropped and counted.
    assert.equal(findSamples(fams, 'jobs_done_total', id)[0]!.value, 7);
    assert.equal(findSamples(fams, 'updown_delta').length, 0);
    assert.equal(findSamples(fams, 'sonde_exporter_prometheus_dropped_points_total', { reason: 'delta_non_monotonic_sum' })[0]!.value, 1);
    // Resource attributes other than service.* go on target_info only.
    assert.deepEqual(findSamples(fams, 'target_info'), [{ name: 'target_info', labels: { ...id, host_name: 'node-a' }, value: 1 }]);
    assert.equal(counter.labels.host_name, undefined);
    // Self metrics on the same endpoint; no timestamps by default.
    assert.equal(findSamples(fams, 'sonde_test_events_total')[0]!.value, 3);
    assert.ok(findSamples(fams, 'http_server_requests_total').every((s) => s.timestamp === undefined));
  });

  it('applies namespace, const_labels, resource_to_telemetry_conversion, send_timestamps and add_metric_suffixes', async () => {
    const { exp, port } = await startExporter({
      namespace: 'sonde', const_labels: { env: 'test' }, resource_to_telemetry_conversion: { enabled: true },
      send_timestamps: true, add_metric_suffixes: false, include_self_metrics: false,
    });
    await exp.consumeMetrics(batch([requestDuration, ...everyType().slice(1, 2)], { 'service.name': 'cart', 'k8s.pod.name': 'cart-0' }));
    const fams = parseExposition((await scrape(port)).body);
    const sel = { job: 'cart', env: 'test', k8s_pod_name: 'cart-0', service_name: 'cart', le: '+Inf' };
    const b = findSamples(fams, 'sonde_http_server_request_duration_bucket', sel);
    assert.equal(b.length, 1, `series with ${JSON.stringify(sel)} in:\n${[...fams.keys()].join('\n')}`);
    assert.equal(b[0]!.timestamp, Number((T0 + 1_000_000_000n) / 1_000_000n));
    assert.equal(b[0]!.labels.instance, undefined, 'no service.instance.id → no instance label');
    assert.equal(findSamples(fams, 'sonde_http_server_requests', { env: 'test' })[0]!.value, 42);
    assert.equal(findSamples(fams, 'target_info', { job: 'cart', k8s_pod_name: 'cart-0', env: 'test' }).length, 1);
    assert.ok(![...fams.keys()].some((k) => k.startsWith('sonde_exporter')), 'include_self_metrics: false hides self metrics');
  });

  it('drops series not updated within metric_expiration', async () => {
    const { exp, port } = await startExporter({ metric_expiration: '300ms' });
    await exp.consumeMetrics(batch([requestDuration]));
    await sleep(150);
    await exp.consumeMetrics(batch([metric('fresh.gauge', '', { type: 'gauge', dataPoints: [num(1)] })], { 'service.name': 'other', 'host.name': 'b' }));
    let fams = parseExposition((await scrape(port)).body);
    assert.equal(findSamples(fams, 'http_server_request_duration_seconds_count').length, 1);
    await sleep(200); // the histogram is now 350 ms old, the gauge 200 ms
    fams = parseExposition((await scrape(port)).body);
    assert.equal(findSamples(fams, 'http_server_request_duration_seconds_count').length, 0);
    assert.equal(findSamples(fams, 'target_info', { job: 'shop/checkout' }).length, 0);
    assert.equal(findSamples(fams, 'fresh_gauge').length, 1);
    assert.equal(findSamples(fams, 'target_info', { job: 'other' }).length, 1);
  });

  it('serves OpenMetrics with exemplars only when enabled and asked for', async () => {
    const om = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';
    const off = await startExporter();
    await off.exp.consumeMetrics(batch(everyType()));
    const plain = await scrape(off.port, om);
    assert.equal(plain.contentType, Registry.PROMETHEUS_CONTENT_TYPE);
    assert.doesNotMatch(plain.body, /trace_id/);

    const on = await startExporter({ enable_open_metrics: true });
    await on.exp.consumeMetrics(batch(everyType()));
    const res = await scrape(on.port, om);
    assert.equal(res.contentType, Registry.OPENMETRICS_CONTENT_TYPE);
    const fams = parseExposition(res.body, 'openmetrics');
    assert.equal(fams.get('http_server_requests')!.type, 'counter');
    const counter = findSamples(fams, 'http_server_requests_total')[0]!;
    assert.deepEqual(counter.exemplar, { labels: { trace_id: exemplar.traceId, span_id: exemplar.spanId }, value: 0.007, timestamp: 1_700_000_000.5 });
    const withExemplar = findSamples(fams, 'http_server_request_duration_seconds_bucket').filter((s) => s.exemplar);
    assert.deepEqual(withExemplar.map((s) => s.labels.le), ['0.01'], 'the 0.007 exemplar sits on the first bucket that holds it');
    assert.equal(findSamples(fams, 'sonde_exporter_prometheus_dropped_points_total').length, 0, 'nothing dropped yet');
    // Plain scrapers still get the text format from the same exporter.
    parseExposition((await scrape(on.port)).body);
  });

  it('shows a family once when a pipeline metric and a self metric share its name', async () => {
    const self = new Registry();
    new Counter({ name: 'sonde_spans_total', help: 'self', registers: [self] }).inc(2);
    const { exp, port } = await startExporter({}, self);
    await exp.consumeMetrics(batch([metric('sonde.spans', '', { type: 'sum', isMonotonic: true, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPoints: [num(9)] })]));
    const fams = parseExposition((await scrape(port)).body); // throws on a second TYPE line
    assert.deepEqual(findSamples(fams, 'sonde_spans_total').map((s) => s.value), [9]);
  });

  it('answers 404 off /metrics, and fails to start on a busy port with a clear error', async () => {
    const { port } = await startExporter();
    assert.equal((await scrape(port, undefined, '/')).status, 404);
    const cfg = { ...prometheusExporterFactory.createDefaultConfig(), endpoint: `127.0.0.1:${port}` };
    const host = testHost();
    const second = prometheusExporterFactory.createExporter(testSettings('exporter', 'prometheus', host), cfg, 'metrics');
    await assert.rejects(second.start(host), /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });

  it('rejects bad options with the option name', () => {
    const base = prometheusExporterFactory.createDefaultConfig();
    assert.throws(() => prometheusExporterFactory.validate!({ ...base, endpoint: 'nowhere' }), /endpoint: invalid endpoint "nowhere"/);
    assert.throws(() => prometheusExporterFactory.validate!({ ...base, metric_expiration: '5 minutes' }), /metric_expiration: invalid duration/);
    assert.throws(() => prometheusExporterFactory.validate!({ ...base, const_labels: { 'bad-label': 'x' } }), /const_labels: "bad-label"/);
    assert.throws(() => prometheusExporterFactory.createExporter(testSettings('exporter', 'prometheus'), base, 'traces'), /metrics only/);
  });
});

describe('prometheus name translation', () => {
  const name = (n: string, unit: string, type: MetricData['type'], isMonotonic?: boolean, ns = '', suffixes = true) =>
    prometheusMetricName({ name: n, unit, data: { type, isMonotonic } }, ns, suffixes);
  it('follows the Collector normalisation table', () => {
    assert.equal(name('http.server.request.duration', 's', 'histogram'), 'http_server_request_duration_seconds');
    assert.equal(name('system.disk.io', 'By', 'sum', true), 'system_disk_io_bytes_total');
    assert.equal(name('system.memory.utilization', '1', 'gauge'), 'system_memory_utilization_ratio');
    assert.equal(name('system.memory.utilization', '1', 'sum', false), 'system_memory_utilization');
    assert.equal(name('system.cpu.load_average.1m', '{thread}', 'gauge'), 'system_cpu_load_average_1m');
    assert.equal(name('throughput', 'By/s', 'gauge'), 'throughput_bytes_per_second');
    assert.equal(name('latency.seconds', 's', 'gauge'), 'latency_seconds', 'unit already in the name');
    assert.equal(name('calls.total', '1', 'sum', true), 'calls_total');
    assert.equal(name('temp', 'Cel', 'gauge'), 'temp_celsius');
    assert.equal(name('mem', 'MiBy', 'gauge'), 'mem_mebibytes');
    assert.equal(name('odd', 'furlong/fortnight', 'gauge'), 'odd_furlong_per_fortnight');
    assert.equal(name('2xx.count', '', 'gauge'), '_2xx_count');
    assert.equal(name('calls', 'ms', 'sum', true, 'traces'), 'traces_calls_milliseconds_total');
    assert.equal(name('http.server.request.duration', 's', 'histogram', undefined, '', false), 'http_server_request_duration');
    assert.equal(name('a:b.c', 's', 'gauge', undefined, '', false), 'a:b_c');
  });
  it('sanitises label names', () => {
    assert.equal(prometheusLabelName('http.request.method'), 'http_request_method');
    assert.equal(prometheusLabelName('0zero'), 'key_0zero');
    assert.equal(prometheusLabelName('_x'), 'key_x');
    assert.equal(prometheusLabelName('__x'), '__x');
  });
});
