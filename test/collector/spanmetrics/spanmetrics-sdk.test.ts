// Spans made by the OpenTelemetry JS SDK (real clocks, real kinds and statuses), serialised by its
// own OTLP protobuf serializer and decoded by Sonde's pdata codec, become spanmetrics.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpanKind as ApiSpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { MetricsConsumer } from '../../../src/collector/consumer.js';
import { spanMetricsConnectorFactory } from '../../../src/collector/connectors/spanmetrics/index.js';
import { decodeRequest } from '../../../src/collector/pdata/otlp.js';
import type { HistogramDataPoint, Metrics, NumberDataPoint } from '../../../src/collector/pdata/model.js';
import { testHost, testSettings } from '../prometheus/support.js';

it('spanmetrics from OpenTelemetry JS SDK spans', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ resource: new Resource({ 'service.name': 'sdk-svc', 'service.instance.id': 'sdk-1' }) });
  provider.addSpanProcessor(new SimpleSpanProcessor(exporter));
  const tracer = provider.getTracer('spanmetrics-test');
  for (const fail of [false, true]) {
    const span = tracer.startSpan('GET /items', { kind: ApiSpanKind.SERVER, attributes: { 'http.request.method': 'GET' } });
    await sleep(30);
    if (fail) span.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    span.end();
  }
  tracer.startSpan('render').end();
  const body = ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans())!;

  let out: Metrics | undefined;
  const sink: MetricsConsumer = { consumeMetrics: async (md) => { out = md; } };
  const cfg = { ...spanMetricsConnectorFactory.createDefaultConfig(), dimensions: [{ name: 'http.request.method' }] };
  const host = testHost();
  const c = spanMetricsConnectorFactory.createConnector(testSettings('connector', 'spanmetrics', host), cfg, 'traces', 'metrics', sink);
  await c.start(host);
  await c.consumeTraces(decodeRequest('traces', body, 'proto'));
  await c.shutdown(); // shutdown flushes what was aggregated
  await provider.shutdown();

  assert.ok(out, 'a flush on shutdown');
  assert.equal(out.resourceMetrics[0]!.resource.attributes['service.name'], 'sdk-svc');
  const metrics = out.resourceMetrics[0]!.scopeMetrics[0]!.metrics;
  const calls = metrics.find((m) => m.name === 'traces.span.metrics.calls')!.data.dataPoints as NumberDataPoint[];
  const keyOf = (p: NumberDataPoint | HistogramDataPoint) => `${p.attributes['span.name']}|${p.attributes['span.kind']}|${p.attributes['status.code']}`;
  assert.deepEqual(calls.map((p) => [keyOf(p), p.value]).sort(), [
    ['GET /items|SPAN_KIND_SERVER|STATUS_CODE_ERROR', 1],
    ['GET /items|SPAN_KIND_SERVER|STATUS_CODE_UNSET', 1],
    ['render|SPAN_KIND_INTERNAL|STATUS_CODE_UNSET', 1],
  ]);
  assert.equal(calls.find((p) => p.attributes['span.name'] === 'GET /items')!.attributes['http.request.method'], 'GET');
  const durations = metrics.find((m) => m.name === 'traces.span.metrics.duration')!.data.dataPoints as HistogramDataPoint[];
  const server = durations.find((p) => keyOf(p) === 'GET /items|SPAN_KIND_SERVER|STATUS_CODE_ERROR')!;
  assert.ok(server.sum! >= 29 && server.sum! < 1000, `a 30 ms span measures ${server.sum} ms`);
  assert.equal(server.bucketCounts[5], 1, '30 ms falls in (10 ms, 50 ms]');
});
