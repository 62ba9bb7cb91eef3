import assert from 'node:assert/strict';
import { request, createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { context, trace, type TextMapSetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { SpanKind, StatusCode, type HistogramDataPoint, type Metrics, type Span, type Traces } from '../../src/collector/pdata/model.js';
import type { Exchange, HeaderList } from '../../src/protocols/exchange.js';
import { DEFAULT_TELEMETRY_CONFIG, resolveTelemetryConfig } from '../../src/telemetry/config.js';
import { ExchangeTelemetry } from '../../src/telemetry/exchange-telemetry.js';
import type { ServiceIdentity, ServiceIdentitySource } from '../../src/telemetry/service-identity.js';
import { clientOrigin, grpcExchange, httpExchange, serverOrigin } from './exchanges.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT = 'b7ad6b7169203331';

/** Identities keyed by pid, for tests that need several services without spawning processes. */
class FixedIdentities implements ServiceIdentitySource {
  identify(pid: number): ServiceIdentity {
    return { key: String(pid), serviceName: `svc-${pid}`, resource: { attributes: { 'service.name': `svc-${pid}` }, droppedAttributesCount: 0 } };
  }
}

const allSpans = (td: Traces): Span[] => td.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
function points(md: Metrics, name: string): HistogramDataPoint[] {
  return md.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics))
    .flatMap((m) => (m.name === name && m.data.type === 'histogram' ? m.data.dataPoints : []));
}

describe('ExchangeTelemetry with real HTTP traffic on loopback', () => {
  it('an SDK-instrumented client calling a server: client span = SDK context, server span its child; metrics counted', async () => {
    // What the capture layer would report, built from what a real server and client saw.
    const seen: Array<{ headers: IncomingHttpHeaders; method: string; url: string; version: string; start: bigint; end: bigint; remotePort: number }> = [];
    const server = createServer((req, res) => {
      const start = process.hrtime.bigint();
      req.resume();
      req.on('end', () => {
        res.writeHead(req.url!.startsWith('/fail') ? 500 : 200, { 'content-type': 'text/plain' });
        res.end('hello world\n', () => {
          seen.push({ headers: req.headers, method: req.method!, url: req.url!, version: `HTTP/${req.httpVersion}`, start, end: process.hrtime.bigint(), remotePort: req.socket.remotePort! });
        });
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;

    const provider = new BasicTracerProvider();
    const sdkSpan = provider.getTracer('client-app').startSpan('call orders');
    const carrier: Record<string, string> = {};
    const setter: TextMapSetter<Record<string, string>> = { set: (c, k, v) => { c[k] = v; } };
    new W3CTraceContextPropagator().inject(trace.setSpan(context.active(), sdkSpan), carrier, setter);

    const get = (path: string, headers: Record<string, string>) => new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, headers: { 'user-agent': 'sonde-test', ...headers }, agent: false }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    try {
      await get('/orders/1234?secret=1', carrier);
      await get('/fail/77', {});
      await get('/health', {});
    } finally {
      sdkSpan.end();
      await new Promise((r) => server.close(r));
    }
    assert.equal(seen.length, 3);

    const telemetry = new ExchangeTelemetry({ routes: { ignored_patterns: ['/health'] } });
    const pick = (h: IncomingHttpHeaders): HeaderList => ['host', 'user-agent', 'traceparent', 'tracestate']
      .flatMap((n) => (typeof h[n] === 'string' ? [[n, h[n] as string] as [string, string]] : []));
    for (const s of seen) {
      const ex: Exchange = {
        protocol: 'http1',
        request: { method: s.method, target: s.url, version: s.version, headers: pick(s.headers), bodySize: 0, startNs: s.start, endNs: s.start },
        response: { status: s.url.startsWith('/fail') ? 500 : 200, headers: [], bodySize: 12, startNs: s.end, endNs: s.end },
      };
      const conn = { pid: process.pid, localAddress: '127.0.0.1', remoteAddress: '127.0.0.1', family: 4 as const };
      telemetry.record(ex, { ...conn, role: 'server', localPort: port, remotePort: s.remotePort });
      telemetry.record(ex, { ...conn, role: 'client', localPort: s.remotePort, remotePort: port });
    }

    const td = telemetry.drainSpans();
    assert.equal(td.resourceSpans.length, 1, 'one process, one resource');
    assert.equal(td.resourceSpans[0]!.resource.attributes['process.pid'], process.pid);
    assert.equal(td.resourceSpans[0]!.scopeSpans[0]!.scope.name, 'sonde');
    const spans = allSpans(td);
    assert.equal(spans.length, 4, '/health is ignored');
    const sdkContext = sdkSpan.spanContext();
    const client = spans.find((s) => s.kind === SpanKind.CLIENT && s.name === 'GET /orders/*')!;
    const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'GET /orders/*')!;
    assert.equal(client.traceId, sdkContext.traceId);
    assert.equal(client.spanId, sdkContext.spanId, 'the client span is the context the caller propagated');
    assert.equal(serverSpan.traceId, sdkContext.traceId);
    assert.equal(serverSpan.parentSpanId, sdkContext.spanId, 'the server span is its child');
    assert.equal(serverSpan.attributes['url.path'], '/orders/1234');
    assert.equal(serverSpan.attributes['server.port'], port);
    assert.equal(client.attributes['url.full'], `http://127.0.0.1:${port}/orders/1234`);
    assert.ok(serverSpan.endTimeUnixNano >= serverSpan.startTimeUnixNano);
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    assert.ok(nowNs - serverSpan.startTimeUnixNano < 10_000_000_000n, 'span times are wall-clock, within seconds of now');
    assert.equal(spans.find((s) => s.kind === SpanKind.SERVER && s.name === 'GET /fail/*')!.status.code, StatusCode.ERROR);
    assert.equal(allSpans(telemetry.drainSpans()).length, 0, 'drained');

    const md = telemetry.collectMetrics();
    const srv = points(md, 'http.server.request.duration');
    assert.deepEqual(srv.map((p) => `${p.attributes['http.route']} ${p.attributes['http.response.status_code']} ${p.count}`).sort(), ['/fail/* 500 1', '/orders/* 200 1']);
    assert.equal(telemetry.stats.ignored, 2);
    assert.equal(telemetry.stats.exchanges, 6);
    await provider.shutdown();
  });
});

describe('ExchangeTelemetry options', () => {
  const make = (cfg: unknown) => new ExchangeTelemetry(cfg, { identity: new FixedIdentities() });

  it('groups spans by resource', () => {
    const t = make({});
    t.record(httpExchange(), serverOrigin(1));
    t.record(httpExchange(), serverOrigin(2));
    t.record(httpExchange(), clientOrigin(2));
    const td = t.drainSpans();
    assert.deepEqual(td.resourceSpans.map((rs) => [rs.resource.attributes['service.name'], rs.scopeSpans[0]!.spans.length]).sort(), [['svc-1', 1], ['svc-2', 2]]);
  });

  it('unsampled (sampled=0) exchanges produce no span but are counted in metrics', () => {
    const t = make({});
    t.record(httpExchange({ headers: [['traceparent', `00-${TRACE}-${PARENT}-00`]] }), serverOrigin(1));
    assert.equal(allSpans(t.drainSpans()).length, 0);
    assert.equal(points(t.collectMetrics(), 'http.server.request.duration')[0]!.count, 1);
    assert.equal(t.stats.unsampled, 1);
    const all = make({ parent_based_sampling: false });
    all.record(httpExchange({ headers: [['traceparent', `00-${TRACE}-${PARENT}-00`]] }), serverOrigin(1));
    assert.equal(allSpans(all.drainSpans())[0]!.traceId, TRACE);
  });

  it('traces: false / metrics: false switch each signal off', () => {
    const noTraces = make({ traces: false });
    noTraces.record(httpExchange(), serverOrigin(1));
    assert.equal(noTraces.drainSpans().resourceSpans.length, 0);
    assert.equal(points(noTraces.collectMetrics(), 'http.server.request.duration').length, 1);
    const noMetrics = make({ metrics: false });
    noMetrics.record(httpExchange(), serverOrigin(1));
    assert.equal(noMetrics.collectMetrics().resourceMetrics.length, 0);
    assert.equal(allSpans(noMetrics.drainSpans()).length, 1);
  });

  it('routes: patterns and modes reach spans and metrics; metrics never see raw paths by default', () => {
    const t = make({ routes: { patterns: ['/users/{id}'] } });
    t.record(httpExchange({ target: '/users/42' }), serverOrigin(1));
    t.record(httpExchange({ target: '/items/9f86d081884c7d65' }), serverOrigin(1));
    const routes = points(t.collectMetrics(), 'http.server.request.duration').map((p) => p.attributes['http.route']).sort();
    assert.deepEqual(routes, ['/items/*', '/users/{id}']);
    const lc = make({ routes: { unmatched: 'low-cardinality', low_cardinality_max_children: 3 } });
    for (let i = 0; i < 10; i++) lc.record(httpExchange({ target: `/p/${i}` }), serverOrigin(1));
    assert.ok(points(lc.collectMetrics(), 'http.server.request.duration').some((p) => p.attributes['http.route'] === '/p/*'));
  });

  it('gRPC exchanges become rpc spans and rpc metrics; ignored_patterns apply to their path', () => {
    const t = make({ routes: { ignored_patterns: ['/grpc.health.v1.Health/*'] } });
    t.record(grpcExchange('/helloworld.Greeter/SayHello', 0), serverOrigin(1));
    t.record(grpcExchange('/grpc.health.v1.Health/Check', 0), serverOrigin(1));
    assert.deepEqual(allSpans(t.drainSpans()).map((s) => s.name), ['helloworld.Greeter/SayHello']);
    const md = t.collectMetrics();
    assert.equal(points(md, 'rpc.server.duration').length, 1);
    assert.equal(points(md, 'http.server.request.duration').length, 0);
  });

  it('bounds pending spans and never throws on malformed exchanges', () => {
    const t = make({ max_pending_spans: 2 });
    for (let i = 0; i < 5; i++) t.record(httpExchange(), serverOrigin(1));
    assert.equal(allSpans(t.drainSpans()).length, 2);
    assert.equal(t.stats.spansDropped, 3);
    t.record({ protocol: 'http1' } as unknown as Exchange, serverOrigin(1));
    assert.equal(t.stats.failed, 1);
    assert.match(t.stats.lastError!, /recording http1 .*pid 1/);
  });
});

describe('processes instrumented with an OpenTelemetry SDK', () => {
  const make = (cfg: unknown) => new ExchangeTelemetry(cfg, { identity: new FixedIdentities() });
  /** Per service name (svc-PID): the paths of its spans, and the counts of its RED metrics series. */
  function reported(t: ExchangeTelemetry): { spans: Record<string, string[]>; metrics: Record<string, number> } {
    const spans: Record<string, string[]> = {};
    for (const rs of t.drainSpans().resourceSpans) {
      spans[String(rs.resource.attributes['service.name'])] = rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => String(s.attributes['url.path'] ?? s.name))).sort();
    }
    const metrics: Record<string, number> = {};
    for (const rm of t.collectMetrics().resourceMetrics) {
      const count = rm.scopeMetrics.flatMap((sm) => sm.metrics)
        .flatMap((m) => (/^(http|rpc)\.(server|client)\.(request\.)?duration$/.test(m.name) && m.data.type === 'histogram' ? m.data.dataPoints : []))
        .reduce((n, p) => n + Number(p.count), 0);
      if (count > 0) metrics[String(rm.resource.attributes['service.name'])] = count;
    }
    return { spans, metrics };
  }

  it('per signal, by default: a traces exporter loses its spans, a metrics exporter its RED metrics; exports are never reported', () => {
    const t = make({});
    t.record(httpExchange({ target: '/before' }), serverOrigin(5));
    t.record(httpExchange({ method: 'POST', target: '/v1/traces', headers: [['host', '127.0.0.1:4318']] }), clientOrigin(5));
    t.record(httpExchange({ target: '/traced' }), serverOrigin(5));
    t.record(grpcExchange('/opentelemetry.proto.collector.metrics.v1.MetricsService/Export', 0), clientOrigin(6));
    t.record(httpExchange({ target: '/metered' }), serverOrigin(6));
    t.record(httpExchange({ method: 'POST', target: '/v1/logs?x=1' }), clientOrigin(8));
    t.record(httpExchange({ target: '/logged' }), serverOrigin(8));
    t.record(httpExchange({ method: 'GET', target: '/v1/traces' }), clientOrigin(7)); // a GET is no export
    // The receiving end of an export (a collector other than Sonde): not reported, not an exporter.
    t.record(grpcExchange('/opentelemetry.proto.collector.trace.v1.TraceService/Export', 0), serverOrigin(9));
    assert.deepEqual([5, 6, 7, 8, 9].map((pid) => t.otlpSignalsOf(pid)), [['traces'], ['metrics'], [], ['logs'], []]);
    assert.deepEqual(reported(t), {
      spans: { 'svc-5': ['/before'], 'svc-6': ['/metered'], 'svc-7': ['/v1/traces'], 'svc-8': ['/logged'] },
      metrics: { 'svc-5': 2, 'svc-7': 1, 'svc-8': 1 },
    });
    assert.equal(t.stats.otelInstrumented, 5, 'four export calls and the span of /traced');
    assert.equal(t.stats.otelInstrumentedMetrics, 1, '/metered');

    // pid 6 now exports traces too: nothing of it is reported any more; its earlier series stay.
    t.record(grpcExchange('/opentelemetry.proto.collector.trace.v1.TraceService/Export', 0), clientOrigin(6));
    t.record(httpExchange({ target: '/both' }), serverOrigin(6));
    t.record(grpcExchange('/helloworld.Greeter/SayHello', 0), clientOrigin(6));
    assert.deepEqual(t.otlpSignalsOf(6), ['metrics', 'traces']);
    assert.deepEqual(reported(t), { spans: {}, metrics: { 'svc-5': 2, 'svc-7': 1, 'svc-8': 1 } });
    assert.equal(t.stats.otelInstrumented, 8);
    assert.equal(t.stats.otelInstrumentedMetrics, 3);
  });
  it('are reported when exclude_otel_instrumented_services is false', () => {
    const t = make({ exclude_otel_instrumented_services: false });
    t.record(httpExchange({ method: 'POST', target: '/v1/traces' }), clientOrigin(5));
    t.record(httpExchange({ target: '/orders' }), serverOrigin(5));
    assert.equal(allSpans(t.drainSpans()).length, 2);
  });
});

describe('resolveTelemetryConfig', () => {
  it('fills defaults', () => {
    assert.deepEqual(resolveTelemetryConfig({}), DEFAULT_TELEMETRY_CONFIG);
    assert.equal(resolveTelemetryConfig({ routes: { unmatched: 'path' } }).routes.unmatched, 'path');
  });
  it('rejects bad options with the path of the option', () => {
    assert.throws(() => resolveTelemetryConfig({ trace: true }), /telemetry: unknown option "trace"/);
    assert.throws(() => resolveTelemetryConfig({ routes: { unmatched: 'smart' } }), /telemetry\.routes\.unmatched: expected one of heuristic, path/);
    assert.throws(() => resolveTelemetryConfig({ routes: { patterns: ['/ok', 'bad'] } }), /telemetry\.routes\.patterns\[1\]: .*must start with '\/'/);
    assert.throws(() => resolveTelemetryConfig({ buckets: { duration_seconds: [1, 0.5] } }), /strictly increasing/);
    assert.throws(() => resolveTelemetryConfig({ max_series_per_metric: 0 }), /positive integer/);
    assert.throws(() => resolveTelemetryConfig({ parent_based_sampling: 'yes' }), /expected true or false/);
  });
});
