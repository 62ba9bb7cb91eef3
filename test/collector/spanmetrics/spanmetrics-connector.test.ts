// The spanmetrics connector through its factory: spans in, metrics out at a real flush timer, to a
// sink consumer and, in the last test, to the prometheus exporter scraped over HTTP.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ConsumerComponent } from '../../../src/collector/component.js';
import type { MetricsConsumer } from '../../../src/collector/consumer.js';
import { spanMetricsConnectorFactory } from '../../../src/collector/connectors/spanmetrics/index.js';
import { prometheusExporterFactory } from '../../../src/collector/exporters/prometheus/index.js';
import {
  AggregationTemporality, type Attributes, type ExponentialHistogramDataPoint, type HistogramDataPoint, type Metric, type Metrics,
  type NumberDataPoint, type Span, SpanKind, StatusCode, type Traces,
} from '../../../src/collector/pdata/model.js';
import { findSamples, parseExposition } from '../prometheus/exposition-parser.js';
import { scrape, testHost, testSettings } from '../prometheus/support.js';

const T0 = 1_700_000_000_000_000_000n;
let nextId = 1;
function span(name: string, kind: SpanKind, durationMs: number, opts: { status?: StatusCode; attributes?: Attributes; events?: Attributes[] } = {}): Span {
  const id = (nextId++).toString(16).padStart(16, '0');
  return {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: id, traceState: '', parentSpanId: '', flags: 1, name, kind,
    startTimeUnixNano: T0, endTimeUnixNano: T0 + BigInt(Math.round(durationMs * 1e6)),
    attributes: opts.attributes ?? {}, droppedAttributesCount: 0,
    events: (opts.events ?? []).map((attributes) => ({ timeUnixNano: T0, name: 'exception', attributes, droppedAttributesCount: 0 })),
    droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: opts.status ?? StatusCode.UNSET, message: '' },
  };
}
const traces = (resource: Attributes, spans: Span[]): Traces => ({
  resourceSpans: [{ resource: { attributes: resource, droppedAttributesCount: 0 }, schemaUrl: '', scopeSpans: [{ scope: { name: 't', version: '', attributes: {}, droppedAttributesCount: 0 }, spans, schemaUrl: '' }] }],
});

class SinkConsumer implements MetricsConsumer {
  readonly batches: Metrics[] = [];
  async consumeMetrics(md: Metrics): Promise<void> { this.batches.push(md); }
  async waitFor(n: number): Promise<Metrics> {
    const deadline = Date.now() + 5000;
    while (this.batches.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.batches.length} of ${n} flushes arrived in 5 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.batches[n - 1]!;
  }
}

const open: ConsumerComponent<'traces' | 'metrics'>[] = [];
after(async () => { for (const c of open) await c.shutdown(); });

async function connector(overrides: Record<string, unknown>, next: MetricsConsumer) {
  const cfg = { ...spanMetricsConnectorFactory.createDefaultConfig(), metrics_flush_interval: '50ms', ...overrides };
  spanMetricsConnectorFactory.validate!(cfg);
  const host = testHost();
  const c = spanMetricsConnectorFactory.createConnector(testSettings('connector', 'spanmetrics', host), cfg, 'traces', 'metrics', next);
  await c.start(host);
  open.push(c);
  return c;
}

const metricsOf = (md: Metrics): Metric[] => md.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
const find = (md: Metrics, name: string) => metricsOf(md).find((m) => m.name === name)!;
function pointWith<P extends { attributes: Attributes }>(m: Metric, attrs: Attributes): P {
  const p = (m.data.dataPoints as unknown as P[]).find((dp) => Object.entries(attrs).every(([k, v]) => dp.attributes[k] === v));
  assert.ok(p, `${m.name} has no point with ${JSON.stringify(attrs)}: ${JSON.stringify(m.data.dataPoints.map((d) => d.attributes))}`);
  return p;
}

const frontend = { 'service.name': 'frontend', 'service.instance.id': 'fe-1', 'deployment.environment': 'test' };

describe('spanmetrics connector', () => {
  it('has the Collector defaults', () => {
    const d = spanMetricsConnectorFactory.createDefaultConfig();
    assert.equal(d.namespace, 'traces.span.metrics');
    assert.equal(d.metrics_flush_interval, '60s');
    assert.equal(d.aggregation_temporality, 'AGGREGATION_TEMPORALITY_CUMULATIVE');
    assert.equal(d.histogram.unit, 'ms');
    assert.equal(d.exemplars.enabled, false);
    assert.equal(d.dimensions_cache_size, 1000);
  });

  it('counts calls and records durations per service, span name, kind, status and configured dimensions (cumulative)', async () => {
    const sink = new SinkConsumer();
    const c = await connector({
      dimensions: [{ name: 'http.request.method' }, { name: 'deployment.environment' }, { name: 'region', default: 'unknown' }, { name: 'absent' }],
    }, sink);
    await c.consumeTraces(traces(frontend, [
      span('GET /cart', SpanKind.SERVER, 1, { attributes: { 'http.request.method': 'GET' } }),
      span('GET /cart', SpanKind.SERVER, 3, { attributes: { 'http.request.method': 'GET' } }),
      span('GET /cart', SpanKind.SERVER, 12, { attributes: { 'http.request.method': 'GET' } }),
      span('GET /cart', SpanKind.SERVER, 500, { status: StatusCode.ERROR, attributes: { 'http.request.method': 'GET' } }),
      span('SELECT', SpanKind.CLIENT, 20000),
    ]));
    const md = await sink.waitFor(1);
    assert.deepEqual(md.resourceMetrics[0]!.resource.attributes, frontend, 'metrics keep the spans\' resource');
    assert.equal(md.resourceMetrics[0]!.scopeMetrics[0]!.scope.name, 'spanmetricsconnector');
    const calls = find(md, 'traces.span.metrics.calls');
    assert.ok(calls.data.type === 'sum' && calls.data.isMonotonic && calls.data.aggregationTemporality === AggregationTemporality.CUMULATIVE);
    const ok = { 'service.name': 'frontend', 'span.name': 'GET /cart', 'span.kind': 'SPAN_KIND_SERVER', 'status.code': 'STATUS_CODE_UNSET' };
    const okPoint = pointWith<NumberDataPoint>(calls, ok);
    assert.equal(okPoint.value, 3);
    assert.deepEqual(okPoint.attributes, { ...ok, 'http.request.method': 'GET', 'deployment.environment': 'test', region: 'unknown' },
      'span attribute, resource attribute, default; a missing dimension without default is omitted');
    assert.equal(pointWith<NumberDataPoint>(calls, { 'status.code': 'STATUS_CODE_ERROR' }).value, 1);
    assert.equal(pointWith<NumberDataPoint>(calls, { 'span.kind': 'SPAN_KIND_CLIENT', 'span.name': 'SELECT' }).value, 1);

    const duration = find(md, 'traces.span.metrics.duration');
    assert.equal(duration.unit, 'ms');
    assert.equal(duration.data.type, 'histogram');
    const h = pointWith<HistogramDataPoint>(duration, ok);
    assert.deepEqual(h.explicitBounds, [2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000]);
    assert.deepEqual(h.bucketCounts, [1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(h.count, 3);
    assert.equal(h.sum, 16);
    assert.equal(pointWith<HistogramDataPoint>(duration, { 'span.name': 'SELECT' }).bucketCounts.at(-1), 1, '20 s lands above 15 s');
    assert.equal(h.exemplars.length, 0, 'exemplars are off by default');

    // Cumulative: a later flush carries the running totals and the same start time.
    await c.consumeTraces(traces(frontend, [span('GET /cart', SpanKind.SERVER, 5, { attributes: { 'http.request.method': 'GET' } })]));
    const seen = sink.batches.length;
    const later = await sink.waitFor(seen + 1);
    const p2 = pointWith<NumberDataPoint>(find(later, 'traces.span.metrics.calls'), ok);
    assert.equal(p2.value, 4);
    assert.equal(p2.startTimeUnixNano, okPoint.startTimeUnixNano);
    assert.ok(p2.timeUnixNano > okPoint.timeUnixNano);
  });

  it('restarts series after each flush with DELTA temporality, and honours unit s, buckets, exclude_dimensions, exemplars, namespace', async () => {
    const sink = new SinkConsumer();
    const c = await connector({
      aggregation_temporality: 'AGGREGATION_TEMPORALITY_DELTA', namespace: '', exclude_dimensions: ['status.code'],
      histogram: { disable: false, unit: 's', explicit: { buckets: ['100ms', '1s'] }, exponential: null },
      exemplars: { enabled: true },
    }, sink);
    await c.consumeTraces(traces(frontend, [span('work', SpanKind.INTERNAL, 250), span('work', SpanKind.INTERNAL, 2500, { status: StatusCode.ERROR })]));
    const md = await sink.waitFor(1);
    const calls = find(md, 'calls');
    assert.equal(calls.data.type === 'sum' && calls.data.aggregationTemporality, AggregationTemporality.DELTA);
    const p = pointWith<NumberDataPoint>(calls, { 'span.name': 'work' });
    assert.equal(p.value, 2, 'without status.code both spans share one series');
    assert.equal('status.code' in p.attributes, false);
    const h = pointWith<HistogramDataPoint>(find(md, 'duration'), { 'span.name': 'work' });
    assert.equal(find(md, 'duration').unit, 's');
    assert.deepEqual([h.explicitBounds, h.bucketCounts, h.sum], [[0.1, 1], [0, 1, 1], 2.75]);
    assert.deepEqual(h.exemplars.map((e) => [e.value, e.traceId]), [[0.25, '4bf92f3577b34da6a3ce929d0e0e4736'], [2.5, '4bf92f3577b34da6a3ce929d0e0e4736']]);

    await c.consumeTraces(traces(frontend, [span('work', SpanKind.INTERNAL, 50)]));
    const seen = sink.batches.length;
    const next = await sink.waitFor(seen + 1);
    const p2 = pointWith<NumberDataPoint>(find(next, 'calls'), { 'span.name': 'work' });
    assert.equal(p2.value, 1, 'delta: only the span since the last flush');
    assert.ok(p2.startTimeUnixNano >= p.timeUnixNano, 'delta start time is the previous flush');
  });

  it('records an exponential histogram when configured and counts events', async () => {
    const sink = new SinkConsumer();
    const c = await connector({
      histogram: { disable: false, unit: 'ms', explicit: null, exponential: { max_size: 10 } },
      events: { enabled: true, dimensions: [{ name: 'exception.type' }] },
    }, sink);
    const durations = [0.5, 1, 3, 7, 100, 1000, 60000];
    await c.consumeTraces(traces(frontend, durations.map((d) => span('op', SpanKind.SERVER, d, { events: [{ 'exception.type': 'Timeout' }] }))));
    const md = await sink.waitFor(1);
    const h = pointWith<ExponentialHistogramDataPoint>(find(md, 'traces.span.metrics.duration'), { 'span.name': 'op' });
    assert.equal(h.count, durations.length);
    assert.ok(h.positive.bucketCounts.length <= 10, `at most max_size buckets, got ${h.positive.bucketCounts.length}`);
    assert.equal(h.positive.bucketCounts.reduce((a, b) => a + b, 0) + h.zeroCount, durations.length);
    // Every value lies inside its bucket (base^i, base^(i+1)].
    const base = 2 ** (2 ** -h.scale);
    for (const d of durations) {
      const i = Math.ceil(Math.log2(d) / Math.log2(base)) - 1 - h.positive.offset;
      assert.ok(h.positive.bucketCounts[i]! > 0, `bucket for ${d} ms`);
    }
    assert.equal(pointWith<NumberDataPoint>(find(md, 'traces.span.metrics.events'), { 'exception.type': 'Timeout' }).value, durations.length);
  });

  it('feeds the prometheus exporter: traces_span_metrics_calls_total on a real scrape', async () => {
    const promCfg = { ...prometheusExporterFactory.createDefaultConfig(), endpoint: '127.0.0.1:0' };
    const host = testHost();
    const exporter = prometheusExporterFactory.createExporter(testSettings('exporter', 'prometheus', host), promCfg, 'metrics');
    await exporter.start(host);
    open.push(exporter);
    const c = await connector({}, exporter);
    await c.consumeTraces(traces(frontend, [
      span('GET /cart', SpanKind.SERVER, 1), span('GET /cart', SpanKind.SERVER, 3), span('GET /cart', SpanKind.SERVER, 12),
      span('GET /cart', SpanKind.SERVER, 30, { status: StatusCode.ERROR }),
    ]));
    await (c as unknown as { flush(): Promise<void> }).flush();
    const port = (exporter as unknown as { address(): { port: number } }).address().port;
    const fams = parseExposition((await scrape(port)).body);
    const sel = { job: 'frontend', instance: 'fe-1', service_name: 'frontend', span_name: 'GET /cart', span_kind: 'SPAN_KIND_SERVER' };
    assert.equal(findSamples(fams, 'traces_span_metrics_calls_total', { ...sel, status_code: 'STATUS_CODE_UNSET' })[0]?.value, 3);
    assert.equal(findSamples(fams, 'traces_span_metrics_calls_total', { ...sel, status_code: 'STATUS_CODE_ERROR' })[0]?.value, 1);
    assert.equal(findSamples(fams, 'traces_span_metrics_duration_milliseconds_bucket', { ...sel, status_code: 'STATUS_CODE_UNSET', le: '2' })[0]?.value, 1);
    assert.equal(findSamples(fams, 'traces_span_metrics_duration_milliseconds_count', { ...sel, status_code: 'STATUS_CODE_UNSET' })[0]?.value, 3);
    assert.deepEqual(findSamples(fams, 'target_info')[0]?.labels, { job: 'frontend', instance: 'fe-1', deployment_environment: 'test' });
  });

  it('rejects bad options', () => {
    const d = spanMetricsConnectorFactory.createDefaultConfig();
    const v = (o: Record<string, unknown>) => () => spanMetricsConnectorFactory.validate!({ ...d, ...o } as never);
    assert.throws(v({ histogram: { ...d.histogram, unit: 'us' } }), /histogram.unit: must be "ms" or "s"/);
    assert.throws(v({ histogram: { ...d.histogram, explicit: { buckets: ['10ms', '5ms'] } } }), /strictly increasing/);
    assert.throws(v({ histogram: { ...d.histogram, explicit: { buckets: ['ten'] } } }), /histogram.explicit.buckets\[0\]: invalid duration/);
    assert.throws(v({ aggregation_temporality: 'DELTA' }), /aggregation_temporality: must be/);
    assert.throws(v({ dimensions: [{ name: 'a' }, { name: 'a' }] }), /duplicate dimension "a"/);
    assert.throws(v({ metrics_flush_interval: '0s' }), /metrics_flush_interval: must be positive/);
    assert.throws(() => spanMetricsConnectorFactory.createConnector(testSettings('connector', 'spanmetrics'), d, 'metrics', 'metrics', new SinkConsumer()), /traces to metrics/);
  });
});
