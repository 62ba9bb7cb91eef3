// Fuzz (about 3 s in total): random bytes, mutated valid conversations, random HPACK blocks and
// Huffman strings. Nothing may throw, and tracked state stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Http2Connection } from '../../../src/protocols/http2/index.js';
import { HpackDecoder } from '../../../src/protocols/hpack/decoder.js';
import { decodeHuffman, huffmanDecodedMaxLength } from '../../../src/protocols/hpack/huffman.js';
import type { Direction } from '../../../src/protocols/segment.js';
import { prng } from '../../helpers/prng.js';
import { conversation } from './h2-builder.js';

const MAX_STREAMS = 50;

function feedRandomly(conn: Http2Connection, dir: Direction, bytes: Uint8Array, rnd: () => number, offset: { v: number }): void {
  let at = 0;
  while (at < bytes.length) {
    const n = 1 + Math.floor(rnd() * Math.min(bytes.length - at, 2000));
    const hole = rnd() < 0.1 && n > 20 ? Math.floor(rnd() * (n - 10)) : 0;
    const headLen = hole ? Math.floor(rnd() * (n - hole)) : n;
    const tailLen = hole ? n - hole - headLen : 0;
    const gap = rnd() < 0.02 ? Math.floor(rnd() * 50) : 0;
    offset.v += gap;
    conn.push(dir, {
      offset: offset.v, length: n, head: bytes.slice(at, at + headLen), tail: bytes.slice(at + n - tailLen, at + n),
      timestampNs: BigInt(offset.v),
    });
    offset.v += n;
    at += n;
  }
}

function checkBounded(conn: Http2Connection): void {
  assert.ok(conn.openStreams <= MAX_STREAMS);
  const s = conn.stats;
  assert.ok(Number.isFinite(s.bytes) && s.bytes >= 0);
}

function timed(ms: number, body: (i: number) => void): number {
  const end = Date.now() + ms;
  let i = 0;
  while (Date.now() < end) body(i++);
  return i;
}

test('random bytes into connections (all start modes) never throw', () => {
  const rnd = prng(2024);
  const runs = timed(700, (i) => {
    const conn = new Http2Connection({ role: (['server', 'client', 'unknown'] as const)[i % 3], seenFromStart: i % 2 === 0, maxStreams: MAX_STREAMS });
    const off = { ingress: { v: 0 }, egress: { v: 0 } };
    for (let k = 0; k < 4; k++) {
      const bytes = Uint8Array.from({ length: Math.floor(rnd() * 3000) }, () => Math.floor(rnd() * 256));
      const dir: Direction = rnd() < 0.5 ? 'ingress' : 'egress';
      feedRandomly(conn, dir, bytes, rnd, off[dir]);
    }
    conn.close(1n);
    checkBounded(conn);
  });
  assert.ok(runs > 10);
});

test('mutated valid conversations never throw and never emit undecodable requests', () => {
  const rnd = prng(99);
  const { client, server } = conversation();
  timed(900, () => {
    const mutate = (src: Uint8Array) => {
      const b = Uint8Array.from(src);
      const flips = 1 + Math.floor(rnd() * 8);
      for (let k = 0; k < flips; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      if (rnd() < 0.3) return b.subarray(Math.floor(rnd() * b.length)); // truncated front
      return b;
    };
    const conn = new Http2Connection({ role: 'client', maxStreams: MAX_STREAMS });
    const exchanges = [];
    const off = { ingress: { v: 0 }, egress: { v: 0 } };
    feedRandomly(conn, 'egress', mutate(client), rnd, off.egress);
    feedRandomly(conn, 'ingress', mutate(server), rnd, off.ingress);
    exchanges.push(...conn.close(5n));
    for (const e of exchanges) {
      assert.equal(typeof e.request.method, 'string');
      assert.equal(e.request.version, '2');
    }
    checkBounded(conn);
  });
});

test('random HPACK blocks: errors are reported, never thrown; table stays within its maximum', () => {
  const rnd = prng(5);
  timed(700, (i) => {
    const d = new HpackDecoder({ synchronised: i % 2 === 0, maxTableSize: i % 3 === 0 ? 256 : 4096 });
    for (let k = 0; k < 8; k++) {
      const block = Uint8Array.from({ length: Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256));
      const r = d.decode(block);
      assert.ok(r.fields.length + r.unresolved <= block.length);
      assert.ok(d.tableSize <= Math.max(d.tableMaxSize, 0) || !d.isSynchronised);
    }
  });
});

test('random Huffman strings decode or fail cleanly within the output bound', () => {
  const rnd = prng(11);
  timed(500, () => {
    const src = Uint8Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256));
    const out = new Uint8Array(huffmanDecodedMaxLength(src.length));
    const n = decodeHuffman(src, 0, src.length, out);
    assert.ok(n >= -1 && n <= out.length);
  });
});
