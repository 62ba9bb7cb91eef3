// The servicegraph connector through its factory: client and server spans from different services
// (and batches) pair into edges; unpaired spans become virtual nodes after store.ttl; the result is
// checked in pdata and on a real prometheus exporter scrape.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import type { ConsumerComponent } from '../../../src/collector/component.js';
import type { MetricsConsumer } from '../../../src/collector/consumer.js';
import { serviceGraphConnectorFactory } from '../../../src/collector/connectors/servicegraph/index.js';
import { prometheusExporterFactory } from '../../../src/collector/exporters/prometheus/index.js';
import {
  type Attributes, type HistogramDataPoint, type Metric, type Metrics, type NumberDataPoint, type Span, SpanKind, StatusCode, type Traces,
} from '../../../src/collector/pdata/model.js';
import { findSamples, parseExposition } from '../prometheus/exposition-parser.js';
import { scrape, testHost, testSettings } from '../prometheus/support.js';

const T0 = 1_700_000_000_000_000_000n;
const TRACE = '0af7651916cd43dd8448eb211c80319c';
function span(spanId: string, parentSpanId: string, kind: SpanKind, ms: number, attributes: Attributes = {}, status = StatusCode.UNSET): Span {
  return {
    traceId: TRACE, spanId, parentSpanId, traceState: '', flags: 1, name: 'op', kind, startTimeUnixNano: T0,
    endTimeUnixNano: T0 + BigInt(ms) * 1_000_000n, attributes, droppedAttributesCount: 0, events: [], droppedEventsCount: 0,
    links: [], droppedLinksCount: 0, status: { code: status, message: '' },
  };
}
const from = (service: string, spans: Span[]): Traces => ({
  resourceSpans: [{ resource: { attributes: { 'service.name': service }, droppedAttributesCount: 0 }, schemaUrl: '', scopeSpans: [{ scope: { name: '', version: '', attributes: {}, droppedAttributesCount: 0 }, spans, schemaUrl: '' }] }],
});

class SinkConsumer implements MetricsConsumer {
  last: Metrics | undefined;
  async consumeMetrics(md: Metrics): Promise<void> { this.last = md; }
}

const open: ConsumerComponent<'traces' | 'metrics'>[] = [];
after(async () => { for (const c of open) await c.shutdown(); });

async function connector(overrides: Record<string, unknown>, next: MetricsConsumer, selfMetrics = new Registry()) {
  const cfg = { ...serviceGraphConnectorFactory.createDefaultConfig(), metrics_flush_interval: '1h', ...overrides };
  serviceGraphConnectorFactory.validate!(cfg);
  const host = testHost(selfMetrics);
  const c = serviceGraphConnectorFactory.createConnector(testSettings('connector', 'servicegraph', host), cfg, 'traces', 'metrics', next);
  await c.start(host);
  open.push(c);
  return c as ConsumerComponent<'traces'> & { flush(): Promise<void> };
}

const metric = (md: Metrics, name: string): Metric | undefined => md.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)).find((m) => m.name === name);
function pointFor<P extends { attributes: Attributes }>(md: Metrics, name: string, client: string, server: string): P {
  const m = metric(md, name);
  assert.ok(m, `${name} missing`);
  const p = (m.data.dataPoints as unknown as P[]).find((d) => d.attributes.client === client && d.attributes.server === server);
  assert.ok(p, `${name} has no ${client}→${server} edge: ${JSON.stringify(m.data.dataPoints.map((d) => d.attributes))}`);
  return p;
}

describe('servicegraph connector', () => {
  it('has the Collector defaults', () => {
    const d = serviceGraphConnectorFactory.createDefaultConfig();
    assert.deepEqual(d.store, { ttl: '2s', max_items: 1000 });
    assert.deepEqual(d.virtual_node_peer_attributes, ['peer.service', 'db.name', 'db.system']);
    assert.equal(d.metrics_flush_interval, '60s');
  });

  it('pairs client and server spans across services, databases and messaging', async () => {
    const sink = new SinkConsumer();
    const c = await connector({ dimensions: ['http.request.method'] }, sink);
    await c.consumeTraces(from('frontend', [
      span('00000000000000a1', '', SpanKind.CLIENT, 30, { 'http.request.method': 'POST' }, StatusCode.ERROR),
      span('00000000000000a2', '', SpanKind.CLIENT, 4, { 'db.name': 'orders', 'db.system': 'postgresql' }),
      span('00000000000000a3', '', SpanKind.PRODUCER, 1),
    ]));
    await c.consumeTraces(from('backend', [span('00000000000000b1', '00000000000000a1', SpanKind.SERVER, 20, { 'http.request.method': 'POST' })]));
    await c.consumeTraces(from('worker', [span('00000000000000c1', '00000000000000a3', SpanKind.CONSUMER, 7)]));
    await c.flush();
    const md = sink.last!;
    const edge = pointFor<NumberDataPoint>(md, 'traces_service_graph_request_total', 'frontend', 'backend');
    assert.equal(edge.value, 1);
    assert.deepEqual(edge.attributes, { client: 'frontend', server: 'backend', connection_type: '', 'client_http.request.method': 'POST', 'server_http.request.method': 'POST' });
    assert.equal(pointFor<NumberDataPoint>(md, 'traces_service_graph_request_failed_total', 'frontend', 'backend').value, 1);
    const server = pointFor<HistogramDataPoint>(md, 'traces_service_graph_request_server_seconds', 'frontend', 'backend');
    const client = pointFor<HistogramDataPoint>(md, 'traces_service_graph_request_client_seconds', 'frontend', 'backend');
    assert.deepEqual([server.count, server.sum, client.sum], [1, 0.02, 0.03]);
    assert.equal(server.bucketCounts[5], 1, '20 ms falls in (10 ms, 50 ms]');
    assert.equal(metric(md, 'traces_service_graph_request_server_seconds')!.unit, 's');
    assert.equal(pointFor<NumberDataPoint>(md, 'traces_service_graph_request_total', 'frontend', 'orders').attributes.connection_type, 'database');
    assert.equal(pointFor<NumberDataPoint>(md, 'traces_service_graph_request_total', 'frontend', 'worker').attributes.connection_type, 'messaging_system');
    assert.equal(metric(md, 'traces_service_graph_request_failed_total')!.data.dataPoints.length, 1, 'only failed edges have a failed series');
  });

  it('turns unpaired spans into virtual nodes after store.ttl, and counts spans dropped when the store is full', async () => {
    const sink = new SinkConsumer();
    const self = new Registry();
    const c = await connector({ store: { ttl: '100ms', max_items: 2 }, store_expiration_loop: '20ms', virtual_node_extra_label: true }, sink, self);
    await c.consumeTraces(from('frontend', [span('00000000000000d1', '', SpanKind.CLIENT, 5, { 'peer.service': 'payments' })]));
    await c.consumeTraces(from('frontend', [span('00000000000000d2', '', SpanKind.SERVER, 9)]));
    await c.consumeTraces(from('frontend', [span('00000000000000d3', '', SpanKind.CLIENT, 5)])); // third pending edge: store full
    await c.flush();
    assert.equal(sink.last, undefined, 'nothing is complete before the TTL');
    await sleep(250);
    await c.flush();
    const md = sink.last!;
    assert.deepEqual(pointFor<NumberDataPoint>(md, 'traces_service_graph_request_total', 'frontend', 'payments').attributes,
      { client: 'frontend', server: 'payments', connection_type: 'virtual_node', virtual_node: 'server' });
    assert.deepEqual(pointFor<NumberDataPoint>(md, 'traces_service_graph_request_total', 'user', 'frontend').attributes,
      { client: 'user', server: 'frontend', connection_type: 'virtual_node', virtual_node: 'client' });
    const dropped = (await self.getSingleMetric('sonde_connector_servicegraph_dropped_spans_total')!.get()).values[0]!.value;
    assert.equal(dropped, 1);
  });

  it('feeds the prometheus exporter with the Tempo/Grafana metric names', async () => {
    const host = testHost();
    const exporter = prometheusExporterFactory.createExporter(testSettings('exporter', 'prometheus', host),
      { ...prometheusExporterFactory.createDefaultConfig(), endpoint: '127.0.0.1:0' }, 'metrics');
    await exporter.start(host);
    open.push(exporter);
    const c = await connector({}, exporter);
    await c.consumeTraces(from('frontend', [span('00000000000000e1', '', SpanKind.CLIENT, 30)]));
    await c.consumeTraces(from('backend', [span('00000000000000f1', '00000000000000e1', SpanKind.SERVER, 20)]));
    await c.flush();
    const port = (exporter as unknown as { address(): { port: number } }).address().port;
    const fams = parseExposition((await scrape(port)).body);
    assert.equal(findSamples(fams, 'traces_service_graph_request_total', { client: 'frontend', server: 'backend', connection_type: '' })[0]?.value, 1);
    assert.equal(findSamples(fams, 'traces_service_graph_request_server_seconds_bucket', { client: 'frontend', le: '0.05' })[0]?.value, 1);
    assert.equal(findSamples(fams, 'traces_service_graph_request_client_seconds_count', { server: 'backend' })[0]?.value, 1);
  });

  it('rejects bad options', () => {
    const d = serviceGraphConnectorFactory.createDefaultConfig();
    const v = (o: Record<string, unknown>) => () => serviceGraphConnectorFactory.validate!({ ...d, ...o } as never);
    assert.throws(v({ latency_histogram_buckets: ['1s'], exponential_histogram_max_size: 10 }), /use either/);
    assert.throws(v({ latency_histogram_buckets: ['1s', '10ms'] }), /strictly increasing/);
    assert.throws(v({ store: { ttl: '0s', max_items: 10 } }), /store.ttl: must be positive/);
    assert.throws(v({ store: { ttl: '2s', max_items: 0 } }), /store.max_items/);
    assert.throws(v({ dimensions: [''] }), /dimensions: must be a list/);
  });
});
