// bench/support/trace-check, the verdict of bench/whole-traces: a correct chain of spans is whole,
// and each way of breaking it (a hop missing, a wrong parent, a split trace, a copied or colliding
// span id, an extra span, a malformed id) moves the figure that names it and makes the request not
// whole. A check that passes everything would make the benchmark prove nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CheckSpan, checkTraces, commonProblems, type Hop, requestIdOf } from '../../bench/support/trace-check.js';

/** load → a → b, every call a CLIENT span in the caller and a SERVER span in the callee. */
const HOPS: Hop[] = [
  { service: 'load', kind: 'CLIENT' },
  { service: 'a', kind: 'SERVER' },
  { service: 'a', kind: 'CLIENT' },
  { service: 'b', kind: 'SERVER' },
];

const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');
const traceIdOf = (request: number) => hex(0xabc000 + request, 32);
const spanIdOf = (request: number, hop: number) => hex(0x1000 * (request + 1) + hop + 1, 16);

/** The spans of one correctly linked request `id`: one per hop, each the child of the one before. */
function chain(request: number): CheckSpan[] {
  return HOPS.map((h, i) => ({
    traceId: traceIdOf(request),
    spanId: spanIdOf(request, i),
    parentSpanId: i === 0 ? '' : spanIdOf(request, i - 1),
    kind: h.kind,
    service: h.service,
    path: `/r/${request}`,
    startNs: 1_000_000n * BigInt(request) + BigInt(i),
    endNs: 1_000_000n * BigInt(request) + BigInt(100 - i),
  }));
}

const REQUESTS = 5;
const ids = Array.from({ length: REQUESTS }, (_, i) => String(i));
const correct = () => ids.flatMap((_, i) => chain(i));

/** Every figure except the verdict list. */
function figures(spans: CheckSpan[], requestIds = ids) {
  const { verdicts: _verdicts, ...rest } = checkTraces(spans, HOPS, requestIds);
  return rest;
}

const clean = { requests: REQUESTS, wholeTraces: REQUESTS, share: 100, orphanFragments: 0, duplicateSpans: 0, spanIdCollisions: 0, missingHops: 0, wrongParents: 0, extraSpans: 0, invalidIds: 0 };

/** The correct spans with span `hop` of request 2 replaced by `change(span)` (or removed when it returns undefined). */
function breakSpan(hop: number, change: (s: CheckSpan) => CheckSpan | undefined): CheckSpan[] {
  const spans = correct();
  const at = spans.findIndex((s) => s.path === '/r/2' && s.spanId === spanIdOf(2, hop));
  const replaced = change({ ...spans[at]! });
  if (replaced) spans[at] = replaced;
  else spans.splice(at, 1);
  return spans;
}

describe('checkTraces', () => {
  it('counts every request of a correct chain as whole', () => {
    assert.deepEqual(figures(correct()), clean);
    assert.ok(checkTraces(correct(), HOPS, ids).verdicts.every((v) => v.whole && v.problems.length === 0));
  });

  it('accepts OTLP kind numbers, upper-case hex ids and bigint or number times', () => {
    const spans = correct().map((s) => ({ ...s, kind: s.kind === 'SERVER' ? 2 : 3, traceId: s.traceId.toUpperCase(), startNs: Number(s.startNs) }));
    assert.deepEqual(figures(spans), clean);
  });

  it('accepts a first hop whose parent is outside the request (a caller it does not know)', () => {
    assert.deepEqual(figures(breakSpan(0, (s) => ({ ...s, parentSpanId: 'feedfeedfeedfeed' }))), clean);
  });

  it('counts a missing hop', () => {
    const r = checkTraces(breakSpan(2, () => undefined), HOPS, ids);
    assert.equal(r.missingHops, 1);
    assert.equal(r.wholeTraces, REQUESTS - 1);
    assert.equal(r.share, 80);
    assert.deepEqual(r.verdicts[2]!.problems.map((p) => p.code), ['missing-hop']);
    assert.equal(r.verdicts[2]!.problems[0]!.hop, 'a CLIENT');
  });

  it('counts a request that produced no span at all: it stays in the denominator with every hop missing', () => {
    const spans = correct().filter((s) => s.path !== '/r/4');
    assert.deepEqual(figures(spans), { ...clean, wholeTraces: REQUESTS - 1, share: 80, missingHops: HOPS.length });
    assert.deepEqual(figures(correct(), [...ids, 'never-sent']), { ...clean, requests: REQUESTS + 1, wholeTraces: REQUESTS, share: (100 * REQUESTS) / (REQUESTS + 1), missingHops: HOPS.length });
  });

  it('counts a hop whose parent is another span of its trace than the previous hop', () => {
    // b SERVER claims a SERVER as its parent, skipping a CLIENT.
    const r = figures(breakSpan(3, (s) => ({ ...s, parentSpanId: spanIdOf(2, 1) })));
    assert.deepEqual(r, { ...clean, wholeTraces: REQUESTS - 1, share: 80, wrongParents: 1 });
  });

  it('counts a hop whose parent is a span that does not exist', () => {
    assert.deepEqual(figures(breakSpan(1, (s) => ({ ...s, parentSpanId: '0123456789abcdef' }))), { ...clean, wholeTraces: REQUESTS - 1, share: 80, wrongParents: 1 });
  });

  it('counts a hop reported as a root of its own trace: an orphan fragment and a wrong parent', () => {
    const r = checkTraces(breakSpan(2, (s) => ({ ...s, traceId: hex(0xdead, 32), parentSpanId: '' })), HOPS, ids);
    // a CLIENT is cut off from a SERVER, and b SERVER is in another trace than its parent a CLIENT.
    assert.equal(r.orphanFragments, 1);
    assert.equal(r.wrongParents, 2);
    assert.equal(r.wholeTraces, REQUESTS - 1);
    assert.deepEqual(new Set(r.verdicts[2]!.problems.map((p) => p.code)), new Set(['wrong-parent', 'fragmented']));
  });

  it('counts a parent link whose span id is right but whose trace id is another', () => {
    const spans = correct().map((s) => (s.path === '/r/3' && s.service === 'b' ? { ...s, traceId: hex(0xbeef, 32) } : s));
    assert.deepEqual(figures(spans), { ...clean, wholeTraces: REQUESTS - 1, share: 80, orphanFragments: 1, wrongParents: 1 });
  });

  it('counts each extra trace id of a request', () => {
    // Every hop in a trace of its own: 3 fragments beyond the first, 3 broken links.
    const spans = correct().map((s, i) => (s.path === '/r/1' ? { ...s, traceId: hex(0x7000 + i, 32) } : s));
    assert.deepEqual(figures(spans), { ...clean, wholeTraces: REQUESTS - 1, share: 80, orphanFragments: 3, wrongParents: 3 });
  });

  it('counts a span reported twice: a duplicate span id, an extra span, and no collision', () => {
    const spans = correct();
    spans.push({ ...spans.find((s) => s.path === '/r/0' && s.service === 'b')! });
    const r = checkTraces(spans, HOPS, ids);
    assert.equal(r.duplicateSpans, 1);
    assert.equal(r.spanIdCollisions, 0);
    assert.equal(r.extraSpans, 1);
    assert.equal(r.wholeTraces, REQUESTS - 1);
    assert.ok(!r.verdicts[0]!.whole);
  });

  it('counts a hop reported twice with different span ids (e.g. by an SDK and by eBPF) as an extra span', () => {
    const spans = correct();
    spans.push({ ...spans.find((s) => s.path === '/r/1' && s.service === 'b')!, spanId: 'aaaaaaaaaaaaaaaa', startNs: 7n });
    assert.deepEqual(figures(spans), { ...clean, wholeTraces: REQUESTS - 1, share: 80, extraSpans: 1 });
  });

  it('counts a span id that two different spans carry as a collision, and neither request is whole', () => {
    // Request 3's a SERVER gets request 1's a SERVER span id: another trace, another path.
    const spans = correct().map((s) => (s.path === '/r/3' && s.spanId === spanIdOf(3, 1) ? { ...s, spanId: spanIdOf(1, 1) } : s));
    const r = checkTraces(spans, HOPS, ids);
    assert.equal(r.duplicateSpans, 1);
    assert.equal(r.spanIdCollisions, 1);
    // Request 3's a CLIENT now names a parent that is not its a SERVER's span id.
    assert.equal(r.wrongParents, 1);
    assert.ok(!r.verdicts[1]!.whole);
    assert.ok(!r.verdicts[3]!.whole);
    assert.equal(r.wholeTraces, REQUESTS - 2);
    assert.ok(r.verdicts[1]!.problems.some((p) => p.code === 'shared-span-id'));
  });

  it('counts a span id reused with the same content but another trace id as a collision', () => {
    const spans = correct();
    spans.push({ ...spans[0]!, traceId: hex(0x5555, 32) });
    const r = figures(spans);
    assert.equal(r.duplicateSpans, 1);
    assert.equal(r.spanIdCollisions, 1);
    assert.equal(r.orphanFragments, 1);
  });

  it('counts span ids shared with spans outside the requests (no chain path) too', () => {
    const spans = correct();
    spans.push({ ...spans[5]!, path: '/metrics', kind: 'SERVER', service: 'other' });
    const r = checkTraces(spans, HOPS, ids);
    assert.equal(r.duplicateSpans, 1);
    assert.equal(r.spanIdCollisions, 1);
    assert.equal(r.extraSpans, 0);
    assert.equal(r.wholeTraces, REQUESTS - 1);
  });

  it('counts a span of an unexpected service or kind as an extra span', () => {
    const spans = correct();
    spans.push({ ...spans[0]!, spanId: 'bbbbbbbbbbbbbbbb', service: 'nginx' });
    assert.deepEqual(figures(spans), { ...clean, wholeTraces: REQUESTS - 1, share: 80, extraSpans: 1 });
  });

  it('counts a hop with the wrong kind as missing plus extra', () => {
    assert.deepEqual(figures(breakSpan(3, (s) => ({ ...s, kind: 'CLIENT' }))), { ...clean, wholeTraces: REQUESTS - 1, share: 80, missingHops: 1, extraSpans: 1 });
  });

  it('counts a hop with the wrong service as missing plus extra', () => {
    assert.deepEqual(figures(breakSpan(1, (s) => ({ ...s, service: 'python3' }))), { ...clean, wholeTraces: REQUESTS - 1, share: 80, missingHops: 1, extraSpans: 1 });
  });

  it('counts a first hop whose parent is a span of its own request (a cycle) as a wrong parent', () => {
    assert.deepEqual(figures(breakSpan(0, (s) => ({ ...s, parentSpanId: spanIdOf(2, 3) }))), { ...clean, wholeTraces: REQUESTS - 1, share: 80, wrongParents: 1 });
  });

  it('does not let malformed ids pass as one trace', () => {
    // Every span of request 2 with an empty trace id: they still share it and link by span id.
    const spans = correct().map((s) => (s.path === '/r/2' ? { ...s, traceId: '' } : s));
    assert.deepEqual(figures(spans), { ...clean, wholeTraces: REQUESTS - 1, share: 80, invalidIds: HOPS.length });
    const zeros = correct().map((s) => (s.path === '/r/0' ? { ...s, traceId: '0'.repeat(32) } : s));
    assert.equal(figures(zeros).invalidIds, HOPS.length);
    assert.equal(figures(zeros).wholeTraces, REQUESTS - 1);
    assert.equal(figures(breakSpan(3, (s) => ({ ...s, spanId: 'xyz' }))).invalidIds, 1);
  });

  it('groups spans by the id in /r/<id> only and ignores requests it was not asked about', () => {
    const spans = correct();
    spans.push({ ...spans[0]!, spanId: 'cccccccccccccccc', path: '/r/2/extra' });
    spans.push({ ...spans[0]!, spanId: 'dddddddddddddddd', path: '/r/warmup-1' });
    spans.push({ ...spans[0]!, spanId: 'eeeeeeeeeeeeeeee', path: undefined });
    assert.deepEqual(figures(spans), clean);
  });

  it('rejects a hop list it could not judge and repeated request ids', () => {
    assert.throws(() => checkTraces([], [], ids), /empty/);
    assert.throws(() => checkTraces([], [...HOPS, { service: 'a', kind: 'SERVER' }], ids), /"a SERVER" is listed twice/);
    assert.throws(() => checkTraces([], HOPS, ['1', '1']), /listed twice/);
  });

  it('reports zero share for zero requests', () => {
    assert.equal(checkTraces([], HOPS, []).share, 0);
  });
});

describe('requestIdOf', () => {
  it('reads the id of /r/<id> paths only', () => {
    assert.equal(requestIdOf('/r/17'), '17');
    assert.equal(requestIdOf('/r/w-3'), 'w-3');
    assert.equal(requestIdOf('/r/'), undefined);
    assert.equal(requestIdOf('/r/1/2'), undefined);
    assert.equal(requestIdOf('/x/1'), undefined);
    assert.equal(requestIdOf(undefined), undefined);
  });
});

describe('commonProblems', () => {
  it('ranks problems by the requests they hit, once per request', () => {
    const spans = correct().filter((s) => !(s.service === 'b' && s.path !== '/r/0'));
    spans.push(...chain(1).slice(3).map((s) => ({ ...s, spanId: 'ffffffffffffffff' })), { ...chain(1)[3]!, spanId: 'fffffffffffffff0' });
    const top = commonProblems(checkTraces(spans, HOPS, ids));
    assert.deepEqual(top[0], { problem: 'missing-hop b SERVER', requests: REQUESTS - 2 });
    assert.deepEqual(top[1], { problem: 'extra-span b SERVER', requests: 1 });
  });
});
