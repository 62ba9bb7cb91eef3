// TraceLinker: trace context decided at request start from headers, same-host peers and in-process
// parents; proxies that forward the caller's header; processes that trace themselves (SDK joins).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExchangeOrigin, HeaderList, StartedRequest } from '../../src/protocols/exchange.js';
import { MonotonicClock } from '../../src/telemetry/clock.js';
import { SpanFactory } from '../../src/telemetry/spans.js';
import { TraceLinker, type TraceJoin } from '../../src/telemetry/trace-linker.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER = 'b7ad6b7169203331';
const tp = (trace: string, span: string, flags = '01'): HeaderList => [['traceparent', `00-${trace}-${span}-${flags}`]];

const origin = (role: 'server' | 'client', connectionId: number, pid = 100): ExchangeOrigin => ({
  role, pid, connectionId, localAddress: '127.0.0.1', localPort: 1, remoteAddress: '127.0.0.1', remotePort: 2, family: 4,
});
const started = (role: 'server' | 'client', connectionId: number, headers: HeaderList = [], links: Partial<Pick<StartedRequest, 'parent' | 'peer'>> = {}, sequence = 1): StartedRequest =>
  ({ start: { sequence, headers, startNs: 1n }, origin: origin(role, connectionId), ...links });

function linker(onJoin?: (j: TraceJoin) => void, max = 100): TraceLinker {
  return new TraceLinker(new SpanFactory(new MonotonicClock(), { parentBasedSampling: true }), max, onJoin);
}

describe('TraceLinker', () => {
  it('a server request joins its traceparent, or its same-host peer, or starts a trace', () => {
    const l = linker();
    l.start(started('server', 1, tp(TRACE, CALLER)));
    const joined = l.end(1, 1)!;
    assert.deepEqual([joined.traceId, joined.parentSpanId, joined.incomingSpanId], [TRACE, CALLER, CALLER]);

    l.start(started('client', 2));
    l.start(started('server', 3, [], { peer: { connectionId: 2, sequence: 1 } }));
    const client = l.end(2, 1)!;
    const server = l.end(3, 1)!;
    assert.equal(server.traceId, client.traceId);
    assert.equal(server.parentSpanId, client.spanId);
    assert.equal(l.stats.linkedByConnection, 1);

    l.start(started('server', 4));
    const root = l.end(4, 1)!;
    assert.equal(root.parentSpanId, '');
    assert.notEqual(root.traceId, client.traceId);
    assert.equal(l.end(4, 1), undefined, 'a context is handed out once');
  });

  it('a call made while serving a request is its child, with a new span id; inferred links say so', () => {
    const l = linker();
    l.start(started('server', 1, tp(TRACE, CALLER)));
    l.start(started('client', 2, [], { parent: { connectionId: 1, sequence: 1, inferred: false } }));
    l.start(started('client', 3, [], { parent: { connectionId: 1, sequence: 1, inferred: true } }));
    const server = l.end(1, 1)!;
    const exact = l.end(2, 1)!;
    const inferred = l.end(3, 1)!;
    for (const call of [exact, inferred]) {
      assert.equal(call.traceId, TRACE);
      assert.equal(call.parentSpanId, server.spanId);
      assert.notEqual(call.spanId, server.spanId);
    }
    assert.deepEqual([exact.inferred, inferred.inferred], [false, true]);
    assert.deepEqual([l.stats.linkedInProcess, l.stats.linkedInProcessInferred], [1, 1]);
  });

  it('a proxy forwarding its caller\'s traceparent: the call gets a new id under the proxy\'s server span', () => {
    const l = linker();
    l.start(started('server', 1, tp(TRACE, CALLER)));
    l.start(started('client', 2, tp(TRACE, CALLER), { parent: { connectionId: 1, sequence: 1, inferred: true } }));
    // The upstream server's request carries the forwarded header too: its parent is the proxy's call, not the header's span.
    l.start(started('server', 3, tp(TRACE, CALLER), { peer: { connectionId: 2, sequence: 1 } }));
    const proxy = l.end(1, 1)!;
    const upstream = l.end(2, 1)!;
    assert.equal(upstream.parentSpanId, proxy.spanId);
    assert.notEqual(upstream.spanId, CALLER, 'never the caller\'s span id twice');
    assert.equal(l.stats.forwardedTraceparents, 1);
    const behind = l.end(3, 1)!;
    assert.deepEqual([behind.traceId, behind.parentSpanId, behind.incomingSpanId], [TRACE, upstream.spanId, CALLER]);
  });

  it('a forwarded header names its request even when the in-process parent was inferred wrongly', () => {
    const l = linker();
    const OTHER = 'c7ad6b7169203332';
    l.start(started('server', 1, tp(TRACE, CALLER)));
    l.start(started('server', 2, tp(TRACE, OTHER)));
    // An event loop's call forwarding request 1's header, inferred (wrongly) to serve request 2.
    const selfTraced = l.start(started('client', 3, tp(TRACE, CALLER), { parent: { connectionId: 2, sequence: 1, inferred: true } }));
    assert.equal(selfTraced, false, 'forwarding is not tracing');
    const one = l.end(1, 1)!;
    const call = l.end(3, 1)!;
    assert.equal(call.parentSpanId, one.spanId);
    assert.equal(call.inferred, false);
  });

  it('a process that makes its own traceparent while serving traces itself: its SDK trace is joined to the caller\'s', () => {
    const joins: TraceJoin[] = [];
    const l = linker((j) => joins.push(j));
    const SDK_TRACE = '11111111111111111111111111111111';
    const SDK_CLIENT = '2222222222222222';
    l.start(started('client', 1)); // the uninstrumented caller's call, no header
    l.start(started('server', 2, [], { peer: { connectionId: 1, sequence: 1 } }));
    const selfTraced = l.start(started('client', 3, tp(SDK_TRACE, SDK_CLIENT), { parent: { connectionId: 2, sequence: 1, inferred: true } }));
    assert.equal(selfTraced, true);
    const caller = l.end(1, 1)!;
    assert.deepEqual(joins, [{ sdkTraceId: SDK_TRACE, traceId: caller.traceId, parentSpanId: caller.spanId }]);
    // Downstream of the SDK's call: the server span lands in the caller's trace, under the SDK's client span.
    l.start(started('server', 4, tp(SDK_TRACE, SDK_CLIENT)));
    const downstream = l.end(4, 1)!;
    assert.deepEqual([downstream.traceId, downstream.parentSpanId], [caller.traceId, SDK_CLIENT]);
    assert.equal(l.stats.traceJoins, 1);
  });

  it('a call with a traceparent and no parent keeps the header as its own context; unsampled parents pass it on', () => {
    const l = linker();
    l.start(started('client', 1, tp(TRACE, CALLER)));
    const own = l.end(1, 1)!;
    assert.deepEqual([own.traceId, own.spanId, own.parentSpanId], [TRACE, CALLER, '']);
    l.start(started('server', 2, tp(TRACE, CALLER, '00')));
    l.start(started('client', 3, [], { parent: { connectionId: 2, sequence: 1, inferred: false } }));
    assert.equal(l.end(3, 1)!.sampled, false);
  });

  it('holds at most maxContexts started requests, forgetting the oldest', () => {
    const l = linker(undefined, 2);
    for (let c = 1; c <= 3; c++) l.start(started('server', c));
    assert.equal(l.end(1, 1), undefined);
    assert.ok(l.end(2, 1) && l.end(3, 1));
  });
});
