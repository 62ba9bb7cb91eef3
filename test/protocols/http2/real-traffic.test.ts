// Real HTTP/2 and gRPC conversations (node:http2, curl, @grpc/grpc-js) recorded by a loopback
// proxy, replayed into the parser in random segmentations and from mid-stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { spawn } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import type { Exchange } from '../../../src/protocols/exchange.js';
import { parseGrpcPath } from '../../../src/protocols/grpc/grpc.js';
import { startRecordingProxy, type RecordedChunk } from '../../helpers/recording-proxy.js';
import { prng } from '../../helpers/prng.js';
import { toJson } from '../../helpers/json.js';
import { replay } from './replay.js';
import { toolOrSkip } from '../../helpers/env.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function byTarget(ex: Exchange[]): Map<string, Exchange[]> {
  const m = new Map<string, Exchange[]>();
  for (const e of ex) m.set(e.request.target, [...(m.get(e.request.target) ?? []), e]);
  return m;
}

function header(e: Exchange, name: string): string | undefined {
  return e.request.headers.find(([n]) => n === name)?.[1];
}

// ---------------------------------------------------------------- node:http2 server + client

let h2Server: http2.Http2Server;
let h2Port = 0;

before(async () => {
  h2Server = http2.createServer();
  h2Server.on('stream', (stream, headers) => {
    const path = headers[':path'];
    if (path === '/missing') { stream.respond({ ':status': 404 }); stream.end('nope'); return; }
    if (path === '/echo') {
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => parts.push(d));
      stream.on('end', () => { stream.respond({ ':status': 201, 'content-type': 'application/octet-stream', 'set-cookie': 'sid=server-secret' }); stream.end(Buffer.concat(parts)); });
      return;
    }
    if (path?.startsWith('/churn')) {
      // Distinct header values every time: the server's HPACK encoder keeps inserting and evicting.
      stream.respond({ ':status': 200, 'content-type': 'text/plain', 'x-churn': `${path}-${'z'.repeat(80)}`, etag: `"${Math.random()}"` });
      stream.end('ok');
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end('hello '.repeat(1000));
  });
  await new Promise<void>((r) => h2Server.listen(0, '127.0.0.1', r));
  h2Port = (h2Server.address() as { port: number }).port;
});

after(() => new Promise<void>((r) => h2Server.close(() => r())));

async function nodeH2Conversation(proxyPort: number): Promise<void> {
  const client = http2.connect(`http://127.0.0.1:${proxyPort}`);
  const request = (path: string, method = 'GET', body?: Buffer) => new Promise<number>((resolve, reject) => {
    const req = client.request({ ':method': method, ':path': path, traceparent: TRACEPARENT, authorization: 'Bearer top-secret', cookie: 'a=b' });
    let status = 0;
    req.on('response', (h) => { status = Number(h[':status']); });
    req.on('data', () => {});
    req.on('end', () => resolve(status));
    req.on('error', reject);
    req.end(body);
  });
  assert.equal(await request('/hello'), 200);
  const statuses = await Promise.all([request('/missing'), request('/echo', 'POST', Buffer.alloc(70_000, 1)), request('/hello?q=2')]);
  assert.deepEqual(statuses, [404, 201, 200]);
  await new Promise<void>((r) => client.close(() => r()));
}

function checkNodeH2(ex: Exchange[]): void {
  const m = byTarget(ex);
  assert.equal(ex.length, 4, JSON.stringify([...m.keys()]));
  const hello = m.get('/hello')![0]!;
  assert.equal(hello.protocol, 'http2');
  assert.equal(hello.request.method, 'GET');
  assert.equal(hello.request.version, '2');
  assert.equal(hello.response!.status, 200);
  assert.equal(hello.response!.bodySize, 6000);
  assert.equal(header(hello, 'traceparent'), TRACEPARENT);
  assert.equal(header(hello, 'host'), `127.0.0.1:${header(hello, 'host')!.split(':')[1]}`);
  assert.equal(m.get('/missing')![0]!.response!.status, 404);
  const echo = m.get('/echo')![0]!;
  assert.equal(echo.request.method, 'POST');
  assert.equal(echo.request.bodySize, 70_000);
  assert.equal(echo.response!.status, 201);
  assert.equal(echo.response!.bodySize, 70_000);
  assert.ok(echo.request.startNs <= echo.request.endNs && echo.request.endNs <= echo.response!.endNs);
  assert.equal(m.get('/hello?q=2')![0]!.response!.status, 200);
  const text = toJson(ex);
  assert.doesNotMatch(text, /top-secret|server-secret|a=b|authorization|cookie/);
}

test('node:http2 client and server: methods, paths, statuses, body sizes in random segmentations', async () => {
  const proxy = await startRecordingProxy(h2Port);
  try {
    await nodeH2Conversation(proxy.port);
  } finally { await proxy.close(); }
  assert.equal(proxy.connections.length, 1);
  const chunks = proxy.connections[0]!.chunks;
  for (let seed = 1; seed <= 30; seed++) {
    const { exchanges, conn } = replay(chunks, prng(seed), { role: seed % 2 ? 'server' : 'unknown' });
    checkNodeH2(exchanges);
    assert.equal(conn.stats.hpackUnresolvedFields, 0);
    assert.equal(conn.stats.framingLost, 0);
  }
});

test('node:http2 with a 200-byte HPACK table (SETTINGS_HEADER_TABLE_SIZE): evictions on both sides stay in sync', async () => {
  const proxy = await startRecordingProxy(h2Port);
  try {
    const client = http2.connect(`http://127.0.0.1:${proxy.port}`, { settings: { headerTableSize: 200 } });
    for (let i = 0; i < 30; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = client.request({ ':path': `/churn/${i}`, traceparent: `00-${String(i).padStart(32, '0')}-${'1'.repeat(16)}-01`, 'x-pad': 'p'.repeat(60 + i) });
        req.on('data', () => {});
        req.on('end', () => resolve());
        req.on('error', reject);
        req.end();
      });
    }
    await new Promise<void>((r) => client.close(() => r()));
  } finally { await proxy.close(); }
  for (let seed = 1; seed <= 5; seed++) {
    const { exchanges, conn } = replay(proxy.connections[0]!.chunks, prng(seed));
    assert.deepEqual(exchanges.map((e) => e.request.target), Array.from({ length: 30 }, (_, i) => `/churn/${i}`));
    exchanges.forEach((e, i) => {
      assert.equal(e.response?.status, 200);
      assert.equal(header(e, 'traceparent'), `00-${String(i).padStart(32, '0')}-${'1'.repeat(16)}-01`);
    });
    assert.equal(conn.stats.hpackUnresolvedFields, 0);
    assert.equal(conn.stats.hpackErrors, 0);
    assert.ok(conn.stats.hpackEvictions > 20, `evictions ${conn.stats.hpackEvictions}`);
  }
});

test('curl --http2-prior-knowledge against a node:http2 server', async (t) => {
  if (!toolOrSkip(t, 'curl')) return;
  const proxy = await startRecordingProxy(h2Port);
  try {
    // One connection per curl run: curl 7.88 fails (exit 16) when reusing an h2c connection to node.
    const curl = (path: string) => new Promise<string>((resolve, reject) => {
      const p = spawn('curl', ['-sS', '--http2-prior-knowledge', '-o', '/dev/null', '-w', '%{http_code} %{http_version}',
        '-H', `traceparent: ${TRACEPARENT}`, '-H', 'Authorization: Basic c2VjcmV0', `http://127.0.0.1:${proxy.port}${path}`]);
      let s = '';
      p.stdout.on('data', (d) => { s += d; });
      p.on('error', reject);
      p.on('close', (code) => (code === 0 ? resolve(s) : reject(new Error(`curl ${path} exited ${code}: ${s}`))));
    });
    assert.equal(await curl('/hello?from=curl'), '200 2');
    assert.equal(await curl('/missing'), '404 2');
  } finally { await proxy.close(); }
  const all: Exchange[] = [];
  assert.equal(proxy.connections.length, 2);
  for (const { chunks } of proxy.connections) {
    const first = replay(chunks, prng(1)).exchanges;
    all.push(...first);
    const shape = (ex: Exchange[]) => ex.map((e) => [e.request.method, e.request.target, e.response?.status, e.response?.bodySize]);
    for (let seed = 2; seed <= 10; seed++) assert.deepEqual(shape(replay(chunks, prng(seed)).exchanges), shape(first));
  }
  assert.deepEqual(all.map((e) => [e.request.method, e.request.target, e.response?.status]).sort(), [['GET', '/hello?from=curl', 200], ['GET', '/missing', 404]]);
  const hello = all.find((e) => e.request.target.startsWith('/hello'))!;
  assert.match(header(hello, 'user-agent') ?? '', /^curl\//);
  assert.equal(header(hello, 'traceparent'), TRACEPARENT);
  assert.equal(hello.response!.bodySize, 6000);
  assert.doesNotMatch(toJson(all), /c2VjcmV0|authorization/i);
});

// ---------------------------------------------------------------- @grpc/grpc-js

const identity = (b: Buffer): Buffer => b;
const SERVICE: grpc.ServiceDefinition = {
  SayHello: { path: '/helloworld.Greeter/SayHello', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  Fail: { path: '/helloworld.Greeter/Fail', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  Slow: { path: '/helloworld.Greeter/Slow', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  ListThings: { path: '/helloworld.Greeter/ListThings', requestStream: false, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
};

async function grpcConversation(): Promise<RecordedChunk[][]> {
  const server = new grpc.Server();
  server.addService(SERVICE, {
    SayHello: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.concat([Buffer.from('hello '), call.request])),
    Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb({ code: grpc.status.NOT_FOUND, details: 'no such thing: 100% ✓' }),
    Slow: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => { setTimeout(() => cb(null, Buffer.from('late')), 300); },
    ListThings: (call: grpc.ServerWritableStream<Buffer, Buffer>) => { for (let i = 0; i < 5; i++) call.write(Buffer.alloc(100 * (i + 1), i)); call.end(); },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const proxy = await startRecordingProxy(port);
  const Client = grpc.makeGenericClientConstructor(SERVICE, 'Greeter');
  const client = new Client(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure()) as unknown as Record<string, Function> & grpc.Client;
  const unary = (method: string, body: Buffer, options: grpc.CallOptions = {}) => new Promise<{ err: grpc.ServiceError | null; res?: Buffer }>((resolve) => {
    const md = new grpc.Metadata();
    md.set('traceparent', TRACEPARENT);
    md.set('authorization', 'Bearer grpc-secret');
    client[method]!.call(client, body, md, options, (err: grpc.ServiceError | null, res?: Buffer) => resolve({ err, res }));
  });
  try {
    const ok = await unary('SayHello', Buffer.from('world'));
    assert.equal(ok.res?.toString(), 'hello world');
    const fail = await unary('Fail', Buffer.from('x'));
    assert.equal(fail.err?.code, grpc.status.NOT_FOUND);
    const slow = await unary('Slow', Buffer.from('x'), { deadline: Date.now() + 50 });
    assert.equal(slow.err?.code, grpc.status.DEADLINE_EXCEEDED);
    const streamed = await new Promise<number>((resolve, reject) => {
      const call = client.ListThings!.call(client, Buffer.from('q')) as grpc.ClientReadableStream<Buffer>;
      let n = 0;
      call.on('data', () => { n++; });
      call.on('end', () => resolve(n));
      call.on('error', reject);
    });
    assert.equal(streamed, 5);
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => unary('SayHello', Buffer.from(`n${i}`))));
    assert.ok(many.every((r) => r.err === null));
    await new Promise((r) => setTimeout(r, 350)); // let the slow handler finish before closing
  } finally {
    client.close();
    await proxy.close();
    await new Promise<void>((r) => server.tryShutdown(() => r()));
  }
  return proxy.connections.map((c) => c.chunks);
}

let grpcRecording: Promise<RecordedChunk[][]> | undefined;
/** Recorded once, shared by the tests below (either may run alone with --test-name-pattern). */
const recordedGrpc = (): Promise<RecordedChunk[][]> => (grpcRecording ??= grpcConversation());

function checkGrpc(ex: Exchange[]): void {
  const m = byTarget(ex);
  const hello = m.get('/helloworld.Greeter/SayHello') ?? [];
  assert.equal(hello.length, 51);
  for (const e of hello) {
    assert.equal(e.protocol, 'grpc');
    assert.equal(e.request.method, 'POST');
    assert.equal(e.response?.status, 200);
    assert.equal(e.response?.grpcStatus, 0);
    assert.deepEqual(e.messages, { sent: 1, received: 1 });
    assert.equal(header(e, 'traceparent'), TRACEPARENT);
    assert.equal(header(e, 'content-type'), 'application/grpc');
    assert.match(header(e, 'user-agent') ?? '', /grpc-node-js/);
  }
  assert.deepEqual(parseGrpcPath(hello[0]!.request.target), { service: 'helloworld.Greeter', method: 'SayHello' });
  const fail = m.get('/helloworld.Greeter/Fail')![0]!;
  assert.equal(fail.response?.grpcStatus, 5);
  assert.equal(fail.response?.grpcMessage, 'no such thing: 100% ✓');
  assert.deepEqual(fail.messages, { sent: 1, received: 0 });
  const slow = m.get('/helloworld.Greeter/Slow')![0]!;
  assert.ok(header(slow, 'grpc-timeout'), 'grpc-timeout kept');
  // The client cancels at its deadline (RST_STREAM CANCEL); the server may race it with status 4.
  assert.ok(slow.error === 'cancelled' || slow.response?.grpcStatus === 4, JSON.stringify({ error: slow.error, status: slow.response?.grpcStatus }));
  const list = m.get('/helloworld.Greeter/ListThings')![0]!;
  assert.deepEqual(list.messages, { sent: 1, received: 5 });
  assert.equal(list.response?.grpcStatus, 0);
  assert.equal(list.response?.bodySize, 5 * 5 + 100 + 200 + 300 + 400 + 500);
  assert.ok(list.response!.endNs > list.request.startNs);
  assert.doesNotMatch(toJson(ex), /grpc-secret|authorization/);
}

test('grpc-js unary OK, error status, deadline, server streaming, 50 concurrent: random segmentations', async () => {
  const recording = await recordedGrpc();
  assert.equal(recording.length, 1, 'one HTTP/2 connection');
  for (let seed = 1; seed <= 20; seed++) {
    const { exchanges, conn } = replay(recording[0]!, prng(seed), { role: seed % 2 ? 'server' : 'unknown' });
    checkGrpc(exchanges);
    assert.equal(conn.stats.hpackUnresolvedFields, 0);
  }
});

test('grpc-js recording joined mid-stream: later calls decode, nothing wrong is emitted', async () => {
  const chunks = (await recordedGrpc())[0]!;
  const full = replay(chunks, prng(1)).exchanges;
  const known = new Set(full.map((e) => JSON.stringify([e.request.method, e.request.target, e.response?.status, e.response?.grpcStatus])));
  const requests = new Set(full.map((e) => JSON.stringify([e.request.method, e.request.target])));
  const total = { ingress: 0, egress: 0 };
  for (const c of chunks) total[c.dir] += c.bytes.length;
  let recovered = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = prng(100 + seed);
    // Drop between 100 bytes and 40% of each direction: includes the first HEADERS blocks.
    const drop = { ingress: 100 + Math.floor(rnd() * total.ingress * 0.4), egress: 100 + Math.floor(rnd() * total.egress * 0.4) };
    const { exchanges, conn } = replay(chunks, rnd, { role: 'server', seenFromStart: false }, drop);
    for (const e of exchanges) {
      // A response whose HEADERS fell before the join is missing, never wrong.
      assert.ok(requests.has(JSON.stringify([e.request.method, e.request.target])), `wrong request ${e.request.method} ${e.request.target}`);
      if (e.response) {
        const r = e.response;
        // grpc-status may itself be an unknown dynamic reference (missing); when present it must be right.
        const ok = r.grpcStatus === undefined
          ? full.some((f) => f.request.target === e.request.target && f.response?.status === r.status)
          : known.has(JSON.stringify([e.request.method, e.request.target, r.status, r.grpcStatus]));
        assert.ok(ok, `wrong response for ${e.request.target}: ${r.status} ${r.grpcStatus}`);
      }
      const th = header(e, 'traceparent');
      if (th !== undefined) assert.equal(th, TRACEPARENT);
      if (e.messages && e.request.target.endsWith('SayHello') && e.response) assert.ok(e.messages.received <= 1);
    }
    assert.ok(conn.stats.framingRecovered >= 1);
    recovered += exchanges.filter((e) => e.request.target === '/helloworld.Greeter/SayHello').length;
  }
  assert.ok(recovered > 20 * 10, `recovered ${recovered} SayHello calls over 20 joins`);
});
