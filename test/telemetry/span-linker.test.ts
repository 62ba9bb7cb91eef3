import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Span } from '../../src/collector/pdata/model.js';
import type { ExchangeOrigin, HeaderList } from '../../src/protocols/exchange.js';
import { ExchangeTelemetry } from '../../src/telemetry/exchange-telemetry.js';
import type { ServiceIdentity, ServiceIdentitySource } from '../../src/telemetry/service-identity.js';
import { httpExchange, MS } from './exchanges.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const P = 'b7ad6b7169203331';
const TP: HeaderList = [['host', 'localhost'], ['traceparent', `00-${TRACE}-${P}-01`]];

class Names implements ServiceIdentitySource {
  constructor(private readonly names: Record<number, string>) {}
  identify(pid: number): ServiceIdentity {
    const name = this.names[pid] ?? `pid-${pid}`;
    return { key: String(pid), serviceName: name, resource: { attributes: { 'service.name': name }, droppedAttributesCount: 0 } };
  }
}

const T0 = process.hrtime.bigint();
const at = (ms: number) => T0 + BigInt(ms) * MS;
const conn = (role: 'server' | 'client', pid: number, localPort: number, remotePort: number): ExchangeOrigin =>
  ({ role, pid, localAddress: '127.0.0.1', localPort, remoteAddress: role === 'server' ? '::ffff:127.0.0.1' : '127.0.0.1', remotePort });

function spansByService(t: ExchangeTelemetry): Record<string, Span[]> {
  const out: Record<string, Span[]> = {};
  for (const rs of t.drainSpans().resourceSpans) out[String(rs.resource.attributes['service.name'])] = rs.scopeSpans[0]!.spans;
  return out;
}

describe('span linking within a batch', () => {
  it('curl → nginx (forwarding traceparent) → node: one trace, each span the child of the one before', () => {
    const t = new ExchangeTelemetry({}, { identity: new Names({ 10: 'curl', 20: 'nginx', 30: 'node' }) });
    // Recorded in completion order: innermost first.
    t.record(httpExchange({ headers: TP, startNs: at(11), durationMs: 78 }), conn('server', 30, 3000, 40001));
    t.record(httpExchange({ headers: TP, startNs: at(10), durationMs: 80 }), conn('client', 20, 40001, 3000));
    t.record(httpExchange({ headers: TP, startNs: at(1), durationMs: 98 }), conn('server', 20, 8080, 40000));
    t.record(httpExchange({ headers: TP, startNs: at(0), durationMs: 100 }), conn('client', 10, 40000, 8080));
    const s = spansByService(t);
    const curl = s.curl![0]!;
    const nginxServer = s.nginx!.find((x) => x.kind === 2)!;
    const nginxClient = s.nginx!.find((x) => x.kind === 3)!;
    const node = s.node![0]!;
    for (const span of [curl, nginxServer, nginxClient, node]) assert.equal(span.traceId, TRACE);
    assert.equal(curl.spanId, P);
    assert.equal(nginxServer.parentSpanId, P);
    assert.notEqual(nginxClient.spanId, P, 'the forwarded header does not duplicate the caller span id');
    assert.equal(nginxClient.parentSpanId, nginxServer.spanId);
    assert.equal(node.parentSpanId, nginxClient.spanId);
    assert.equal(new Set([curl, nginxServer, nginxClient, node].map((x) => x.spanId)).size, 4);
    assert.equal(t.stats.forwardedTraceparents, 1);
    assert.equal(t.stats.linkedByConnection, 1);
  });

  it('without any headers, a same-host server span joins its client span, call by call on a keep-alive connection', () => {
    const t = new ExchangeTelemetry({}, { identity: new Names({ 10: 'frontend', 30: 'backend' }) });
    const plain: HeaderList = [['host', 'localhost:3000']];
    for (const start of [0, 200]) {
      t.record(httpExchange({ headers: plain, startNs: at(start + 1), durationMs: 50 }), conn('server', 30, 3000, 41000));
      t.record(httpExchange({ headers: plain, startNs: at(start), durationMs: 52 }), conn('client', 10, 41000, 3000));
    }
    // An unrelated server call on another connection stays a root span.
    t.record(httpExchange({ headers: plain, startNs: at(2), durationMs: 10 }), conn('server', 30, 3000, 41999));
    const s = spansByService(t);
    const clients = s.frontend!.sort((a, b) => Number(a.startTimeUnixNano - b.startTimeUnixNano));
    const servers = s.backend!.filter((x) => x.parentSpanId !== '').sort((a, b) => Number(a.startTimeUnixNano - b.startTimeUnixNano));
    assert.equal(servers.length, 2);
    servers.forEach((server, i) => {
      assert.equal(server.traceId, clients[i]!.traceId);
      assert.equal(server.parentSpanId, clients[i]!.spanId);
    });
    assert.equal(s.backend!.filter((x) => x.parentSpanId === '').length, 1);
    assert.equal(t.stats.linkedByConnection, 2);
  });

  it('thousands of calls on one connection: each server span joins the innermost client span containing it', () => {
    const t = new ExchangeTelemetry({ max_pending_spans: 100_000 }, { identity: new Names({ 10: 'frontend', 30: 'backend' }) });
    const plain: HeaderList = [['host', 'localhost:3000']];
    const calls = 5000;
    for (let i = 0; i < calls; i++) {
      const start = 10 + 10 * i;
      t.record(httpExchange({ headers: plain, startNs: at(start + 1), durationMs: 3 }), conn('server', 30, 3000, 41000));
      t.record(httpExchange({ headers: plain, startNs: at(start), durationMs: 5 }), conn('client', 10, 41000, 3000));
    }
    // A long call (a stream) on the same connection contains all of them, the short ones are
    // innermost; it completes last, so the connection's client spans are not in start order.
    t.record(httpExchange({ headers: plain, startNs: at(0), durationMs: 10 * calls + 100 }), conn('client', 10, 41000, 3000));
    // Between two short calls, only the long one contains this server span.
    t.record(httpExchange({ headers: plain, startNs: at(16), durationMs: 3 }), conn('server', 30, 3000, 41000));
    const s = spansByService(t);
    const byStart = (a: Span, b: Span) => Number(a.startTimeUnixNano - b.startTimeUnixNano);
    const [long, ...clients] = s.frontend!.sort((a, b) => Number(b.endTimeUnixNano - b.startTimeUnixNano - (a.endTimeUnixNano - a.startTimeUnixNano)) || byStart(a, b));
    const servers = s.backend!.sort(byStart);
    assert.equal(servers.length, calls + 1);
    assert.equal(servers[1]!.startTimeUnixNano - servers[0]!.startTimeUnixNano, 5n * MS, 'the server span between two short calls');
    assert.equal(servers[1]!.parentSpanId, long!.spanId);
    servers.splice(1, 1);
    servers.forEach((server, i) => {
      assert.equal(server.parentSpanId, clients[i]!.spanId, `server call ${i}`);
      assert.equal(server.traceId, clients[i]!.traceId);
    });
    assert.equal(t.stats.linkedByConnection, calls + 1);
  });
});
