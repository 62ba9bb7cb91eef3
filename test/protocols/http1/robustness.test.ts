import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Http1Connection, detectHttp1, splitTarget } from '../../../src/protocols/http1/index.js';
import type { CapturedSegment, Direction } from '../../../src/protocols/segment.js';
import { concatBytes } from '../../../src/protocols/bytes.js';
import { xorshift32 } from '../../helpers/prng.js';
import { bytes, packetsAt, packetsOf } from '../../helpers/segments.js';
import { brief, run } from './segments.js';

const ev = (dir: Direction, segs: CapturedSegment[]) => segs.map((s): [Direction, CapturedSegment] => [dir, s]);

// A real TLS 1.3 ClientHello prefix (record header, handshake header, version, random, ...).
const CLIENT_HELLO = new Uint8Array([
  0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x47, 0x45, 0x54, 0x20, 0x2f,
  0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a, 0x9c, 0x3b, 0x1a, 0x20, 0xe5,
  0xc2, 0x80, 0x4e, 0x20, 0x0f, 0x7c, 0x55, 0x6a, 0x8d, 0x7a, 0x3c, 0x88, 0x12, 0x13, 0x01, 0x13,
  0x02, 0x13, 0x03, 0x01, 0x00, 0x01, 0x93, 0x00, 0x00, 0x00, 0x0e, 0x00, 0x0c, 0x00, 0x00, 0x09,
  0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x68, 0x6f, 0x73, 0x74,
]);

const RESP_STREAM = '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nPING\r\nGET / HTTP/1.1 junk\r\n';

test('mid-stream start: bytes until a request line at a segment start are skipped', () => {
  const conn = new Http1Connection({ role: 'server' });
  // The agent starts inside a POST body (offset 0 is mid-message), then a new request arrives.
  const tailOfBody = bytes('GET / HTTP/1.1 this is body text that looks a bit like HTTP\r\n\r\n' + 'q'.repeat(500));
  const next = bytes('GET /fresh HTTP/1.1\r\nHost: h\r\n\r\n');
  const q = concatBytes([tailOfBody, next]);
  const r0 = bytes('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nprevHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh');
  const [prev, fresh] = packetsAt(r0, [42], { ts0: 0n });
  const x = run(conn, [
    ['egress', prev!],
    ...ev('ingress', packetsAt(q, [300, tailOfBody.length], { ts0: 1n })),
    ['egress', { ...fresh!, timestampNs: 10n }],
  ]);
  assert.deepEqual(x.map(brief), ['GET /fresh 0 -> 200 5']);
  assert.equal(conn.stats.skippedBytes, tailOfBody.length);
  assert.equal(conn.stats.orphanResponses, 1, 'the response to the request before the agent started pairs with nothing');
  assert.equal(conn.stats.malformed, 0);
});

test('mid-stream start inside a response body: the status line at the next segment start resyncs', () => {
  const conn = new Http1Connection({ role: 'client' });
  const q = bytes('GET /a HTTP/1.1\r\nHost: h\r\n\r\n');
  const bodyRest = new Uint8Array(5000).fill(0x41);
  const r = concatBytes([bodyRest, bytes('HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n')]);
  const x = run(conn, [...ev('egress', packetsAt(q, [], { ts0: 5n })), ...ev('ingress', packetsAt(r, [1448, 2896, 5000], { ts0: 6n }))]);
  assert.deepEqual(x.map(brief), ['GET /a 0 -> 202 0']);
});

test('binary garbage is never parsed and the connection is given up as not HTTP', () => {
  const rnd = xorshift32(42);
  const conn = new Http1Connection({ maxNonHttpBytes: 64 * 1024 });
  const junk = new Uint8Array(200_000).map(() => (rnd() * 256) | 0);
  let produced = 0;
  for (const s of packetsOf(junk, 1448)) produced += conn.push(s.offset % 2 ? 'ingress' : 'egress', s).length;
  assert.equal(produced, 0);
  assert.equal(conn.state, 'not-http');
  assert.equal(conn.stats.messages, 0);
  assert.deepEqual(conn.push('ingress', packetsAt(bytes('GET / HTTP/1.1\r\n\r\n'), [])[0]!), [], 'fed after giving up: ignored');
});

test('TLS ClientHello bytes: no message; with the connection start seen, not HTTP at once', () => {
  const a = new Http1Connection();
  assert.deepEqual(run(a, [['egress', packetsAt(CLIENT_HELLO, [])[0]!]]), []);
  assert.equal(a.stats.messages, 0);
  const b = new Http1Connection({ sawConnectionStart: true });
  b.push('egress', packetsAt(CLIENT_HELLO, [])[0]!);
  assert.equal(b.state, 'not-http');
  assert.equal(detectHttp1(CLIENT_HELLO), undefined);
});

test('a Redis RESP stream (including inline commands) is not HTTP', () => {
  const stream = bytes(RESP_STREAM.repeat(50));
  for (const size of [1, 7, 64, 1448]) {
    const conn = new Http1Connection({ sawConnectionStart: true });
    const x = run(conn, ev('egress', packetsOf(stream, size)), false);
    assert.deepEqual(x, []);
    assert.equal(conn.stats.messages, 0);
    assert.equal(conn.state, 'not-http', `segments of ${size}`);
  }
  const lenient = new Http1Connection();
  assert.deepEqual(run(lenient, ev('egress', packetsOf(bytes(RESP_STREAM.repeat(50)), 13))), []);
  assert.equal(lenient.stats.messages, 0);
});

test('strict grammar: near-HTTP lines are rejected', () => {
  const bad = [
    'get / HTTP/1.1\r\n\r\n', // lower-case method
    'GET / HTTP/2.0\r\n\r\n', // not HTTP/1.x
    'GET  / HTTP/1.1\r\n\r\n', // double space
    'GET /a b HTTP/1.1\r\n\r\n', // space in target
    'EHLO mail.example.test\r\n',
    'SSH-2.0-OpenSSH_9.6\r\n',
    'HTTP/1.1 20 OK\r\n\r\n', // two-digit status
    'HTTP/1.1 700 Nope\r\n\r\n',
    'HTTP/1.1 200\x01OK\r\n\r\n',
  ];
  for (const s of bad) {
    const conn = new Http1Connection({ sawConnectionStart: true });
    assert.deepEqual(run(conn, [['ingress', packetsAt(bytes(s), [])[0]!], ['egress', packetsAt(bytes(s), [])[0]!]]), [], JSON.stringify(s));
    assert.equal(conn.stats.messages, 0, JSON.stringify(s));
    assert.equal(detectHttp1(bytes(s)), undefined, JSON.stringify(s));
  }
});

test('a truncated stream: close in the middle of a head or a chunked body', () => {
  const q = bytes('GET /t HTTP/1.1\r\nHost: h\r\nUser-Agent: x');
  const a = new Http1Connection({ role: 'server' });
  assert.deepEqual(run(a, ev('ingress', packetsAt(q, [5, 20]))).map(brief), ['GET /t 0 -> - !closed']);
  const b = new Http1Connection({ role: 'server' });
  const r = bytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n3\r\nab');
  assert.deepEqual(run(b, [['ingress', packetsAt(bytes('GET /u HTTP/1.1\r\n\r\n'), [], { ts0: 1n })[0]!], ...ev('egress', packetsAt(r, [30]))]).map(brief), ['GET /u 0 -> 200 8 !truncated']);
  for (let cut = 1; cut < q.length; cut++) {
    const c = new Http1Connection();
    assert.doesNotThrow(() => run(c, [['ingress', packetsAt(q.slice(0, cut), [])[0]!]]));
  }
});

test('duplicate and overlapping segments are trimmed', () => {
  const conn = new Http1Connection({ role: 'server' });
  const q = bytes('GET /dup HTTP/1.1\r\nHost: h\r\n\r\n');
  const [s1, s2] = packetsAt(q, [10], { ts0: 1n });
  const overlap = packetsAt(q, [], { ts0: 1n })[0]!;
  const x = run(conn, [['ingress', s1!], ['ingress', s1!], ['ingress', overlap], ['ingress', s2!], ['egress', packetsAt(bytes('HTTP/1.1 200 OK\r\n\r\n'), [], { ts0: 5n })[0]!]]);
  assert.deepEqual(x.map(brief), ['GET /dup 0 -> 200 0']);
  assert.equal(conn.stats.messages, 2);
});

test('detectHttp1 on first bytes', () => {
  assert.equal(detectHttp1(bytes('GET /index.html HTTP/1.1\r\nHost: x\r\n')), 'request');
  assert.equal(detectHttp1(bytes('PROPFIND /dav/ HTTP/1.1\r\n')), 'request');
  assert.equal(detectHttp1(bytes('POST /api/v1/items?x=1')), 'request', 'cut request line with a known method');
  assert.equal(detectHttp1(bytes('FOO /x HTTP/1.1\r\n')), 'request', 'an unknown method with a complete line');
  assert.equal(detectHttp1(bytes('FOO /x')), undefined, 'an unknown method needs the whole line');
  assert.equal(detectHttp1(bytes('HTTP/1.1 200 OK\r\n')), 'response');
  assert.equal(detectHttp1(bytes('HTTP/1.0 404')), 'response');
  assert.equal(detectHttp1(bytes('HEAD / HTTP/1.0\r\n')), 'request');
  assert.equal(detectHttp1(bytes('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), undefined, 'the HTTP/2 preface is not HTTP/1.x');
  assert.equal(detectHttp1(new Uint8Array(0)), undefined);
  assert.equal(detectHttp1(bytes(RESP_STREAM)), undefined);
});

test('splitTarget separates path and query for every target form', () => {
  assert.deepEqual(splitTarget('/users/42?token=abc&x=1'), { path: '/users/42', query: 'token=abc&x=1', authority: undefined, scheme: undefined });
  assert.deepEqual(splitTarget('/plain'), { path: '/plain', query: undefined, authority: undefined, scheme: undefined });
  assert.deepEqual(splitTarget('/a?'), { path: '/a', query: '', authority: undefined, scheme: undefined });
  assert.deepEqual(splitTarget('/a#frag'), { path: '/a', query: undefined, authority: undefined, scheme: undefined });
  assert.deepEqual(splitTarget('http://Example.test:8080/p?q=1'), { path: '/p', query: 'q=1', authority: 'Example.test:8080', scheme: 'http' });
  assert.deepEqual(splitTarget('HTTP://h?q'), { path: '/', query: 'q', authority: 'h', scheme: 'http' });
  assert.deepEqual(splitTarget('example.test:443'), { path: '', query: undefined, authority: 'example.test:443', scheme: undefined });
  assert.deepEqual(splitTarget('*'), { path: '*', query: undefined, authority: undefined, scheme: undefined });
});

test('invalid headers of interest are refused with a clear error', () => {
  assert.throws(() => new Http1Connection({ headersOfInterest: ['x bad'] }), /not a valid HTTP field name/);
  assert.throws(() => new Http1Connection({ maxHeaderBytes: 10 }), /maxHeaderBytes must be at least 64/);
});

test('framing rules: Transfer-Encoding wins over Content-Length; bad header lines are ignored and counted', () => {
  const conn = new Http1Connection({ role: 'server' });
  const q = bytes('GET /te HTTP/1.1\r\nHost: h\r\nbroken line without colon\r\nBad Name: x\r\n\r\n');
  const r = bytes('HTTP/1.1 200 OK\r\nContent-Length: 999\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
  const x = run(conn, [['ingress', packetsAt(q, [], { ts0: 1n })[0]!], ['egress', packetsAt(r, [], { ts0: 2n })[0]!]], false);
  assert.deepEqual(x.map(brief), ['GET /te 0 -> 200 3']);
  assert.deepEqual(x[0]!.request.headers, [['host', 'h']]);
  assert.equal(conn.stats.malformed, 2);
});

test('conflicting Content-Length values make the framing unknown instead of guessing', () => {
  const conn = new Http1Connection({ role: 'server' });
  const q = bytes('POST /cl HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhello');
  const next = bytes('GET /n HTTP/1.1\r\n\r\n');
  const r = bytes('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
  const x = run(conn, [
    ['ingress', packetsAt(q, [], { ts0: 1n })[0]!],
    ['egress', packetsAt(r, [], { ts0: 2n })[0]!],
    ['ingress', { ...packetsAt(next, [], { ts0: 3n })[0]!, offset: q.length }],
  ]);
  assert.deepEqual(x.map(brief), ['POST /cl 0 -> 400 0', 'GET /n 0 -> - !closed']);
  assert.equal(conn.stats.unparseable, 1);
});
