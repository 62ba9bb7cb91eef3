// Frame parser and stream logic on a crafted multi-stream conversation: every split point, random
// segmentations, capture holes, mid-stream starts, padding, CONTINUATION, PUSH_PROMISE, RST_STREAM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Http2Connection, detectHttp2Preface, looksLikeHttp2Frames } from '../../../src/protocols/http2/index.js';
import type { Exchange } from '../../../src/protocols/exchange.js';
import type { CapturedSegment } from '../../../src/protocols/segment.js';
import { concatBytes } from '../../../src/protocols/bytes.js';
import { prng } from '../../helpers/prng.js';
import { toJson } from '../../helpers/json.js';
import { fullPacketsAt } from '../../helpers/segments.js';
import { PREFACE, TestHpackEncoder, conversation, frame, grpcMessage } from './h2-builder.js';

import { DATA, EH, ES, HEADERS, SETTINGS } from './h2-builder.js';

function run(conn: Http2Connection, client: CapturedSegment[], server: CapturedSegment[]): Exchange[] {
  const out: Exchange[] = [];
  for (const s of client) out.push(...conn.push('egress', s));
  for (const s of server) out.push(...conn.push('ingress', s));
  out.push(...conn.close(99_999n));
  return out;
}

function summary(ex: Exchange[]): unknown[] {
  return ex.map((e) => ({
    protocol: e.protocol, method: e.request.method, target: e.request.target, version: e.request.version,
    reqHeaders: e.request.headers, reqBody: e.request.bodySize, status: e.response?.status, respBody: e.response?.bodySize,
    respHeaders: e.response?.headers, grpcStatus: e.response?.grpcStatus, grpcMessage: e.response?.grpcMessage,
    messages: e.messages, error: e.error,
  })).sort((a, b) => String(a.target).localeCompare(String(b.target)));
}

const EXPECTED = [
  {
    protocol: 'http2', method: 'GET', target: '/a?x=1', version: '2', reqHeaders: [['host', 'localhost'], ['user-agent', 'test/1']], reqBody: 0,
    status: 404, respBody: 9, respHeaders: [['content-type', 'text/plain']], grpcStatus: undefined, grpcMessage: undefined, messages: undefined, error: undefined,
  },
  {
    protocol: 'grpc', method: 'POST', target: '/helloworld.Greeter/SayHello', version: '2',
    reqHeaders: [['host', 'localhost:50051'], ['content-type', 'application/grpc'], ['grpc-timeout', '1S'], ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']],
    reqBody: 313, status: 200, respBody: 7, respHeaders: [['content-type', 'application/grpc'], ['grpc-encoding', 'identity']],
    grpcStatus: 5, grpcMessage: 'not found: ✓', messages: { sent: 2, received: 1 }, error: undefined,
  },
  {
    protocol: 'http2', method: 'GET', target: '/style.css', version: '2', reqHeaders: [['host', 'localhost']], reqBody: 0,
    status: 200, respBody: 50, respHeaders: [['content-type', 'text/css']], grpcStatus: undefined, grpcMessage: undefined, messages: undefined, error: undefined,
  },
  {
    protocol: 'http2', method: 'POST', target: '/upload', version: '2', reqHeaders: [['host', 'localhost']], reqBody: 1000,
    status: undefined, respBody: undefined, respHeaders: undefined, grpcStatus: undefined, grpcMessage: undefined, messages: undefined, error: 'cancelled',
  },
];

test('whole conversation in one segment per direction', () => {
  const { client, server } = conversation();
  const conn = new Http2Connection({ role: 'client' });
  const ex = run(conn, fullPacketsAt(client, []), fullPacketsAt(server, []));
  assert.deepEqual(summary(ex), EXPECTED);
  assert.equal(conn.stats.hpackUnresolvedFields, 0);
  assert.equal(conn.stats.framingLost, 0);
  assert.equal(conn.openStreams, 0);
  // Never any credential anywhere in the output.
  assert.doesNotMatch(toJson(ex), /s3cret|sid=|authorization|cookie/i);
});

test('every split point of each direction gives the same exchanges', () => {
  const { client, server } = conversation();
  for (let k = 1; k < client.length; k++) {
    const ex = run(new Http2Connection({ role: 'client' }), fullPacketsAt(client, [k]), fullPacketsAt(server, [k % server.length]));
    assert.deepEqual(summary(ex), EXPECTED, `split at ${k}`);
  }
});

test('random segmentations, role unknown (inferred from the preface)', () => {
  const { client, server } = conversation();
  const rnd = prng(1);
  for (let i = 0; i < 200; i++) {
    const cuts = (n: number) => Array.from({ length: 1 + Math.floor(rnd() * 30) }, () => Math.floor(rnd() * n)).sort((a, b) => a - b);
    const ex = run(new Http2Connection(), fullPacketsAt(client, cuts(client.length)), fullPacketsAt(server, cuts(server.length)));
    assert.deepEqual(summary(ex), EXPECTED, `iteration ${i}`);
  }
});

test('timestamps: start = request HEADERS segment, end = END_STREAM in the later direction', () => {
  const { client, server } = conversation();
  const conn = new Http2Connection({ role: 'client' });
  const out: Exchange[] = [];
  const oneByteSegs = (bytes: Uint8Array, base: bigint) => fullPacketsAt(bytes, Array.from({ length: bytes.length }, (_, i) => i), base);
  for (const s of oneByteSegs(client, 0n)) out.push(...conn.push('egress', s));
  for (const s of oneByteSegs(server, 100_000n)) out.push(...conn.push('ingress', s));
  const grpc = out.find((e) => e.protocol === 'grpc')!;
  assert.ok(grpc.request.startNs > 24n && grpc.request.startNs < 200n, `start ${grpc.request.startNs}`);
  assert.ok(grpc.request.endNs > grpc.request.startNs && grpc.request.endNs < BigInt(client.length));
  assert.equal(grpc.response!.endNs, 100_000n + BigInt(server.length - 18)); // last byte of trailers, before GOAWAY
});

/** Turns a byte range of a direction into a segment with a capture hole in the middle. */
function holed(bytes: Uint8Array, from: number, to: number, headLen: number, tailLen: number, ts: bigint): CapturedSegment {
  return { offset: from, length: to - from, head: bytes.slice(from, from + headLen), tail: bytes.slice(to - tailLen, to), timestampNs: ts };
}

test('holes inside DATA payloads: sizes from lengths, gRPC prefixes followed through the hole', () => {
  const ce = new TestHpackEncoder();
  const big = grpcMessage(new Uint8Array(5000));
  const headers = frame(HEADERS, EH, 1, ce.encode([[':method', 'POST'], [':path', '/p.S/M'], [':scheme', 'http'], [':authority', 'h'], ['content-type', 'application/grpc']]));
  const data = frame(DATA, ES, 1, concatBytes([big, grpcMessage([1]), big]));
  const client = concatBytes([PREFACE, frame(SETTINGS, 0, 0, []), headers, data]);
  const se = new TestHpackEncoder();
  const server = concatBytes([frame(SETTINGS, 0, 0, []), frame(HEADERS, EH, 1, se.encode([[':status', '200'], ['content-type', 'application/grpc']])),
    frame(DATA, 0, 1, grpcMessage([7])), frame(HEADERS, EH | ES, 1, se.encode([['grpc-status', '0']]))]);
  const dataStart = client.length - data.length;
  const conn = new Http2Connection({ role: 'client' });
  const segs: CapturedSegment[] = [
    ...fullPacketsAt(client.subarray(0, dataStart), []),
    // DATA frame header + first prefix captured; the first body is a hole; the small message and
    // the second prefix land in the tail; the second body is another hole.
    holed(client, dataStart, dataStart + 9 + 5005 + 6 + 5, 9 + 5 + 10, 6 + 5, 2n),
    holed(client, dataStart + 9 + 5005 + 6 + 5, client.length, 16, 16, 3n),
  ];
  const out: Exchange[] = [];
  for (const s of segs) out.push(...conn.push('egress', s));
  for (const s of fullPacketsAt(server, [])) out.push(...conn.push('ingress', s));
  assert.equal(out.length, 1);
  assert.equal(out[0]!.request.bodySize, 5005 * 2 + 6);
  assert.deepEqual(out[0]!.messages, { sent: 3, received: 1 });
  assert.equal(out[0]!.response!.grpcStatus, 0);
  assert.equal(conn.stats.framingLost, 0);
});

test('a hole covering a HEADERS block desynchronises HPACK but later literal fields decode', () => {
  const ce = new TestHpackEncoder();
  const se = new TestHpackEncoder();
  const h1 = frame(HEADERS, EH | ES, 1, ce.encode([[':method', 'GET'], [':path', '/one'], [':authority', 'svc'], ['x-custom', 'abc'.repeat(10)]]));
  const h3 = frame(HEADERS, EH | ES, 3, ce.encode([[':method', 'GET'], [':path', '/two'], [':authority', 'svc'], ['x-custom', 'abc'.repeat(10)]], 'without'));
  const client = concatBytes([PREFACE, frame(SETTINGS, 0, 0, []), h1, h3]);
  const server = concatBytes([frame(SETTINGS, 0, 0, []),
    frame(HEADERS, EH | ES, 1, se.encode([[':status', '200']])), frame(HEADERS, EH | ES, 3, se.encode([[':status', '204']]))]);
  const h1Start = PREFACE.length + 9;
  const conn = new Http2Connection({ role: 'client' });
  const out: Exchange[] = [];
  out.push(...conn.push('egress', { offset: 0, length: h1Start, head: client.slice(0, h1Start), tail: new Uint8Array(0), timestampNs: 1n }));
  out.push(...conn.push('egress', holed(client, h1Start, h1Start + h1.length, 12, 0, 2n)));
  out.push(...conn.push('egress', { offset: h1Start + h1.length, length: h3.length, head: h3, tail: new Uint8Array(0), timestampNs: 3n }));
  for (const s of fullPacketsAt(server, [])) out.push(...conn.push('ingress', s));
  assert.deepEqual(out.map((e) => [e.request.target, e.response?.status]), [['/two', 204]]);
  // :authority of /two was a dynamic reference inserted in the lost block: unknown, not guessed.
  assert.deepEqual(out[0]!.request.headers, []);
  const st = conn.stats;
  assert.equal(st.headerBlocksLost, 1);
  assert.equal(st.undecodableStreams, 1);
  assert.ok(st.hpackUnresolvedFields >= 1);
});

test('mid-stream start: boundaries hunted, later streams decode from static and literal fields', () => {
  const { client, server } = conversation();
  // Drop everything up to somewhere inside stream 3's HEADERS, and the server's first 30 bytes.
  for (const [dropClient, expectedCount] of [[30, 4], [60, 3], [95, 2], [130, 2]] as const) {
    const conn = new Http2Connection({ role: 'client', seenFromStart: false });
    const c = client.slice(dropClient);
    const s = server.slice(30);
    const ex = run(conn, fullPacketsAt(c, [7, 40]), fullPacketsAt(s, [3]));
    for (const e of ex) {
      const expected = EXPECTED.find((x) => x.target === e.request.target);
      assert.ok(expected, `unexpected target ${e.request.target}`);
      assert.equal(e.request.method, expected.method);
      if (e.response) assert.equal(e.response.status, expected.status);
      else assert.ok(e.error, `${e.request.target}: no response must come with an error`);
      for (const h of e.request.headers) assert.ok(expected.reqHeaders.some(([n, v]) => n === h[0] && v === h[1]), `wrong header ${h}`);
    }
    assert.ok(conn.stats.framingRecovered >= 1, `recovered after dropping ${dropClient}`);
    // Streams whose request HEADERS came after the join are all recovered (computed by hand from the layout).
    assert.equal(ex.length, expectedCount, `exchanges after dropping ${dropClient}`);
  }
});

test('after-upgrade mode: stream 1 is the upgraded request, its response arrives as HTTP/2', () => {
  const se = new TestHpackEncoder();
  const ce = new TestHpackEncoder();
  const conn = new Http2Connection({
    role: 'server',
    upgradedRequest: { method: 'GET', target: '/up', headers: [['host', 'h']], bodySize: 0, startNs: 5n, endNs: 6n },
  });
  const client = concatBytes([PREFACE, frame(SETTINGS, 0, 0, []), frame(HEADERS, EH | ES, 3, ce.encode([[':method', 'GET'], [':path', '/after'], [':scheme', 'http'], [':authority', 'h']]))]);
  const server = concatBytes([frame(SETTINGS, 0, 0, []), frame(HEADERS, EH, 1, se.encode([[':status', '200']])), frame(DATA, ES, 1, new Uint8Array(3)),
    frame(HEADERS, EH | ES, 3, se.encode([[':status', '200']]))]);
  const out = [...conn.push('ingress', fullPacketsAt(client, [])[0]!), ...conn.push('egress', fullPacketsAt(server, [], 10n)[0]!)];
  assert.deepEqual(out.map((e) => [e.request.target, e.request.startNs, e.response?.status, e.response?.bodySize]), [['/up', 5n, 200, 3], ['/after', 1000n, 200, 0]]);
});

test('bounded memory: at most maxStreams tracked, the oldest dropped and counted', () => {
  const ce = new TestHpackEncoder();
  const frames = [PREFACE, frame(SETTINGS, 0, 0, [])];
  for (let id = 1; id < 2 * 300; id += 2) frames.push(frame(HEADERS, EH, id, ce.encode([[':method', 'GET'], [':path', `/s${id}`], [':scheme', 'http']])));
  const conn = new Http2Connection({ role: 'client', maxStreams: 100 });
  conn.push('egress', fullPacketsAt(concatBytes(frames), [])[0]!);
  assert.equal(conn.openStreams, 100);
  assert.equal(conn.stats.streamsEvicted, 200);
});

test('detection helpers', () => {
  const { client, server } = conversation();
  assert.equal(detectHttp2Preface(client), true);
  assert.equal(detectHttp2Preface(client.subarray(0, 10)), undefined);
  assert.equal(detectHttp2Preface(new TextEncoder().encode('GET / HTTP/1.1\r\n')), false);
  assert.equal(looksLikeHttp2Frames(server.subarray(0, 40)), true);
  assert.equal(looksLikeHttp2Frames(new TextEncoder().encode('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')), false);
  assert.equal(looksLikeHttp2Frames(new Uint8Array(4)), false);
});


test('mid-stream join: a stream whose content-type is an unknown dynamic reference is gRPC only when its DATA frames exactly as gRPC messages', () => {
  const run = (body: Uint8Array) => {
    const enc = new TestHpackEncoder();
    // Before the join: the client's first call put content-type into its dynamic table.
    enc.encode([[':method', 'POST'], [':path', '/pkg.Svc/First'], ['content-type', 'application/grpc']]);
    const req = enc.encode([[':method', 'POST'], [':path', '/pkg.Svc/Second'], ['content-type', 'application/grpc']], 'without');
    const client = concatBytes([frame(1, 0x4, 3, req), frame(0, 0x1, 3, body), frame(8, 0, 0, [0, 0, 1, 0])]);
    const server = concatBytes([frame(1, 0x4, 3, [0x88]), frame(0, 0, 3, grpcMessage([9])), frame(1, 0x5, 3, new TestHpackEncoder().encode([['grpc-status', '0']], 'without'))]);
    const conn = new Http2Connection({ role: 'server', seenFromStart: false });
    const seg = (b: Uint8Array, ts: bigint): CapturedSegment => ({ offset: 0, length: b.length, head: b, tail: new Uint8Array(0), timestampNs: ts });
    const out = [...conn.push('ingress', seg(client, 1n)), ...conn.push('egress', seg(server, 2n)), ...conn.close(3n)];
    return { out, conn };
  };
  const grpc = run(concatBytes([grpcMessage([1, 2, 3]), grpcMessage([4])]));
  assert.equal(grpc.out.length, 1);
  assert.equal(grpc.out[0]!.request.target, '/pkg.Svc/Second');
  assert.equal(grpc.out[0]!.protocol, 'grpc');
  assert.deepEqual(grpc.out[0]!.messages, { sent: 2, received: 1 });
  assert.equal(grpc.out[0]!.response?.grpcStatus, 0);
  assert.equal(grpc.conn.stats.grpcInferred, 1);
  // The same request with a body that is not length-prefixed messages stays plain HTTP/2.
  const plain = run(new TextEncoder().encode('{"not":"grpc"}'));
  assert.equal(plain.out[0]!.protocol, 'http2');
  assert.equal(plain.conn.stats.grpcInferred, 0);
});
