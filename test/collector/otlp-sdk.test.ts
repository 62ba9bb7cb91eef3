// The OpenTelemetry JS SDK's own OTLP exporters (gRPC, HTTP/protobuf, HTTP/JSON) send traces,
// metrics and logs to Sonde's otlp receiver; the file exporter's output must hold what was sent.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { context, SpanKind as ApiSpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as LogsGrpc } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as LogsJson } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogsProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as MetricsGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as MetricsJson } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as MetricsProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as TraceGrpc } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as TraceJson } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TraceProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AggregationTemporality as SdkTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Service } from '../../src/collector/service/service.js';
import type { Logs, Metrics, Traces } from '../../src/collector/pdata/model.js';
import { freePort, readFileExport, receiverYaml, startService, tempDir, waitFor } from './helpers.js';

type ExportResult = { code: number; error?: Error };
const exportWith = <T>(exporter: { export(items: T, cb: (r: ExportResult) => void): void }, items: T) =>
  new Promise<void>((resolve, reject) => exporter.export(items, (r) => (r.code === 0 ? resolve() : reject(r.error ?? new Error(`export failed: ${r.code}`)))));

const resource = new Resource({ 'service.name': 'sdk-test', 'service.version': '1.2.3', 'host.count': 3 });

class ManualReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

describe('otlp receiver ← OpenTelemetry JS SDK exporters → file exporter', () => {
  let svc: Service;
  let dir: string;
  let grpcUrl: string;
  let httpUrl: string;
  const files = () => ({ traces: join(dir, 'traces.jsonl'), metrics: join(dir, 'metrics.jsonl'), logs: join(dir, 'logs.jsonl') });

  before(async () => {
    dir = tempDir();
    const [g, h] = [await freePort(), await freePort()];
    grpcUrl = `http://127.0.0.1:${g}`;
    httpUrl = `http://127.0.0.1:${h}`;
    const f = files();
    svc = await startService(`
${receiverYaml({ grpc: g, http: h })}
exporters:
  file/traces: { path: ${f.traces} }
  file/metrics: { path: ${f.metrics} }
  file/logs: { path: ${f.logs} }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [file/traces] }
    metrics: { receivers: [otlp], exporters: [file/metrics] }
    logs: { receivers: [otlp], exporters: [file/logs] }
`);
  });
  after(async () => { await svc?.shutdown(); });

  function makeSpans(tag: string) {
    const mem = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(mem)] });
    const tracer = provider.getTracer('sdk-test-scope', '0.1.0');
    const parent = tracer.startSpan(`parent-${tag}`, { kind: ApiSpanKind.SERVER, attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200, ratio: 0.25, ok: true, tags: ['a', 'b'] } });
    parent.addEvent('evt', { n: 1 });
    const ctx = { traceId: parent.spanContext().traceId, spanId: parent.spanContext().spanId, traceFlags: 1 };
    const child = tracer.startSpan(`child-${tag}`, { kind: ApiSpanKind.CLIENT, links: [{ context: ctx, attributes: { l: 'x' } }] },
      trace.setSpan(context.active(), parent));
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    child.end();
    parent.end();
    return mem.getFinishedSpans();
  }

  const transports = [
    { name: 'gRPC', traces: () => new TraceGrpc({ url: grpcUrl }), metrics: () => new MetricsGrpc({ url: grpcUrl, temporalityPreference: SdkTemporality.CUMULATIVE }), logs: () => new LogsGrpc({ url: grpcUrl }) },
    { name: 'HTTP/protobuf', traces: () => new TraceProto({ url: `${httpUrl}/v1/traces` }), metrics: () => new MetricsProto({ url: `${httpUrl}/v1/metrics` }), logs: () => new LogsProto({ url: `${httpUrl}/v1/logs` }) },
    { name: 'HTTP/JSON', traces: () => new TraceJson({ url: `${httpUrl}/v1/traces` }), metrics: () => new MetricsJson({ url: `${httpUrl}/v1/metrics` }), logs: () => new LogsJson({ url: `${httpUrl}/v1/logs` }) },
  ];

  for (const t of transports) {
    it(`traces over ${t.name} arrive intact`, async () => {
      const spans = makeSpans(t.name);
      const exporter = t.traces();
      await exportWith(exporter, spans);
      await exporter.shutdown();
      const got = await waitFor('exported traces', () => {
        const all = readFileExport(files().traces, 'traces');
        const match = all.find((td: Traces) => td.resourceSpans.some((rs) => rs.scopeSpans.some((ss) => ss.spans.some((s) => s.name === `parent-${t.name}`))));
        return match;
      });
      const rs = got.resourceSpans[0]!;
      assert.equal(rs.resource.attributes['service.name'], 'sdk-test');
      assert.equal(rs.resource.attributes['host.count'], 3);
      const ss = rs.scopeSpans[0]!;
      assert.equal(ss.scope.name, 'sdk-test-scope');
      assert.equal(ss.scope.version, '0.1.0');
      assert.equal(ss.spans.length, 2);
      for (const sent of spans) {
        const s = ss.spans.find((x) => x.name === sent.name);
        assert.ok(s, `span ${sent.name} missing`);
        assert.equal(s.traceId, sent.spanContext().traceId);
        assert.equal(s.spanId, sent.spanContext().spanId);
        const startNs = BigInt(sent.startTime[0]) * 1_000_000_000n + BigInt(sent.startTime[1]);
        const endNs = BigInt(sent.endTime[0]) * 1_000_000_000n + BigInt(sent.endTime[1]);
        assert.equal(s.startTimeUnixNano, startNs);
        assert.equal(s.endTimeUnixNano, endNs);
      }
      const parent = ss.spans.find((x) => x.name === `parent-${t.name}`)!;
      assert.equal(parent.kind, 2);
      assert.deepEqual(parent.attributes, { 'http.request.method': 'GET', 'http.response.status_code': 200, ratio: 0.25, ok: true, tags: ['a', 'b'] });
      assert.equal(parent.events[0]!.name, 'evt');
      assert.deepEqual(parent.events[0]!.attributes, { n: 1 });
      const child = ss.spans.find((x) => x.name === `child-${t.name}`)!;
      assert.equal(child.kind, 3);
      assert.deepEqual(child.status, { code: 2, message: 'boom' });
      assert.equal(child.parentSpanId, parent.spanId);
      assert.equal(child.links[0]!.spanId, parent.spanId);
      assert.equal(child.links[0]!.traceId, parent.traceId);
      assert.deepEqual(child.links[0]!.attributes, { l: 'x' });
    });

    it(`metrics over ${t.name} arrive intact (sum, gauge, histogram, up-down counter)`, async () => {
      const reader = new ManualReader();
      const provider = new MeterProvider({ resource, readers: [reader] });
      const meter = provider.getMeter('sdk-test-meter', '0.2.0');
      const counter = meter.createCounter(`requests.${t.name}`, { unit: '{request}', description: 'requests' });
      counter.add(3, { route: '/a' });
      counter.add(4, { route: '/b' });
      meter.createHistogram(`latency.${t.name}`, { unit: 's' }).record(0.3, { route: '/a' });
      meter.createUpDownCounter(`inflight.${t.name}`).add(-2);
      meter.createObservableGauge(`temp.${t.name}`).addCallback((r) => r.observe(21.5, { room: 'x' }));
      const { resourceMetrics } = await reader.collect();
      const exporter = t.metrics();
      await exportWith(exporter, resourceMetrics);
      await exporter.shutdown();
      const got = await waitFor('exported metrics', () => readFileExport(files().metrics, 'metrics')
        .find((md: Metrics) => md.resourceMetrics.some((rm) => rm.scopeMetrics.some((sm) => sm.metrics.some((m) => m.name === `requests.${t.name}`)))));
      const sm = got.resourceMetrics[0]!.scopeMetrics[0]!;
      assert.equal(sm.scope.name, 'sdk-test-meter');
      const byName = new Map(sm.metrics.map((m) => [m.name, m]));
      const sum = byName.get(`requests.${t.name}`)!;
      assert.equal(sum.unit, '{request}');
      assert.equal(sum.description, 'requests');
      assert.equal(sum.data.type, 'sum');
      assert.ok(sum.data.type === 'sum' && sum.data.isMonotonic && sum.data.aggregationTemporality === 2);
      const points = sum.data.dataPoints.map((p) => [p.attributes.route, p.value]).sort();
      assert.deepEqual(points, [['/a', 3], ['/b', 4]]);
      const hist = byName.get(`latency.${t.name}`)!;
      assert.equal(hist.data.type, 'histogram');
      if (hist.data.type === 'histogram') {
        const p = hist.data.dataPoints[0]!;
        assert.equal(p.count, 1);
        assert.equal(p.sum, 0.3);
        assert.equal(p.min, 0.3);
        assert.equal(p.bucketCounts.reduce((a, b) => a + b, 0), 1);
        assert.equal(p.bucketCounts.length, p.explicitBounds.length + 1);
      }
      const updown = byName.get(`inflight.${t.name}`)!;
      assert.ok(updown.data.type === 'sum' && !updown.data.isMonotonic && updown.data.dataPoints[0]!.value === -2);
      const gauge = byName.get(`temp.${t.name}`)!;
      assert.ok(gauge.data.type === 'gauge');
      assert.equal(gauge.data.dataPoints[0]!.value, 21.5);
      assert.equal(gauge.data.dataPoints[0]!.valueType, 'double');
      assert.deepEqual(gauge.data.dataPoints[0]!.attributes, { room: 'x' });
      await provider.shutdown();
    });

    it(`logs over ${t.name} arrive intact`, async () => {
      const mem = new InMemoryLogRecordExporter();
      const provider = new LoggerProvider({ resource });
      provider.addLogRecordProcessor(new SimpleLogRecordProcessor(mem));
      const logger = provider.getLogger('sdk-test-logger', '0.3.0');
      logger.emit({ severityNumber: SeverityNumber.WARN, severityText: 'WARN', body: `disk almost full ${t.name}`, attributes: { 'disk.free': 12, mount: '/' } });
      logger.emit({ severityNumber: SeverityNumber.INFO, body: { kv: 'structured', n: 2 } });
      const records = mem.getFinishedLogRecords();
      const exporter = t.logs();
      await exportWith(exporter, records);
      await exporter.shutdown();
      const got = await waitFor('exported logs', () => readFileExport(files().logs, 'logs')
        .find((ld: Logs) => ld.resourceLogs.some((rl) => rl.scopeLogs.some((sl) => sl.logRecords.some((l) => l.body === `disk almost full ${t.name}`)))));
      const sl = got.resourceLogs[0]!.scopeLogs[0]!;
      assert.equal(sl.scope.name, 'sdk-test-logger');
      assert.equal(sl.logRecords.length, 2);
      const [warn, info] = sl.logRecords;
      assert.equal(warn!.severityNumber, 13);
      assert.equal(warn!.severityText, 'WARN');
      assert.deepEqual(warn!.attributes, { 'disk.free': 12, mount: '/' });
      const hr = records[0]!.hrTime;
      assert.equal(warn!.timeUnixNano, BigInt(hr[0]) * 1_000_000_000n + BigInt(hr[1]));
      assert.equal(info!.severityNumber, 9);
      assert.deepEqual(info!.body, { kvlist: { kv: 'structured', n: 2 } });
      await provider.shutdown();
    });
  }
});
