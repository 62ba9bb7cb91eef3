import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanKind, StatusCode, type Span } from '../../src/collector/pdata/model.js';
import type { Exchange, ExchangeOrigin } from '../../src/protocols/exchange.js';
import { MonotonicClock } from '../../src/telemetry/clock.js';
import { describeGrpc, describeHttp, parseAuthority } from '../../src/telemetry/exchange-facts.js';
import { SpanFactory } from '../../src/telemetry/spans.js';
import { toJson } from '../helpers/json.js';
import { clientOrigin, grpcExchange, httpExchange, MS, serverOrigin } from './exchanges.js';

const clock = new MonotonicClock();
const factory = new SpanFactory(clock, { parentBasedSampling: true });
/** The span the façade would emit, or undefined when parent-based sampling drops it. */
function http(ex: Exchange, origin: ExchangeOrigin, route: string | undefined, f = factory): Span | undefined {
  const ids = f.spanIds(ex.request.headers, origin.role);
  return ids.sampled ? f.httpSpan(ex, origin, describeHttp(ex, origin), route, ids) : undefined;
}
function grpc(ex: Exchange, origin: ExchangeOrigin): Span | undefined {
  const ids = factory.spanIds(ex.request.headers, origin.role);
  return ids.sampled ? factory.grpcSpan(ex, origin, describeGrpc(ex, origin), ids) : undefined;
}

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT = 'b7ad6b7169203331';

describe('HTTP server span', () => {
  const ex = httpExchange({
    method: 'POST', target: '/users/42?token=secret', requestBody: 1024, responseBody: 57, status: 201, durationMs: 30,
    headers: [['host', 'shop.local:8443'], ['user-agent', 'curl/8.5.0'], ['x-forwarded-for', '203.0.113.9, 10.0.0.1']],
  });
  const span = http(ex, serverOrigin(), '/users/{id}')!;

  it('is named METHOD route, SERVER kind, with wall-clock times 30 ms apart', () => {
    assert.equal(span.name, 'POST /users/{id}');
    assert.equal(span.kind, SpanKind.SERVER);
    assert.equal(span.endTimeUnixNano - span.startTimeUnixNano, 30n * MS);
    const nowNs = BigInt(Date.now()) * MS;
    assert.ok(span.startTimeUnixNano > nowNs - 5000n * MS && span.startTimeUnixNano < nowNs + 5000n * MS);
  });

  it('carries the semantic-convention attributes, and never the query string', () => {
    assert.deepEqual(span.attributes, {
      'http.request.method': 'POST',
      'url.path': '/users/42',
      'url.scheme': 'http',
      'http.route': '/users/{id}',
      'http.response.status_code': 201,
      'server.address': 'shop.local',
      'server.port': 8443,
      'client.address': '203.0.113.9',
      'network.peer.address': '127.0.0.1',
      'network.peer.port': 51234,
      'network.protocol.version': '1.1',
      'network.transport': 'tcp',
      'network.type': 'ipv4',
      'user_agent.original': 'curl/8.5.0',
      'http.request.body.size': 1024,
      'http.response.body.size': 57,
    });
    assert.ok(!toJson(span).includes('secret'));
  });

  it('starts a new trace without traceparent', () => {
    assert.match(span.traceId, /^[0-9a-f]{32}$/);
    assert.match(span.spanId, /^[0-9a-f]{16}$/);
    assert.equal(span.parentSpanId, '');
    assert.equal(span.flags & 0xff, 1);
  });

  it('uses the local address and port without a Host header; client.address is the peer', () => {
    const s = http(httpExchange({ version: 'HTTP/1.0', headers: [] }), serverOrigin(), undefined)!;
    assert.equal(s.name, 'GET');
    assert.equal(s.attributes['server.address'], '127.0.0.1');
    assert.equal(s.attributes['server.port'], 8080);
    assert.equal(s.attributes['client.address'], '127.0.0.1');
    assert.equal(s.attributes['network.protocol.version'], '1.0');
    assert.equal(s.attributes['http.route'], undefined);
  });

  it('behind a proxy: Forwarded, then X-Forwarded-* give client.address, url.scheme and server.address', () => {
    const fwd = http(httpExchange({ headers: [['host', 'internal:8080'], ['forwarded', 'for="[2001:db8:cafe::17]:4711";proto=https;host=shop.example, for=10.0.0.1']] }), serverOrigin(), undefined)!;
    assert.equal(fwd.attributes['client.address'], '2001:db8:cafe::17');
    assert.equal(fwd.attributes['url.scheme'], 'https');
    assert.equal(fwd.attributes['server.address'], 'shop.example');
    const xf = http(httpExchange({ headers: [['host', 'internal:8080'], ['x-forwarded-proto', 'https'], ['x-forwarded-host', 'api.example:443'], ['x-forwarded-for', '198.51.100.7']] }), serverOrigin(), undefined)!;
    assert.equal(xf.attributes['client.address'], '198.51.100.7');
    assert.equal(xf.attributes['url.scheme'], 'https');
    assert.equal(xf.attributes['server.address'], 'api.example');
    assert.equal(xf.attributes['server.port'], 443);
    const client = http(httpExchange({ headers: [['host', 'up:9000'], ['x-forwarded-host', 'ignored.example']] }), clientOrigin(), undefined)!;
    assert.equal(client.attributes['server.address'], 'up', 'client spans describe where the request went');
  });

  it('reports unknown methods as _OTHER with the original', () => {
    const s = http(httpExchange({ method: 'PURGE' }), serverOrigin(), '/users/{id}')!;
    assert.equal(s.attributes['http.request.method'], '_OTHER');
    assert.equal(s.attributes['http.request.method_original'], 'PURGE');
    assert.equal(s.name, 'HTTP /users/{id}');
  });
});

describe('traceparent join', () => {
  it('a SERVER span takes the trace id and parent from the header, with a new span id and the tracestate', () => {
    const ex = httpExchange({ headers: [['host', 'a'], ['traceparent', `00-${TRACE}-${PARENT}-01`], ['tracestate', 'congo=t61rcWkgMzE']] });
    const s = http(ex, serverOrigin(), undefined)!;
    assert.equal(s.traceId, TRACE);
    assert.equal(s.parentSpanId, PARENT);
    assert.notEqual(s.spanId, PARENT);
    assert.equal(s.traceState, 'congo=t61rcWkgMzE');
    assert.equal(s.flags & 0xff, 1);
    assert.equal(s.flags & 0x300, 0x300, 'OTLP flags say the parent is remote');
  });

  it('a CLIENT span takes trace id AND span id from the header it sent; its parent is unknown', () => {
    const ex = httpExchange({ headers: [['host', 'b:9000'], ['traceparent', `00-${TRACE}-${PARENT}-01`]] });
    const s = http(ex, clientOrigin(), undefined)!;
    assert.equal(s.kind, SpanKind.CLIENT);
    assert.equal(s.traceId, TRACE);
    assert.equal(s.spanId, PARENT);
    assert.equal(s.parentSpanId, '');
  });

  it('respects sampled=0 (parent-based) unless configured otherwise', () => {
    const ex = httpExchange({ headers: [['traceparent', `00-${TRACE}-${PARENT}-00`]] });
    assert.equal(http(ex, serverOrigin(), undefined), undefined);
    const all = new SpanFactory(clock, { parentBasedSampling: false });
    const s = http(ex, serverOrigin(), undefined, all)!;
    assert.equal(s.traceId, TRACE);
    assert.equal(s.flags & 0xff, 0, 'the sampled flag is carried as received');
  });

  it('ignores an invalid traceparent and counts it', () => {
    const f = new SpanFactory(clock, { parentBasedSampling: true });
    const ex = httpExchange({ headers: [['traceparent', `00-${'0'.repeat(32)}-${PARENT}-01`]] });
    const s = http(ex, serverOrigin(), undefined, f)!;
    assert.notEqual(s.traceId, '0'.repeat(32));
    assert.equal(s.parentSpanId, '');
    assert.equal(f.invalidTraceparents, 1);
  });
});

describe('HTTP status rules', () => {
  const status = (code: number, origin: ExchangeOrigin): Span => http(httpExchange({ status: code }), origin, undefined)!;
  it('server: 404 is UNSET, 500 is ERROR with error.type', () => {
    assert.equal(status(404, serverOrigin()).status.code, StatusCode.UNSET);
    assert.equal(status(404, serverOrigin()).attributes['error.type'], undefined);
    const s = status(500, serverOrigin());
    assert.equal(s.status.code, StatusCode.ERROR);
    assert.equal(s.attributes['error.type'], '500');
  });
  it('client: 404 is ERROR, 302 is UNSET', () => {
    const s = status(404, clientOrigin());
    assert.equal(s.status.code, StatusCode.ERROR);
    assert.equal(s.attributes['error.type'], '404');
    assert.equal(status(302, clientOrigin()).status.code, StatusCode.UNSET);
  });
  it('no response: ERROR with the reason as error.type, no status code', () => {
    const s = http(httpExchange({ noResponse: true, error: 'reset' }), serverOrigin(), undefined)!;
    assert.equal(s.status.code, StatusCode.ERROR);
    assert.equal(s.attributes['error.type'], 'reset');
    assert.equal(s.attributes['http.response.status_code'], undefined);
    assert.match(s.status.message, /reset/);
  });
});

describe('HTTP client span', () => {
  it('has url.full without query, server.* from Host', () => {
    const s = http(httpExchange({ target: '/api/v1/items?id=3', headers: [['host', 'inventory:8081']] }), clientOrigin(), '/api/v1/items')!;
    assert.equal(s.attributes['url.full'], 'http://inventory:8081/api/v1/items');
    assert.equal(s.attributes['server.address'], 'inventory');
    assert.equal(s.attributes['server.port'], 8081);
    assert.equal(s.attributes['client.address'], undefined);
  });
  it('falls back to the remote address (IPv6 bracketed) and handles absolute-form targets', () => {
    const v6: ExchangeOrigin = { role: 'client', pid: 1, localAddress: '::1', localPort: 40000, remoteAddress: '::1', remotePort: 8080, family: 6 };
    const s = http(httpExchange({ target: '/x', headers: [] }), v6, undefined)!;
    assert.equal(s.attributes['url.full'], 'http://[::1]:8080/x');
    assert.equal(s.attributes['network.type'], 'ipv6');
    const proxied = http(httpExchange({ target: 'http://example.test:8000/p?q=1', headers: [] }), clientOrigin(), undefined)!;
    assert.equal(proxied.attributes['url.full'], 'http://example.test:8000/p');
    assert.equal(proxied.attributes['url.path'], '/p');
  });
  it('parses authorities', () => {
    assert.deepEqual(parseAuthority('[::1]:80'), { host: '::1', port: 80 });
    assert.deepEqual(parseAuthority('Example.COM'), { host: 'example.com', port: undefined });
    assert.equal(parseAuthority('host:99999'), undefined);
  });
});

describe('HTTP/2 (non-gRPC)', () => {
  it('becomes an HTTP span with protocol version 2 and :authority', () => {
    const s = http(httpExchange({ version: '2', headers: [[':authority', 'h2.local:8443']] }), serverOrigin(), '/users/{id}')!;
    assert.equal(s.name, 'GET /users/{id}');
    assert.equal(s.attributes['network.protocol.version'], '2');
    assert.equal(s.attributes['server.address'], 'h2.local');
  });
});

describe('gRPC spans', () => {
  it('are named by the full method with rpc.* attributes', () => {
    const s = grpc(grpcExchange('/helloworld.Greeter/SayHello', 0), serverOrigin())!;
    assert.equal(s.name, 'helloworld.Greeter/SayHello');
    assert.equal(s.attributes['rpc.system'], 'grpc');
    assert.equal(s.attributes['rpc.service'], 'helloworld.Greeter');
    assert.equal(s.attributes['rpc.method'], 'SayHello');
    assert.equal(s.attributes['rpc.grpc.status_code'], 0);
    assert.equal(s.attributes['server.address'], 'localhost');
    assert.equal(s.attributes['server.port'], 50051);
    assert.equal(s.attributes['network.protocol.version'], '2');
    assert.equal(s.status.code, StatusCode.UNSET);
  });

  it('server: NOT_FOUND(5) is UNSET, INTERNAL(13) is ERROR; client: NOT_FOUND is ERROR', () => {
    assert.equal(grpc(grpcExchange('/p.S/M', 5), serverOrigin())!.status.code, StatusCode.UNSET);
    const internal = grpc(grpcExchange('/p.S/M', 13, { grpcMessage: 'boom' }), serverOrigin())!;
    assert.equal(internal.status.code, StatusCode.ERROR);
    assert.equal(internal.status.message, 'boom');
    assert.equal(internal.attributes['error.type'], 'INTERNAL');
    const client = grpc(grpcExchange('/p.S/M', 5), clientOrigin())!;
    assert.equal(client.status.code, StatusCode.ERROR);
    assert.equal(client.attributes['error.type'], 'NOT_FOUND');
  });

  it('a cancelled stream without trailers is CANCELLED(1)', () => {
    const s = grpc(grpcExchange('/p.S/M', undefined, { error: 'cancelled' }), clientOrigin())!;
    assert.equal(s.attributes['rpc.grpc.status_code'], 1);
    assert.equal(s.status.code, StatusCode.ERROR);
  });

  it('join the caller trace through traceparent metadata', () => {
    const ex = grpcExchange('/p.S/M', 0, { headers: [[':authority', 'x:1'], ['traceparent', `00-${TRACE}-${PARENT}-01`]] });
    const s = grpc(ex, serverOrigin())!;
    assert.equal(s.traceId, TRACE);
    assert.equal(s.parentSpanId, PARENT);
  });
});
