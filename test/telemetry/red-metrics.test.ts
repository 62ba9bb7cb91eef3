import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MeterProvider, MetricReader, DataPointType, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { AggregationTemporality, type HistogramDataPoint, type Metrics } from '../../src/collector/pdata/model.js';
import type { Exchange, ExchangeOrigin } from '../../src/protocols/exchange.js';
import { describeGrpc, describeHttp } from '../../src/telemetry/exchange-facts.js';
import { DEFAULT_DURATION_BUCKETS_SECONDS, DEFAULT_RED_METRICS_OPTIONS, RedMetrics, type MetricResource } from '../../src/telemetry/red-metrics.js';
import { clientOrigin, grpcExchange, httpExchange, serverOrigin } from './exchanges.js';

const resource = (name: string): MetricResource => ({ key: name, resource: { attributes: { 'service.name': name }, droppedAttributesCount: 0 } });
const SVC = resource('checkout');

function recordHttp(m: RedMetrics, ex: Exchange, origin: ExchangeOrigin, route: string | undefined, res = SVC) {
  m.recordHttp(res, ex, origin, describeHttp(ex, origin), route);
}

function points(md: Metrics, name: string): HistogramDataPoint[] {
  const out: HistogramDataPoint[] = [];
  for (const rm of md.resourceMetrics) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) {
    if (m.name === name && m.data.type === 'histogram') out.push(...m.data.dataPoints);
  }
  return out;
}

class CollectingReader extends MetricReader {
  protected override async onForceFlush() {}
  protected override async onShutdown() {}
}

describe('RedMetrics HTTP', () => {
  it('three 30 ms requests: count 3, sum 0.09 s, all in the 0.05 bucket, with semconv attributes', () => {
    const start = 1_700_000_000_000_000_000n;
    const m = new RedMetrics(start);
    for (let i = 0; i < 3; i++) recordHttp(m, httpExchange({ target: `/basic/${i}?delay=30ms`, status: 404, durationMs: 30, requestBody: 10, responseBody: 100 }), serverOrigin(), '/basic/*');
    const md = m.collect(start + 5_000_000_000n);
    assert.equal(md.resourceMetrics.length, 1);
    assert.deepEqual(md.resourceMetrics[0]!.resource.attributes, { 'service.name': 'checkout' });
    assert.equal(md.resourceMetrics[0]!.scopeMetrics[0]!.scope.name, 'sonde');
    const metric = md.resourceMetrics[0]!.scopeMetrics[0]!.metrics.find((x) => x.name === 'http.server.request.duration')!;
    assert.equal(metric.unit, 's');
    assert.equal(metric.data.type === 'histogram' && metric.data.aggregationTemporality, AggregationTemporality.CUMULATIVE);
    const [p] = points(md, 'http.server.request.duration');
    assert.equal(p!.count, 3);
    assert.ok(Math.abs(p!.sum! - 0.09) < 1e-9, `sum ${p!.sum}`);
    assert.deepEqual(p!.explicitBounds, [...DEFAULT_DURATION_BUCKETS_SECONDS]);
    const expected = new Array(15).fill(0);
    expected[3] = 3; // (0.025, 0.05]
    assert.deepEqual(p!.bucketCounts, expected);
    assert.equal(p!.startTimeUnixNano, start);
    assert.equal(p!.timeUnixNano, start + 5_000_000_000n);
    assert.deepEqual(p!.attributes, {
      'http.request.method': 'GET', 'http.response.status_code': 404, 'http.route': '/basic/*',
      'url.scheme': 'http', 'network.protocol.version': '1.1', 'server.port': 8080,
    });
    assert.equal(points(md, 'http.server.request.body.size')[0]!.sum, 30);
    assert.equal(points(md, 'http.server.response.body.size')[0]!.sum, 300);
    assert.equal(points(md, 'http.client.request.duration').length, 0);
  });

  it('client series carry server.address and error.type; 5xx and 2xx are separate series', () => {
    const m = new RedMetrics(0n);
    recordHttp(m, httpExchange({ status: 503, headers: [['host', 'inventory:8081']] }), clientOrigin(), '/x');
    recordHttp(m, httpExchange({ status: 200, headers: [['host', 'inventory:8081']] }), clientOrigin(), '/x');
    recordHttp(m, httpExchange({ noResponse: true, error: 'reset', headers: [['host', 'inventory:8081']] }), clientOrigin(), '/x');
    const ps = points(m.collect(1n), 'http.client.request.duration');
    assert.equal(ps.length, 3);
    const failed = ps.find((p) => p.attributes['http.response.status_code'] === 503)!;
    assert.equal(failed.attributes['error.type'], '503');
    assert.equal(failed.attributes['server.address'], 'inventory');
    assert.equal(failed.attributes['server.port'], 8081);
    assert.equal(ps.find((p) => p.attributes['error.type'] === 'reset')!.attributes['http.response.status_code'], undefined);
    assert.equal(points(m.collect(1n), 'http.client.response.body.size').reduce((n, p) => n + p.count, 0), 2, 'no response, no response size');
  });

  it('is cumulative and collect() returns copies', () => {
    const m = new RedMetrics(0n);
    recordHttp(m, httpExchange(), serverOrigin(), '/a');
    const first = points(m.collect(1n), 'http.server.request.duration')[0]!;
    recordHttp(m, httpExchange(), serverOrigin(), '/a');
    assert.equal(first.count, 1);
    assert.equal(points(m.collect(2n), 'http.server.request.duration')[0]!.count, 2);
  });

  it('groups series by resource', () => {
    const m = new RedMetrics(0n);
    recordHttp(m, httpExchange(), serverOrigin(), '/a', resource('one'));
    recordHttp(m, httpExchange(), serverOrigin(), '/a', resource('two'));
    assert.deepEqual(m.collect(1n).resourceMetrics.map((r) => r.resource.attributes['service.name']).sort(), ['one', 'two']);
  });

  it('caps series per metric; the rest lands in one otel.metric.overflow series, as in the OpenTelemetry SDK', async () => {
    const m = new RedMetrics(0n, { ...DEFAULT_RED_METRICS_OPTIONS, maxSeriesPerMetric: 5 });
    for (let i = 0; i < 20; i++) recordHttp(m, httpExchange(), serverOrigin(), `/r${i}`);
    const ps = points(m.collect(1n), 'http.server.request.duration');
    assert.equal(ps.length, 6);
    const overflow = ps.filter((p) => p.attributes['otel.metric.overflow'] === true);
    assert.equal(overflow.length, 1);
    assert.deepEqual(overflow[0]!.attributes, { 'otel.metric.overflow': true });
    assert.equal(overflow[0]!.count, 15);
    assert.equal(m.overflowRecords, 15);

    // The SDK names its overflow series the same way.
    const reader = new CollectingReader({ cardinalitySelector: () => 3 });
    const provider = new MeterProvider({ readers: [reader] });
    const h = provider.getMeter('t').createHistogram('d');
    for (let i = 0; i < 10; i++) h.record(1, { route: `/r${i}` });
    const { resourceMetrics } = await reader.collect();
    const sdkPoints = resourceMetrics.scopeMetrics[0]!.metrics[0]!.dataPoints;
    assert.ok(sdkPoints.some((p) => (p.attributes as Record<string, unknown>)['otel.metric.overflow'] === true));
    await provider.shutdown();
  });

  it('puts values in the same buckets as the OpenTelemetry SDK (upper bounds inclusive)', async () => {
    const durationsMs = [0, 5, 30, 50, 50.001, 100, 12_000];
    const m = new RedMetrics(0n);
    for (const d of durationsMs) recordHttp(m, httpExchange({ durationMs: d }), serverOrigin(), '/a');
    const ours = points(m.collect(1n), 'http.server.request.duration')[0]!;

    const reader = new CollectingReader();
    const provider = new MeterProvider({ readers: [reader] });
    const h = provider.getMeter('t').createHistogram('d', { advice: { explicitBucketBoundaries: [...DEFAULT_DURATION_BUCKETS_SECONDS] } });
    for (const d of durationsMs) h.record(Number(BigInt(Math.round(d * 1e6))) / 1e9);
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics[0]!.metrics[0]! as HistogramMetricData;
    assert.equal(metric.dataPointType, DataPointType.HISTOGRAM);
    const sdk = metric.dataPoints[0]!.value;
    assert.deepEqual(ours.bucketCounts, sdk.buckets.counts);
    assert.deepEqual(ours.explicitBounds, sdk.buckets.boundaries);
    assert.equal(ours.min, sdk.min);
    assert.equal(ours.max, sdk.max);
    await provider.shutdown();
  });

  it('one series per distinct attribute set: every attribute in the series key tells series apart', () => {
    const m = new RedMetrics(0n);
    const server = serverOrigin();
    const variants: Array<[Exchange, ExchangeOrigin, string | undefined]> = [
      [httpExchange({}), server, '/a'],
      [httpExchange({}), server, '/b'],
      [httpExchange({}), server, undefined],
      [httpExchange({ method: 'POST' }), server, '/a'],
      [httpExchange({ method: 'BREW' }), server, '/a'], // _OTHER
      [httpExchange({ status: 500 }), server, '/a'],
      [httpExchange({ noResponse: true, error: 'closed' }), server, '/a'],
      [httpExchange({ noResponse: true, error: 'truncated' }), server, '/a'],
      [httpExchange({ version: 'HTTP/1.0' }), server, '/a'],
      [httpExchange({ version: '2' }), server, '/a'],
      [httpExchange({ version: 'HTTP/0.9' }), server, '/a'],
      [httpExchange({ headers: [['host', 'shop:9090']] }), server, '/a'],
      [httpExchange({ headers: [['host', 'shop:8080'], ['x-forwarded-proto', 'https']] }), server, '/a'],
      [httpExchange({ headers: [['host', 'a.example:8080']] }), clientOrigin(), '/a'],
      [httpExchange({ headers: [['host', 'b.example:8080']] }), clientOrigin(), '/a'],
    ];
    for (const [ex, origin, route] of variants) for (let i = 0; i < 2; i++) recordHttp(m, ex, origin, route);
    const md = m.collect(1n);
    const series = [...points(md, 'http.server.request.duration'), ...points(md, 'http.client.request.duration')];
    assert.equal(series.length, variants.length);
    for (const p of series) assert.equal(p.count, 2, JSON.stringify(p.attributes));
    assert.equal(new Set(series.map((p) => JSON.stringify(Object.entries(p.attributes).sort()))).size, variants.length);
  });

  it('honours configured boundaries', () => {
    const m = new RedMetrics(0n, { ...DEFAULT_RED_METRICS_OPTIONS, durationBucketsSeconds: [0.01, 0.1] });
    recordHttp(m, httpExchange({ durationMs: 30 }), serverOrigin(), '/a');
    const p = points(m.collect(1n), 'http.server.request.duration')[0]!;
    assert.deepEqual(p.explicitBounds, [0.01, 0.1]);
    assert.deepEqual(p.bucketCounts, [0, 1, 0]);
  });
});

describe('RedMetrics gRPC', () => {
  it('records rpc.server.duration in ms with rpc attributes, not HTTP metrics', () => {
    const m = new RedMetrics(0n);
    const ex = grpcExchange('/helloworld.Greeter/SayHello', 13, { durationMs: 30 });
    m.recordGrpc(SVC, ex, serverOrigin(), describeGrpc(ex, serverOrigin()));
    const md = m.collect(1n);
    const [p] = points(md, 'rpc.server.duration');
    assert.equal(md.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.unit, 'ms');
    assert.deepEqual(p!.attributes, { 'rpc.system': 'grpc', 'rpc.service': 'helloworld.Greeter', 'rpc.method': 'SayHello', 'rpc.grpc.status_code': 13 });
    assert.ok(Math.abs(p!.sum! - 30) < 1e-9);
    assert.equal(p!.bucketCounts[3], 1, '30 ms is in (25, 50]');
    assert.equal(points(md, 'http.server.request.duration').length, 0);
  });
});
