// ProtoWriter must produce exactly the bytes protobufjs' Writer produces (canonical protobuf), for
// every method the OTLP encoder uses, across the length boundaries where its in-place length
// fix-up moves data (127/128 and 16383/16384 bytes) and for the UTF-8 corner cases; whole OTLP
// requests (sync and sliced) must equal what the OpenTelemetry JS generated classes encode.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import protobuf from 'protobufjs';
import type { Span, Traces } from '../../src/collector/pdata/model.js';
import { ENCODE_SLICE_ITEMS } from '../../src/collector/pdata/otlp-proto.js';
import { encodeRequest, encodeRequestAsync } from '../../src/collector/pdata/otlp.js';
import { ProtoWriter } from '../../src/collector/pdata/proto-writer.js';
import { otelProto } from './helpers.js';

type Op = (w: any) => void;

function both(ops: Op[]): [Buffer, Buffer] {
  const ours = new ProtoWriter(16); // tiny initial buffer: exercises growth too
  const theirs = protobuf.Writer.create();
  for (const op of ops) { op(ours); op(theirs); }
  return [Buffer.from(ours.finish()), Buffer.from(theirs.finish())];
}

const strings = [
  '', 'a', 'é', '€', '😀', 'x'.repeat(42), 'x'.repeat(43), 'é'.repeat(42), '€'.repeat(42), '😀'.repeat(21), 'ü'.repeat(300), 'a😀b'.repeat(30),
  // byte lengths at the one/two-byte length boundary, encoded by the loop (≤ 512 units)
  'x'.repeat(127), 'x'.repeat(128), 'é'.repeat(63) + 'x', 'é'.repeat(64), '€'.repeat(170), 'x'.repeat(512),
  // by Buffer (> 512 units): the reserved worst-case length is too long (content moves left) or exact
  'x'.repeat(513), 'x'.repeat(6000), 'x'.repeat(16383), 'x'.repeat(16384), '€'.repeat(5462), 'ü'.repeat(9000) + '😀'.repeat(100), 'é\ud800'.repeat(400),
];

it('writes strings (ASCII, 2-, 3- and 4-byte UTF-8, both sides of the in-place limit and of length boundaries) like protobufjs', () => {
  for (const s of strings) {
    const [a, b] = both([(w) => w.uint32(10).string(s)]);
    assert.deepEqual(a, b, JSON.stringify(s));
  }
  // A lone surrogate becomes U+FFFD, as Buffer encodes it.
  const [lone] = both([(w) => w.string('a\ud800b')]);
  assert.deepEqual(lone, Buffer.concat([Buffer.from([5]), Buffer.from('a\ufffdb')]));
});

it('writes varints, fixed and double values like protobufjs', () => {
  const [a, b] = both([
    (w) => w.uint32(0).uint32(127).uint32(128).uint32(2 ** 32 - 1).uint32(300),
    (w) => w.int32(-1).int32(7).int32(-(2 ** 31)),
    (w) => w.sint32(-1).sint32(1).sint32(-(2 ** 31)).sint32(2 ** 31 - 1),
    (w) => w.uint64(2 ** 40 + 5).uint64(0),
    (w) => w.fixed32(0xdeadbeef).fixed32(1).double(3.25).double(-0).bool(true).bool(false),
    (w) => w.bytes(new Uint8Array([1, 2, 255])).bytes(new Uint8Array(200).fill(7)),
  ]);
  assert.deepEqual(a, b);
  // int64: safe numbers, negatives and bigints beyond 2^53, against protobufjs with Longs.
  const values = [0n, 1n, 2n ** 53n + 1n, -1n, -(2n ** 63n), 2n ** 63n - 1n];
  for (const v of values) {
    const ours = new ProtoWriter().int64(v).finish();
    const u = BigInt.asUintN(64, v);
    const theirs = protobuf.Writer.create().int64(new (protobuf.util.Long as any)(Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0, false)).finish();
    assert.deepEqual(Buffer.from(ours), Buffer.from(theirs), String(v));
  }
  assert.deepEqual(Buffer.from(new ProtoWriter().int64(-5).finish()), Buffer.from(protobuf.Writer.create().int64(-5).finish()));
});

it('closes nested messages of every length class, including ones that move their content', () => {
  for (const size of [0, 1, 126, 127, 128, 129, 16383, 16384, 20000, 2_097_152]) {
    const payload = new Uint8Array(size).fill(0x61);
    const [a, b] = both([
      (w) => w.uint32(10).fork(),
      (w) => w.uint32(18).fork().uint32(8).uint32(1).ldelim(),
      (w) => { if (size > 0) w.uint32(26).bytes(payload); },
      (w) => w.uint32(34).fork().uint32(42).fork().string('deep').ldelim().ldelim(),
      (w) => w.ldelim(),
      (w) => w.uint32(16).uint32(9),
    ]);
    assert.deepEqual(a, b, `payload of ${size} bytes`);
  }
});

it('encodes hex ids as bytes and is reusable after an unbalanced message', () => {
  const w = new ProtoWriter();
  assert.deepEqual(Buffer.from(w.uint32(10).hexBytes('5B8EFFF798038103d269b633813fc60c').finish()), Buffer.from('0a105b8efff798038103d269b633813fc60c', 'hex'));
  w.uint32(10).fork();
  assert.throws(() => w.finish(), /nested messages still open/);
  assert.deepEqual(Buffer.from(w.reset().uint32(8).uint32(1).finish()), Buffer.from([8, 1]));
  assert.throws(() => new ProtoWriter().ldelim(), /ldelim\(\) without fork\(\)/);
});

it('keeps the bytes finish() returned, whether it handed over its buffer or copied out of it', () => {
  const w = new ProtoWriter();
  const big = Buffer.from(w.uint32(10).string('b'.repeat(100_000)).finish()); // fills its buffer: handed over
  const bigView = new ProtoWriter().uint32(10).string('b'.repeat(100_000)).finish();
  const small = w.uint32(10).string('s').finish(); // a mostly-empty buffer: copied out, kept as scratch
  for (let i = 0; i < 5; i++) new ProtoWriter().uint32(10).string('z'.repeat(90_000 + i)).finish(); // reuse scratch space
  assert.deepEqual(Buffer.from(bigView), big);
  assert.deepEqual(Buffer.from(small), Buffer.from([10, 1, 0x73]));
  w.raw(new Uint8Array([1, 2, 3])).raw(new Uint8Array(300).fill(9));
  assert.deepEqual(Buffer.from(w.finish()), Buffer.concat([Buffer.from([1, 2, 3]), Buffer.alloc(300, 9)]));
});

/** Spans with repeated keys, non-ASCII and empty keys and values, and strings of every length class. */
function manySpans(count: number): Traces {
  const spans: Span[] = [];
  for (let i = 0; i < count; i++) {
    spans.push({
      traceId: (i + 1).toString(16).padStart(32, '0'), spanId: (i + 1).toString(16).padStart(16, '0'), traceState: i % 7 ? '' : 'k=v',
      parentSpanId: i % 3 ? '' : 'eee19b7ec3c1b173', flags: 0 /* the generated classes predate Span.flags */, name: i % 2 ? `GET /ünïcødé/${i}` : 'POST /😀', kind: 2,
      startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(i), endTimeUnixNano: 1_700_000_000_001_000_000n + BigInt(i),
      attributes: {
        'http.request.method': 'GET', 'url.path': `/items/${i}`, 'http.response.status_code': 200 + (i % 5), '': 'empty key', 'empty.value': '',
        'clé.été': '€'.repeat(i % 50), '键': '值', [`k${i % 3000}`]: i % 11 === 0 ? 'x'.repeat(600 + i % 200) : i, 'ratio': i / 7, 'ok': i % 2 === 0,
        ['k'.repeat(130)]: 'a key too long to cache', 'list': ['a', 1, 'ü'],
      },
      droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: i % 3, message: i % 3 === 2 ? 'fäil' : '' },
    });
  }
  const resource = { attributes: { 'service.name': 'svc-ü', 'process.pid': 42 }, droppedAttributesCount: 0 };
  const scope = { name: 'sonde', version: '1', attributes: {}, droppedAttributesCount: 0 };
  return { resourceSpans: [0, 1].map((r) => ({ resource, schemaUrl: '', scopeSpans: [{ scope, schemaUrl: '', spans: spans.filter((_, i) => i % 2 === r) }] })) };
}

it('encodes large requests (sync and sliced) to exactly the bytes of the OpenTelemetry JS generated classes', async () => {
  const td = manySpans(3 * ENCODE_SLICE_ITEMS + 17); // several slices, a pause inside a scope
  const ours = Buffer.from(encodeRequest('traces', td, 'proto'));
  const Request = otelProto.collector.trace.v1.ExportTraceServiceRequest;
  assert.deepEqual(Buffer.from(Request.encode(Request.decode(ours)).finish()), ours);
  const [a, b] = await Promise.all([encodeRequestAsync('traces', td, 'proto'), encodeRequestAsync('traces', manySpans(5), 'proto')]); // interleaved
  assert.deepEqual(a, ours);
  assert.deepEqual(Buffer.from(Request.encode(Request.decode(b)).finish()), b);
  assert.equal(Request.decode(ours).resourceSpans[0].scopeSpans[0].spans.length, Math.ceil((3 * ENCODE_SLICE_ITEMS + 17) / 2));
});

it('lets the event loop run between slices of a large request', async () => {
  let ranDuringEncode = 0;
  const ticker = setInterval(() => { ranDuringEncode++; }, 0);
  const immediates = new Promise<void>((resolve) => setImmediate(() => { ranDuringEncode++; resolve(); }));
  const body = await encodeRequestAsync('traces', manySpans(4 * ENCODE_SLICE_ITEMS), 'proto');
  const seen = ranDuringEncode;
  clearInterval(ticker);
  await immediates;
  assert.ok(seen >= 1, 'nothing else ran while 4 slices were encoded');
  assert.ok(body.length > 4 * ENCODE_SLICE_ITEMS * 100);
});
