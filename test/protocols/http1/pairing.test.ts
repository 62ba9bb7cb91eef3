import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Http1Connection } from '../../../src/protocols/http1/index.js';
import type { CapturedSegment, Direction } from '../../../src/protocols/segment.js';
import { bytes, packetsAt } from '../../helpers/segments.js';
import { brief, run } from './segments.js';

const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: example.test\r\nUser-Agent: curl/8.5.0\r\n${extra}\r\n`;
const OK = (body: string, extra = '') => `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

test('keep-alive: two exchanges with fields, headers of interest and capture timestamps', () => {
  const conn = new Http1Connection({ role: 'server' });
  const q1 = bytes(GET('/a?x=1', 'Traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nAuthorization: Bearer secret\r\nCookie: s=1\r\n'));
  const r1 = bytes(OK('hello', 'Set-Cookie: s=2\r\n'));
  const q2 = bytes(GET('/b'));
  const r2 = bytes(OK('world!'));
  const x = run(conn, [
    ['ingress', { offset: 0, length: q1.length, head: q1, tail: new Uint8Array(0), timestampNs: 100n }],
    ['egress', { offset: 0, length: r1.length, head: r1, tail: new Uint8Array(0), timestampNs: 200n }],
    ['ingress', { offset: q1.length, length: q2.length, head: q2, tail: new Uint8Array(0), timestampNs: 300n }],
    ['egress', { offset: r1.length, length: r2.length, head: r2, tail: new Uint8Array(0), timestampNs: 400n }],
  ]);
  assert.deepEqual(x.map(brief), ['GET /a?x=1 0 -> 200 5', 'GET /b 0 -> 200 6']);
  const [a, b] = x;
  assert.equal(a!.protocol, 'http1');
  assert.equal(a!.request.version, 'HTTP/1.1');
  assert.deepEqual(a!.request.headers, [
    ['host', 'example.test'], ['user-agent', 'curl/8.5.0'],
    ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
  ]);
  assert.deepEqual(a!.response!.headers, [['content-type', 'text/plain'], ['content-length', '5']]);
  assert.equal(a!.request.startNs, 100n);
  assert.equal(a!.response!.startNs, 200n);
  assert.equal(a!.response!.endNs, 200n);
  assert.equal(b!.request.startNs, 300n);
  assert.equal(b!.response!.endNs, 400n);
  assert.equal(conn.stats.exchanges, 2);
  assert.equal(conn.stats.malformed, 0);
  assert.equal(conn.state, 'closed');
});

test('credentials are never kept, even when configured as headers of interest', () => {
  const conn = new Http1Connection({ role: 'server', headersOfInterest: ['authorization', 'cookie', 'x-tenant', 'Set-Cookie'] });
  const q = bytes(GET('/', 'Authorization: Basic Zm9vOmJhcg==\r\nCookie: a=b\r\nX-Tenant: t1\r\n'));
  const r = bytes(OK('', 'Set-Cookie: id=1\r\n'));
  const [x] = run(conn, [['ingress', packetsAt(q, [])[0]!], ['egress', packetsAt(r, [])[0]!]]);
  assert.deepEqual(x!.request.headers, [['x-tenant', 't1']]);
  assert.deepEqual(x!.response!.headers, []);
});

/** A pipelined stream of three requests (one with a body) and their responses. */
const pipeReq = bytes(GET('/1') + 'POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd' + GET('/3'));
const pipeRes = bytes(OK('one') + 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\ntw\r\n1\r\no\r\n0\r\n\r\n' + OK('three'));
const pipeExpected = ['GET /1 0 -> 200 3', 'POST /2 4 -> 201 3', 'GET /3 0 -> 200 5'];

test('pipelining: every split point of the request and response streams gives the same exchanges', () => {
  for (let i = 1; i < pipeReq.length; i++) {
    const j = 1 + ((i * 7) % (pipeRes.length - 1));
    for (const [reqCuts, resCuts] of [[[i], [j]], [[i, i + 3], []], [[], [i % pipeRes.length, j]]] as Array<[number[], number[]]>) {
      const conn = new Http1Connection({ role: 'server' });
      const events: Array<[Direction, CapturedSegment]> = [
        ...packetsAt(pipeReq, reqCuts, { ts0: 10n }).map((s): [Direction, CapturedSegment] => ['ingress', s]),
        ...packetsAt(pipeRes, resCuts, { ts0: 100n }).map((s): [Direction, CapturedSegment] => ['egress', s]),
      ];
      assert.deepEqual(run(conn, events).map(brief), pipeExpected, `request cut at ${reqCuts}, response cut at ${resCuts}`);
      assert.equal(conn.stats.resyncs + conn.stats.malformed + conn.stats.unparseable, 0);
    }
  }
});

test('pipelining: one byte per segment, both directions', () => {
  const conn = new Http1Connection({ role: 'server' });
  const cuts = (n: number) => Array.from({ length: n - 1 }, (_, k) => k + 1);
  const reqs = packetsAt(pipeReq, cuts(pipeReq.length), { ts0: 10n });
  const ress = packetsAt(pipeRes, cuts(pipeRes.length), { ts0: 1000n });
  const x = run(conn, [...reqs.map((s): [Direction, CapturedSegment] => ['ingress', s]), ...ress.map((s): [Direction, CapturedSegment] => ['egress', s])]);
  assert.deepEqual(x.map(brief), pipeExpected);
  // start = segment with the first byte, end = segment with the last byte
  assert.equal(x[0]!.request.startNs, 10n);
  assert.equal(x[2]!.response!.endNs, 1000n + BigInt(pipeRes.length - 1));
});

test('interleaved keep-alive exchanges split at every byte of a single segment pair', () => {
  const q = bytes(GET('/k'));
  const r = bytes(OK('body'));
  for (let i = 1; i < q.length; i++) {
    for (let j = 1; j < r.length; j += 3) {
      const conn = new Http1Connection({ role: 'server' });
      const [q1, q2] = packetsAt(q, [i], { ts0: 1n });
      const [r1, r2] = packetsAt(r, [j], { ts0: 5n });
      const x = run(conn, [['ingress', q1!], ['ingress', q2!], ['egress', r1!], ['egress', r2!]], false);
      assert.deepEqual(x.map(brief), ['GET /k 0 -> 200 4'], `cut ${i}/${j}`);
      assert.equal(x[0]!.response!.endNs, 6n);
    }
  }
});

test('100 Continue is interim: the final response pairs with the request', () => {
  const conn = new Http1Connection({ role: 'server' });
  const head = bytes('PUT /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
  const cont = bytes('HTTP/1.1 100 Continue\r\n\r\n');
  const body = bytes('12345');
  const fin = bytes('HTTP/1.1 204 No Content\r\n\r\n');
  const x = run(conn, [
    ['ingress', { offset: 0, length: head.length, head, tail: new Uint8Array(0), timestampNs: 1n }],
    ['egress', { offset: 0, length: cont.length, head: cont, tail: new Uint8Array(0), timestampNs: 2n }],
    ['ingress', { offset: head.length, length: 5, head: body, tail: new Uint8Array(0), timestampNs: 3n }],
    ['egress', { offset: cont.length, length: fin.length, head: fin, tail: new Uint8Array(0), timestampNs: 4n }],
  ]);
  assert.deepEqual(x.map(brief), ['PUT /up 5 -> 204 0']);
  assert.equal(x[0]!.request.endNs, 3n);
  assert.equal(x[0]!.response!.startNs, 4n, 'the final response starts at its own status line, not at 100 Continue');
});

test('HEAD, 204 and 304 responses have no body whatever their headers say', () => {
  const conn = new Http1Connection({ role: 'server' });
  const q = bytes('HEAD /f HTTP/1.1\r\nHost: h\r\n\r\n' + GET('/g') + GET('/h'));
  const r = bytes(
    'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' +
    'HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n' +
    'HTTP/1.1 204 No Content\r\n\r\n',
  );
  const x = run(conn, [['ingress', packetsAt(q, [])[0]!], ['egress', packetsAt(r, [])[0]!]], false);
  assert.deepEqual(x.map(brief), ['HEAD /f 0 -> 200 0', 'GET /g 0 -> 304 0', 'GET /h 0 -> 204 0']);
});

test('101 Switching Protocols: exchange emitted, then the connection is no longer parsed', () => {
  const conn = new Http1Connection({ role: 'server' });
  const q = bytes(GET('/ws', 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'));
  const r = bytes('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  const frames = bytes('\x81\x05hello' + 'GET /not-http HTTP/1.1\r\n\r\n');
  const x = run(conn, [
    ['ingress', packetsAt(q, [], { ts0: 1n })[0]!],
    ['egress', packetsAt(r, [], { ts0: 9n })[0]!],
    ['ingress', { ...packetsAt(frames, [])[0]!, offset: q.length }],
    ['egress', { ...packetsAt(frames, [])[0]!, offset: r.length }],
  ]);
  assert.deepEqual(x.map(brief), ['GET /ws 0 -> 101 0']);
  assert.equal(x[0]!.response!.endNs, 9n);
  assert.deepEqual(conn.upgradedAt, { direction: 'egress', offset: r.length }, 'where the new protocol starts');
  assert.equal(conn.state, 'closed');
  assert.equal(conn.stats.messages, 2);
});

test('CONNECT 200 starts a tunnel: nothing after it is parsed', () => {
  const conn = new Http1Connection({ role: 'unknown' });
  const q = bytes('CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n');
  const r = bytes('HTTP/1.1 200 Connection Established\r\n\r\n');
  const tls = new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]);
  const x = run(conn, [
    ['egress', packetsAt(q, [])[0]!],
    ['ingress', packetsAt(r, [])[0]!],
    ['egress', { ...packetsAt(tls, [])[0]!, offset: q.length }],
  ], false);
  assert.deepEqual(x.map(brief), ['CONNECT example.test:443 0 -> 200 0']);
  assert.equal(conn.role, 'client', 'a request line on egress makes this socket the client');
  assert.equal(conn.state, 'upgraded');
  assert.equal(conn.stats.resyncs, 0);
});

test('a refused Upgrade keeps parsing the keep-alive connection', () => {
  const conn = new Http1Connection({ role: 'server' });
  const q1 = bytes(GET('/u', 'Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n'));
  const q2 = bytes(GET('/after'));
  const r = bytes(OK('no') + OK('yes'));
  const [r1, r2] = packetsAt(r, [OK('no').length], { ts0: 10n });
  const x = run(conn, [
    ['ingress', packetsAt(q1, [], { ts0: 1n })[0]!],
    ['egress', r1!],
    ['ingress', { ...packetsAt(q2, [], { ts0: 10n })[0]!, offset: q1.length }],
    ['egress', r2!],
  ]);
  assert.deepEqual(x.map(brief), ['GET /u 0 -> 200 2', 'GET /after 0 -> 200 3']);
});

test('HTTP/1.0 response delimited by close completes at close, with the last packet as its end', () => {
  const conn = new Http1Connection({ role: 'server' });
  const q = bytes('GET /old HTTP/1.0\r\n\r\n');
  const r = bytes('HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n' + 'x'.repeat(5000));
  const segs = packetsAt(r, [1000, 3000], { ts0: 50n });
  const events: Array<[Direction, CapturedSegment]> = [['ingress', packetsAt(q, [], { ts0: 1n })[0]!], ...segs.map((s): [Direction, CapturedSegment] => ['egress', s])];
  assert.deepEqual(run(conn, events, false), [], 'nothing before close: the body has no declared length');
  const x = conn.close();
  assert.deepEqual(x.map(brief), ['GET /old 0 -> 200 5000']);
  assert.equal(x[0]!.request.version, 'HTTP/1.0');
  assert.equal(x[0]!.response!.endNs, 52n);
});

test('close: a request without response is an exchange with error "closed"; a cut response is "truncated"', () => {
  const a = new Http1Connection({ role: 'server' });
  assert.deepEqual(run(a, [['ingress', packetsAt(bytes(GET('/lost')), [])[0]!]]).map(brief), ['GET /lost 0 -> - !closed']);
  const b = new Http1Connection({ role: 'server' });
  const r = bytes('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' + 'y'.repeat(400));
  assert.deepEqual(run(b, [['ingress', packetsAt(bytes(GET('/cut')), [])[0]!], ['egress', packetsAt(r, [])[0]!]]).map(brief), ['GET /cut 0 -> 200 400 !truncated']);
});

test('pending pipelined requests are capped', () => {
  const conn = new Http1Connection({ role: 'server', maxPendingRequests: 64 });
  const q = bytes(Array.from({ length: 100 }, (_, i) => GET(`/p${i}`)).join(''));
  run(conn, [['ingress', packetsAt(q, [], { capture: q.length })[0]!]], false);
  assert.equal(conn.pendingRequests, 64);
  assert.equal(conn.stats.droppedRequests, 36);
  const x = conn.close();
  assert.equal(x.length, 64);
  assert.equal(x[0]!.request.target, '/p36', 'the oldest are dropped');
});

test('role inference: requests on ingress make a server, and a response first is paired with nothing', () => {
  const conn = new Http1Connection();
  const r0 = bytes(OK('stale'));
  const q = bytes(GET('/i'));
  const r = bytes(OK('fresh'));
  const x = run(conn, [
    ['egress', packetsAt(r0, [], { ts0: 1n })[0]!],
    ['ingress', packetsAt(q, [], { ts0: 2n })[0]!],
    ['egress', { ...packetsAt(r, [], { ts0: 3n })[0]!, offset: r0.length }],
  ]);
  assert.equal(conn.role, 'server');
  assert.deepEqual(x.map(brief), ['GET /i 0 -> 200 5']);
  assert.equal(conn.stats.orphanResponses, 1);
});

test('a response that started before the oldest pending request is not paired with it', () => {
  const conn = new Http1Connection({ role: 'server' });
  const q = bytes(GET('/late'));
  const r = bytes(OK('early'));
  const x = run(conn, [['ingress', packetsAt(q, [], { ts0: 500n })[0]!], ['egress', packetsAt(r, [], { ts0: 400n })[0]!]]);
  assert.deepEqual(x.map(brief), ['GET /late 0 -> - !closed']);
  assert.equal(conn.stats.orphanResponses, 1);
});

test('h2c: upgradedAt points just after the 101 head, also when it spans segments and HTTP/2 follows in the same packet', () => {
  const q = bytes(GET('/', 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n'));
  const head101 = bytes('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
  const settings = new Uint8Array([0, 0, 0, 4, 0, 0, 0, 0, 0]);
  const r = new Uint8Array([...head101, ...settings]);
  for (const cut of [0, 20, head101.length - 1]) {
    const conn = new Http1Connection({ role: 'server' });
    run(conn, [['ingress', packetsAt(q, [], { ts0: 1n })[0]!], ...packetsAt(r, [cut], { ts0: 2n }).map((s): [Direction, CapturedSegment] => ['egress', s])], false);
    assert.equal(conn.state, 'upgraded');
    assert.deepEqual(conn.upgradedAt, { direction: 'egress', offset: head101.length }, `cut at ${cut}`);
  }
});
