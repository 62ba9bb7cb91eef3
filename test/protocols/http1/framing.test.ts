import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Http1Connection } from '../../../src/protocols/http1/index.js';
import type { CapturedSegment, Direction } from '../../../src/protocols/segment.js';
import { concatBytes } from '../../../src/protocols/bytes.js';
import { bytes, packet, packetsAt, packetsOf } from '../../helpers/segments.js';
import { brief, feed, run } from './segments.js';

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: h\r\n\r\n`;
const MB = 1 << 20;

function body(n: number, seed = 7): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; b[i] = x >>> 24; }
  return b;
}

const ev = (dir: Direction, segs: CapturedSegment[]) => segs.map((s): [Direction, CapturedSegment] => [dir, s]);

test('a 1 MB response seen only through 256-byte heads of 64 KB packets, then the next exchange', () => {
  const conn = new Http1Connection({ role: 'server' });
  const res = concatBytes([bytes(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${MB}\r\n\r\n`), body(MB), bytes('HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found')]);
  const req = bytes(GET('/big') + GET('/missing'));
  const resSegs = packetsOf(res, 65536, { ts0: 2000n, capture: 256 });
  assert.ok(resSegs.every((s) => s.head.length <= 256 && s.tail.length <= 16));
  const x = run(conn, [...ev('ingress', packetsAt(req, [], { ts0: 1000n })), ...ev('egress', resSegs)], false);
  assert.deepEqual(x.map(brief), [`GET /big 0 -> 200 ${MB}`, 'GET /missing 0 -> 404 9']);
  // The 1 MB body ends inside the 17th packet, which also carries the 404's start.
  const lastBodyByte = res.length - 'HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found'.length - 1;
  assert.equal(x[0]!.response!.endNs, 2000n + BigInt(Math.floor(lastBodyByte / 65536)));
  assert.equal(conn.stats.unseenBytes > MB - 17 * 272, true);
  assert.equal(conn.stats.resyncs + conn.stats.malformed + conn.stats.unparseable, 0);
});

test('a 1 MB POST body in holes and a lost packet (gap) inside it: exact body size, next request in sync', () => {
  const conn = new Http1Connection({ role: 'server' });
  const post = concatBytes([bytes(`POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: ${MB}\r\n\r\n`), body(MB)]);
  const req = concatBytes([post, bytes(GET('/next'))]);
  const cuts: number[] = [];
  for (let o = 1448 * 40; o < post.length; o += 1448 * 40) cuts.push(o);
  const segs = packetsAt(req, [...cuts, post.length], { capture: 128 });
  segs.splice(5, 1); // a lost packet: the next segment's offset jumps
  const res = bytes('HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  const x = run(conn, [...ev('ingress', segs), ...ev('egress', packetsAt(res, [], { ts0: 5000n }))]);
  assert.deepEqual(x.map(brief), [`POST /upload ${MB} -> 201 0`, 'GET /next 0 -> 200 2']);
  assert.equal(conn.stats.resyncs, 0);
});

test('chunked response fully captured: chunk sizes, extensions and trailers', () => {
  const res = bytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n' +
    'a;name=val\r\n0123456789\r\n' + '1F\r\n' + 'z'.repeat(31) + '\r\n' + '0\r\nX-Checksum: 1\r\n\r\n' +
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  for (let cut = 1; cut < res.length; cut++) {
    const c = new Http1Connection({ role: 'server' });
    const x = run(c, [...ev('ingress', packetsAt(bytes(GET('/c') + GET('/d')), [], { ts0: 1n })), ...ev('egress', packetsAt(res, [cut], { capture: 4096 }))], false);
    assert.deepEqual(x.map(brief), ['GET /c 0 -> 200 41', 'GET /d 0 -> 200 0'], `cut at ${cut}`);
  }
});

test('chunked body with holes inside chunk data: sizes are still exact', () => {
  const conn = new Http1Connection({ role: 'server' });
  const chunk = body(200000);
  const res = concatBytes([bytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), bytes('30d40\r\n'), chunk, bytes('\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n')]);
  // The last packet holds the end of the big chunk, the 16-byte chunk and the last chunk, all captured.
  const segs = packetsAt(res, [65536, 131072, res.length - 40], { capture: 256, ts0: 10n });
  const x = run(conn, [...ev('ingress', packetsAt(bytes(GET('/c')), [], { ts0: 1n })), ...ev('egress', segs)], false);
  assert.deepEqual(x.map(brief), ['GET /c 0 -> 200 200016']);
  assert.equal(x[0]!.response!.endNs, 10n + BigInt(segs.length - 1));
  assert.equal(conn.stats.unparseable, 0);
});

test('chunked body whose size lines fall into a hole ends at the captured tail terminator', () => {
  const conn = new Http1Connection({ role: 'server' });
  // 100 chunks of 1000 bytes: the size lines after the first packet's head are not captured.
  let s = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  for (let i = 0; i < 100; i++) s += '3e8\r\n' + 'k'.repeat(1000) + '\r\n';
  s += '0\r\n\r\n';
  const res = bytes(s);
  const next = bytes('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc');
  const segs = packetsOf(res, 30000, { capture: 256, ts0: 100n });
  const all = [...segs, { ...packet(next, 0, next.length, 999n), offset: res.length }];
  const x = run(conn, [...ev('ingress', packetsAt(bytes(GET('/chunky') + GET('/after')), [], { ts0: 1n })), ...ev('egress', all)], false);
  assert.equal(x.length, 2);
  assert.equal(brief(x[1]!), 'GET /after 0 -> 200 3');
  assert.equal(x[0]!.response!.status, 200);
  assert.equal(x[0]!.response!.endNs, 100n + BigInt(segs.length - 1), 'ends at the packet whose tail holds 0 CRLF CRLF');
  // Estimated body: exact for the visible chunks, plus the wire bytes of the unseen ones (size lines included).
  const size = x[0]!.response!.bodySize;
  assert.ok(size >= 100000 && size <= 100000 + 100 * 7, `body size estimate ${size}`);
  assert.equal(conn.stats.unparseable, 1);
});

test('HTTP/1.0 request without Content-Length has no body; a request with one is skipped by count', () => {
  const conn = new Http1Connection({ role: 'server' });
  const q = bytes('GET /a HTTP/1.0\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\n\r\n');
  const r = bytes('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'.repeat(3));
  assert.deepEqual(run(conn, [...ev('ingress', packetsAt(q, [], { ts0: 1n })), ...ev('egress', packetsAt(r, []))]).map(brief), ['GET /a 0 -> 200 0', 'POST /b 3 -> 200 0', 'GET /c 0 -> 200 0']);
});

test('headers split across many small segments', () => {
  const conn = new Http1Connection({ role: 'server' });
  const q = bytes('GET /split HTTP/1.1\r\nHost: split.test\r\nUser-Agent: ' + 'u'.repeat(3000) + '\r\nAccept: */*\r\n\r\n');
  const segs = packetsOf(q, 7, { ts0: 1n });
  const x = run(conn, [...ev('ingress', segs), ...ev('egress', packetsAt(bytes('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), [], { ts0: 9999n }))], false);
  assert.deepEqual(x.map(brief), ['GET /split 0 -> 200 0']);
  assert.equal(x[0]!.request.headers[0]![1], 'split.test');
  assert.equal(x[0]!.request.headers[1]![1], 'u'.repeat(1024), 'kept values are capped at 1 KiB');
  assert.equal(x[0]!.request.endNs, 1n + BigInt(segs.length - 1));
  assert.ok(conn.bufferedBytes === 0);
});

test('a header section in a hole: the exchange is built from the visible part, the next message resyncs', () => {
  const conn = new Http1Connection({ role: 'server' });
  // A browser-like request whose 3 KB of headers exceed the 256-byte capture; the tail ends with CRLF CRLF.
  const big = bytes('GET /page?id=7 HTTP/1.1\r\nHost: shop.test\r\nUser-Agent: Mozilla/5.0\r\nAuthorization: Bearer abc\r\nCookie: ' + 'c'.repeat(3000) + '\r\nAccept: text/html\r\n\r\n');
  const small = bytes(GET('/next'));
  const q = concatBytes([big, small]);
  const r = bytes('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB');
  const x = run(conn, [
    ...ev('ingress', packetsAt(q, [big.length], { capture: 256, ts0: 1n })),
    ...ev('egress', packetsAt(r, [], { ts0: 10n })),
  ], false);
  assert.deepEqual(x.map(brief), ['GET /page?id=7 0 -> 200 1', 'GET /next 0 -> 200 1']);
  assert.deepEqual(x[0]!.request.headers, [['host', 'shop.test'], ['user-agent', 'Mozilla/5.0']]);
  assert.equal(x[0]!.request.endNs, 1n, 'the empty line in the tail ended the request at its packet');
  assert.equal(conn.stats.unparseable, 1);
  assert.equal(conn.stats.resyncs, 0);
});

test('a response head in a hole: the exchange completes at the next response', () => {
  const conn = new Http1Connection({ role: 'server' });
  const r1 = bytes('HTTP/1.1 200 OK\r\nX-Padding: ' + 'p'.repeat(2000) + '\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\n' + 'b'.repeat(5000));
  const r2 = bytes('HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n');
  const res = concatBytes([r1, r2]);
  const segs = packetsAt(res, [4000, r1.length], { capture: 128, ts0: 20n });
  const x = run(conn, [...ev('ingress', packetsAt(bytes(GET('/1') + GET('/2')), [], { ts0: 1n })), ...ev('egress', segs)], false);
  assert.deepEqual(x.map((e) => [e.request.target, e.response?.status, e.response?.endNs]), [['/1', 200, 21n], ['/2', 500, 22n]]);
});

test('a request line longer than the capture: method and the visible target are kept', () => {
  const conn = new Http1Connection({ role: 'server' });
  const target = '/search?q=' + 'x'.repeat(500);
  const q = bytes(`GET ${target} HTTP/1.1\r\nHost: h\r\n\r\n`);
  const x = run(conn, [['ingress', packet(q, 0, q.length, 1n, 64)], ['egress', packet(bytes('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), 0, 38, 2n)]], false);
  assert.equal(x.length, 1);
  assert.equal(x[0]!.request.method, 'GET');
  assert.equal(x[0]!.request.target, target.slice(0, 60));
});

test('a header section larger than maxHeaderBytes is treated as not captured, memory stays bounded', () => {
  const conn = new Http1Connection({ role: 'server', maxHeaderBytes: 1024 });
  const q = bytes('GET /huge HTTP/1.1\r\nHost: h\r\n' + 'X-Filler: 0123456789\r\n'.repeat(400) + '\r\n');
  let maxBuffered = 0;
  for (const s of packetsOf(q, 100, { ts0: 1n })) { conn.push('ingress', s); maxBuffered = Math.max(maxBuffered, conn.bufferedBytes); }
  assert.ok(maxBuffered <= 1024, `buffered ${maxBuffered}`);
  const x = feed(conn, 'egress', packetsAt(bytes('HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n'), [], { ts0: 9n }));
  assert.deepEqual(x.map(brief), ['GET /huge 0 -> 431 0']);
  assert.deepEqual(x[0]!.request.headers, [['host', 'h']]);
});

test('the last byte of a body ending exactly at a hole boundary keeps the next message in sync', () => {
  const conn = new Http1Connection({ role: 'server' });
  const first = concatBytes([bytes('POST /p HTTP/1.1\r\nContent-Length: 1000\r\n\r\n'), body(1000)]);
  const q = concatBytes([first, bytes(GET('/q'))]);
  // One packet: its head, a hole over the body, and the first 16 bytes of the next request in the tail... then the rest.
  const segs = [packet(q, 0, first.length + 16, 1n, 64), { ...packet(q, first.length + 16, q.length - first.length - 16, 2n) }];
  const r = bytes('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'.repeat(2));
  const x = run(conn, [...ev('ingress', segs), ...ev('egress', packetsAt(r, [], { ts0: 3n }))], false);
  assert.deepEqual(x.map(brief), ['POST /p 1000 -> 200 0', 'GET /q 0 -> 200 0']);
  assert.equal(x[1]!.request.startNs, 1n, 'the second request starts in the first packet\'s tail');
});

test('a response head in a hole ends when the (non-pipelining) client sends its next request', () => {
  const conn = new Http1Connection({ role: 'server' });
  const r1 = bytes('HTTP/1.1 200 OK\r\nContent-Security-Policy: ' + 'd'.repeat(400) + '\r\nContent-Length: 3000\r\n\r\n' + 'b'.repeat(3000));
  const q1 = bytes(GET('/first'));
  const q2 = bytes(GET('/second'));
  const x1 = run(conn, [
    ['ingress', packetsAt(q1, [], { ts0: 1n })[0]!],
    ...ev('egress', packetsAt(r1, [1448, 2896], { capture: 256, ts0: 10n })),
  ], false);
  assert.deepEqual(x1, [], 'the end of the response is unknown yet');
  const x2 = conn.push('ingress', { ...packetsAt(q2, [], { ts0: 20n })[0]!, offset: q1.length });
  assert.deepEqual(x2.map((e) => [e.request.target, e.response?.status, e.response?.endNs]), [['/first', 200, 12n]]);
  const r2 = bytes('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  const x3 = conn.push('egress', { ...packetsAt(r2, [], { ts0: 30n })[0]!, offset: r1.length });
  assert.deepEqual(x3.map(brief), ['GET /second 0 -> 200 2']);
  assert.equal(conn.stats.resyncs, 0);
});
