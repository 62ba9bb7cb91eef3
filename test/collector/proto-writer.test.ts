// ProtoWriter must produce exactly the bytes protobufjs' Writer produces (canonical protobuf), for
// every method the OTLP encoder uses, across the length boundaries where its in-place length
// fix-up moves data (127/128 and 16383/16384 bytes) and for the UTF-8 corner cases.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import protobuf from 'protobufjs';
import { ProtoWriter } from '../../src/collector/pdata/proto-writer.js';

type Op = (w: any) => void;

function both(ops: Op[]): [Buffer, Buffer] {
  const ours = new ProtoWriter(16); // tiny initial buffer: exercises growth too
  const theirs = protobuf.Writer.create();
  for (const op of ops) { op(ours); op(theirs); }
  return [Buffer.from(ours.finish()), Buffer.from(theirs.finish())];
}

const strings = ['', 'a', 'é', '€', '😀', 'x'.repeat(42), 'x'.repeat(43), 'é'.repeat(42), '€'.repeat(42), '😀'.repeat(21), 'ü'.repeat(300), 'a😀b'.repeat(30)];

it('writes strings (ASCII, 2-, 3- and 4-byte UTF-8, both sides of the short-string limit) like protobufjs', () => {
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
