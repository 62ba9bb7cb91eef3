import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, ROOT_CONTEXT, trace, TraceFlags, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { extractTraceContext, IdGenerator, parseTraceParent, parseTraceState } from '../../src/telemetry/trace-context.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

describe('parseTraceParent', () => {
  it('parses a version 00 header', () => {
    assert.deepEqual(parseTraceParent(`00-${TRACE}-${PARENT}-01`), { version: '00', traceId: TRACE, spanId: PARENT, flags: 1, sampled: true });
    assert.equal(parseTraceParent(`00-${TRACE}-${PARENT}-00`)?.sampled, false);
    assert.equal(parseTraceParent(`  00-${TRACE}-${PARENT}-01 `)?.traceId, TRACE, 'surrounding whitespace is tolerated');
  });

  const invalid: Record<string, string> = {
    'uppercase hex': `00-${TRACE.toUpperCase()}-${PARENT}-01`,
    'all-zero trace id': `00-${'0'.repeat(32)}-${PARENT}-01`,
    'all-zero parent id': `00-${TRACE}-${'0'.repeat(16)}-01`,
    'version ff': `ff-${TRACE}-${PARENT}-01`,
    'version 00 with trailing data': `00-${TRACE}-${PARENT}-01-extra`,
    'short trace id': `00-${TRACE.slice(1)}-${PARENT}-01`,
    'non-hex flags': `00-${TRACE}-${PARENT}-0g`,
    'wrong separator': `00_${TRACE}-${PARENT}-01`,
    'future version glued trailing data': `01-${TRACE}-${PARENT}-01x`,
    empty: '',
  };
  for (const [why, header] of Object.entries(invalid)) {
    it(`rejects ${why}`, () => assert.equal(parseTraceParent(header), undefined));
  }

  it('accepts future versions with extra fields, reading only the sampled bit of their flags', () => {
    const tp = parseTraceParent(`cc-${TRACE}-${PARENT}-09-what-the-future-brings`);
    assert.deepEqual(tp, { version: 'cc', traceId: TRACE, spanId: PARENT, flags: 1, sampled: true });
  });

  it('agrees with the OpenTelemetry JS propagator on every vector', () => {
    const propagator = new W3CTraceContextPropagator();
    const getter: TextMapGetter<Record<string, string>> = { get: (c, k) => c[k], keys: (c) => Object.keys(c) };
    const vectors = [...Object.values(invalid), `00-${TRACE}-${PARENT}-01`, `00-${TRACE}-${PARENT}-00`, `cc-${TRACE}-${PARENT}-01-x`];
    for (const header of vectors) {
      const sc = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, { traceparent: header }, getter));
      const ours = parseTraceParent(header);
      assert.equal(ours?.traceId, sc?.traceId, `trace id for ${JSON.stringify(header)}`);
      assert.equal(ours?.spanId, sc?.spanId, `span id for ${JSON.stringify(header)}`);
      if (sc) assert.equal(ours!.sampled, (sc.traceFlags & TraceFlags.SAMPLED) !== 0);
    }
  });

  it('reads a header injected by the OpenTelemetry JS propagator', () => {
    const propagator = new W3CTraceContextPropagator();
    const carrier: Record<string, string> = {};
    const setter: TextMapSetter<Record<string, string>> = { set: (c, k, v) => { c[k] = v; } };
    const spanContext = { traceId: TRACE, spanId: PARENT, traceFlags: TraceFlags.SAMPLED, isRemote: false };
    propagator.inject(trace.setSpanContext(context.active(), spanContext), carrier, setter);
    const got = extractTraceContext(Object.entries(carrier));
    assert.equal(got?.traceId, TRACE);
    assert.equal(got?.spanId, PARENT);
    assert.equal(got?.sampled, true);
  });
});

describe('parseTraceState', () => {
  it('keeps a valid header as received', () => {
    assert.equal(parseTraceState('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'), 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    assert.equal(parseTraceState('tenant@vendor=x, ,other=y'), 'tenant@vendor=x, ,other=y');
  });
  it('drops malformed or oversized headers entirely', () => {
    assert.equal(parseTraceState('no-equals-sign'), '');
    assert.equal(parseTraceState('UPPER=1'), '');
    assert.equal(parseTraceState('k=a,b'), '');
    const members = Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',');
    assert.equal(parseTraceState(members), '', '33 members is over the limit of 32');
    assert.equal(parseTraceState(`k=${'v'.repeat(600)}`), '');
  });
});

describe('extractTraceContext', () => {
  it('joins several tracestate headers and ignores duplicated traceparents', () => {
    const ctx = extractTraceContext([['traceparent', `00-${TRACE}-${PARENT}-01`], ['tracestate', 'a=1'], ['tracestate', 'b=2']]);
    assert.equal(ctx?.traceState, 'a=1,b=2');
    assert.equal(extractTraceContext([['traceparent', `00-${TRACE}-${PARENT}-01`], ['traceparent', `00-${TRACE}-${PARENT}-01`]]), undefined);
    assert.equal(extractTraceContext([['host', 'x']]), undefined);
  });
});

describe('IdGenerator', () => {
  it('produces distinct, well-formed, non-zero ids across pool refills', () => {
    const ids = new IdGenerator(64);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const t = ids.traceId();
      const s = ids.spanId();
      assert.match(t, /^[0-9a-f]{32}$/);
      assert.match(s, /^[0-9a-f]{16}$/);
      assert.ok(parseTraceParent(`00-${t}-${s}-01`), 'ids are valid in a traceparent');
      seen.add(t);
    }
    assert.equal(seen.size, 2000);
  });
});
