import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionStreams, StreamReassembler } from '../../src/capture/index.js';
import type { PayloadEvent } from '../../src/ebpf/index.js';

const enc = new TextEncoder();
/** A packet of `text` at sequence number `seq`, fully captured (head = all bytes). */
const pkt = (seq: number, text: string, tsNs = 0n) => ({ seq: seq >>> 0, length: text.length, head: enc.encode(text), tail: new Uint8Array(), tsNs });
const str = (segs: { head: Uint8Array }[]) => segs.map((s) => Buffer.from(s.head).toString()).join('');

test('in-order packets become contiguous segments from offset 0', () => {
  const r = new StreamReassembler();
  const a = r.push(pkt(1000, 'GET / HTTP/1.1\r\n'));
  const b = r.push(pkt(1016, 'Host: x\r\n\r\n'));
  assert.deepEqual([...a, ...b].map((s) => [s.offset, s.length]), [[0, 16], [16, 11]]);
  assert.equal(str([...a, ...b]), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
});

test('retransmits are dropped, partial overlaps trimmed', () => {
  const r = new StreamReassembler();
  r.push(pkt(1, 'abcdef'));
  assert.deepEqual(r.push(pkt(1, 'abcdef')), []);
  assert.deepEqual(r.push(pkt(3, 'cd')), []);
  const s = r.push(pkt(5, 'efghij'));
  assert.deepEqual(s.map((x) => [x.offset, x.length, Buffer.from(x.head).toString()]), [[6, 4, 'ghij']]);
  assert.equal(r.stats.duplicates, 2);
  assert.equal(r.stats.overlapsTrimmed, 1);
});

test('out-of-order packets wait for the gap, then come out in order', () => {
  const r = new StreamReassembler();
  r.push(pkt(100, 'aaaa'));
  assert.deepEqual(r.push(pkt(108, 'cccc')), []);
  assert.deepEqual(r.push(pkt(108, 'cccc')), [], 'a duplicate of a held packet');
  const s = r.push(pkt(104, 'bbbb'));
  assert.equal(str(s), 'bbbbcccc');
  assert.deepEqual(s.map((x) => x.offset), [4, 8]);
  assert.equal(r.stats.outOfOrder, 1);
  assert.equal(r.stats.duplicates, 1);
});

test('sequence numbers wrap at 2^32 and offsets keep growing', () => {
  const r = new StreamReassembler();
  const start = 2 ** 32 - 6;
  const s = [...r.push(pkt(start, 'abcdef')), ...r.push(pkt(0, 'ghij')), ...r.push(pkt(4, 'kl'))];
  assert.deepEqual(s.map((x) => x.offset), [0, 6, 10]);
  assert.equal(str(s), 'abcdefghijkl');
  // Out of order across the wrap.
  const r2 = new StreamReassembler();
  r2.push(pkt(start, 'abcdef'));
  assert.deepEqual(r2.push(pkt(4, 'kl')), []);
  assert.equal(str(r2.push(pkt(0, 'ghij'))), 'ghijkl');
});

test('a gap is skipped when the window overflows or waits too long; the offset jumps', () => {
  const r = new StreamReassembler({ maxPending: 2 });
  r.push(pkt(0, 'aa'));
  assert.deepEqual(r.push(pkt(10, 'xx')), []);
  assert.deepEqual(r.push(pkt(12, 'yy')), []);
  const s = r.push(pkt(14, 'zz'));
  assert.deepEqual(s.map((x) => [x.offset, Buffer.from(x.head).toString()]), [[10, 'xx'], [12, 'yy'], [14, 'zz']]);
  assert.equal(r.stats.gapsSkipped, 1);
  assert.deepEqual(r.push(pkt(2, 'late')), [], 'bytes of a skipped gap are old news');

  const t = new StreamReassembler({ maxGapWaitNs: 1000n });
  t.push(pkt(0, 'aa', 0n));
  assert.deepEqual(t.push(pkt(5, 'bb', 10n)), []);
  assert.equal(str(t.push(pkt(9, 'cc', 2000n))), 'bb', 'the held segment comes out when the gap times out');
  assert.deepEqual(t.flush().map((x) => x.offset), [9]);
});

test('head/tail of partially captured packets are kept and trimmed consistently', () => {
  const r = new StreamReassembler();
  const tail = enc.encode('0\r\n\r\n');
  const [s] = r.push({ seq: 50, length: 5000, head: enc.encode('HTTP/1.1 200 OK'), tail, tsNs: 1n });
  assert.equal(s!.length, 5000);
  assert.equal(Buffer.from(s!.tail).toString(), '0\r\n\r\n');
  // A retransmit covering the last 5 bytes plus 5 new ones keeps only the new part.
  const [t] = r.push({ seq: 50 + 4995, length: 10, head: enc.encode('\r\n\r\nabcde'.padStart(10, '0')), tail: new Uint8Array(), tsNs: 2n });
  assert.deepEqual([t!.offset, t!.length], [5000, 5]);
});

test('framed HTTP/2 records: one segment per extent, skipped bytes as holes and segments without bytes', () => {
  const r = new StreamReassembler();
  const none = new Uint8Array();
  // A packet of 1000 bytes: 14 copied (a DATA header + prefix), 956 skipped, 30 copied (trailers).
  const a = r.push({ seq: 5000, length: 1000, head: enc.encode('h'.repeat(14) + 't'.repeat(30)), tail: none, tsNs: 1n,
    extents: [{ offset: 0, length: 14 }, { offset: 970, length: 30 }] });
  // A record reaching back over 3000 bytes of skipped DATA (packets the kernel did not report) to 20 copied bytes.
  const b = r.push({ seq: 6000, length: 3020, head: enc.encode('x'.repeat(20)), tail: none, tsNs: 2n, extents: [{ offset: 3000, length: 20 }] });
  // A record that only says a skipped DATA payload ended.
  const c = r.push({ seq: 9020, length: 500, head: none, tail: none, tsNs: 3n, extents: [] });
  assert.deepEqual([...a, ...b, ...c].map((s) => [s.offset, s.length, Buffer.from(s.head).toString()[0] ?? '', s.head.length]),
    [[0, 970, 'h', 14], [970, 30, 't', 30], [1000, 3000, '', 0], [4000, 20, 'x', 20], [4020, 500, '', 0]]);
  assert.equal(r.nextOffset, 4520);
  assert.equal(r.stats.outOfOrder + r.stats.gapsSkipped, 0);
});

test('ConnectionStreams: one stream per connection and direction, closed and evicted a connection at a time', () => {
  const ev = (cookie: bigint, direction: 'ingress' | 'egress', seq: number, text: string) =>
    ({ ...pkt(seq, text), cookie, direction }) as unknown as PayloadEvent;
  const streams = new ConnectionStreams({ maxStreams: 4 });
  assert.equal(str(streams.push(ev(1n, 'ingress', 10, 'GET '))), 'GET ');
  assert.equal(str(streams.push(ev(1n, 'egress', 500, 'HTTP'))), 'HTTP');
  assert.equal(str(streams.push(ev(1n, 'ingress', 14, '/ x'))), '/ x', 'the same direction continues its stream');
  assert.equal(str(streams.push(ev(2n, 'ingress', 50, 'late'))), 'late', 'a new stream starts at its first byte');
  assert.equal(streams.get(2n, 'ingress')?.nextOffset, 4);
  assert.equal(streams.push(ev(2n, 'egress', 90, 'abcd')).length, 1);
  assert.equal(streams.size, 4);
  assert.equal(streams.get(1n, 'ingress')?.nextOffset, 7);
  // Held out-of-order bytes come back on close, per direction.
  assert.deepEqual(streams.push(ev(2n, 'egress', 98, 'later')), []);
  const held = streams.close(2n);
  assert.deepEqual([held.ingress.length, str(held.egress)], [0, 'later']);
  assert.equal(streams.size, 2);
  assert.deepEqual(streams.close(2n), { ingress: [], egress: [] }, 'closing twice is harmless');
  // At the bound the oldest connection goes, both directions at once, never the one being fed.
  streams.push(ev(3n, 'ingress', 0, 'a'));
  streams.push(ev(3n, 'egress', 0, 'b'));
  streams.push(ev(4n, 'ingress', 0, 'c'));
  assert.equal(streams.get(1n, 'ingress'), undefined);
  assert.equal(streams.get(1n, 'egress'), undefined);
  assert.deepEqual([streams.size, streams.get(3n, 'egress')?.nextOffset, streams.get(4n, 'ingress')?.nextOffset], [3, 1, 1]);
});
