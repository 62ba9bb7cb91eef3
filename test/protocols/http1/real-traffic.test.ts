// Real curl and Node clients talk to a real Node http server through a recording proxy on
// 127.0.0.1; the recorded bytes, cut the way the kernel capture cuts packets, must give back
// exactly the exchanges the server handled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { Http1Connection } from '../../../src/protocols/http1/index.js';
import type { Exchange } from '../../../src/protocols/exchange.js';
import { toolOrSkip } from '../../helpers/env.js';
import { toJson } from '../../helpers/json.js';
import { captured, startRecordingProxy, type RecordedConnection, type RecordingProxy } from '../../helpers/recording-proxy.js';
import { run } from './segments.js';

const MB = 1 << 20;
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

interface Handled { line: string }

function startServer(handled: Handled[]): Promise<http.Server> {
  const big = Buffer.alloc(MB, 0x62);
  const server = http.createServer((req, res) => {
    let n = 0;
    req.on('data', (d: Buffer) => (n += d.length));
    req.on('end', () => {
      const path = new URL(req.url!, 'http://localhost').pathname;
      let status = 200;
      let sent = 0;
      const send = (body: Buffer | string) => { sent = req.method === 'HEAD' ? 0 : Buffer.byteLength(body); res.end(body); };
      if (path === '/hello') {
        res.setHeader('Content-Type', 'text/plain');
        send('hello world');
      } else if (path === '/big') {
        send(big);
      } else if (path === '/chunked') {
        res.write('a'.repeat(1000));
        res.write('b'.repeat(5000));
        res.write('c'.repeat(10));
        sent = req.method === 'HEAD' ? 0 : 6010;
        res.end();
      } else if (path === '/upload') {
        status = 201;
        res.statusCode = status;
        send(`got ${n}`);
      } else if (path.startsWith('/status/')) {
        status = Number(path.slice(8));
        res.statusCode = status;
        send('status');
      } else {
        status = 404;
        res.statusCode = status;
        send('not found');
      }
      handled.push({ line: `${req.method} ${req.url} ${n} -> ${status} ${sent}` });
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function runCurl(args: string[], stdin?: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('curl', ['-s', '-S', '--http1.1', ...args], { stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`curl ${args.join(' ')} exited ${code}: ${err}`))));
    if (stdin) p.stdin!.end(stdin);
  });
}

/** Sends three pipelined requests in one write and waits for the server to close. */
function pipelined(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write('GET /hello?p=1 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /status/500 HTTP/1.1\r\nHost: localhost\r\n\r\n' +
        'GET /chunked HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    s.on('data', () => undefined);
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

/** Parses a recorded connection as the kernel capture would deliver it, in recorded (= timestamp) order. */
function parse(rec: RecordedConnection, capture: number): { exchanges: Exchange[]; conn: Http1Connection } {
  const conn = new Http1Connection({ role: 'server' });
  return { exchanges: run(conn, captured(rec.chunks, capture)), conn };
}

const isChunked = (h: Array<[string, string]>) => h.some(([n, v]) => n === 'transfer-encoding' && /chunked/i.test(v));

/**
 * The exchange's line in the server log's format. A chunked body whose size lines fell into a hole
 * is estimated from wire bytes (an overestimate by those size lines): within 64 bytes of the
 * expected size it is shown as the expected size, otherwise as parsed, so the comparison fails.
 */
function normalize(x: Exchange, expectedLine: string | undefined): string {
  const m = /^\S+ \S+ (\d+) -> \d+ (\d+)$/.exec(expectedLine ?? '');
  const size = (got: number, chunked: boolean, want: number) => (chunked && got >= want && got <= want + 64 ? want : got);
  if (m === null) return line(x);
  const req = size(x.request.bodySize, isChunked(x.request.headers), Number(m[1]));
  const res = x.response ? size(x.response.bodySize, isChunked(x.response.headers), Number(m[2])) : undefined;
  return `${x.request.method} ${x.request.target} ${req} -> ${x.response?.status} ${res}`;
}

const line = (x: Exchange) => `${x.request.method} ${x.request.target} ${x.request.bodySize} -> ${x.response?.status} ${x.response?.bodySize}`;

test('curl and Node clients against a Node http server: parsed exchanges match what the server handled', async (t) => {
  if (!toolOrSkip(t, 'curl')) return;
  const handled: Handled[] = [];
  const server = await startServer(handled);
  let proxy: RecordingProxy | undefined;
  try {
    proxy = await startRecordingProxy((server.address() as net.AddressInfo).port);
    const port = proxy.port;
    const url = (p: string) => `http://127.0.0.1:${port}${p}`;
    // keep-alive: several URLs on one connection, with a traceparent
    await runCurl(['-H', `traceparent: ${TRACEPARENT}`, '-H', 'Authorization: Bearer s3cret', url('/hello?q=1'), url('/big'), url('/chunked'), url('/status/404'), url('/nowhere')]);
    await runCurl(['-I', url('/hello')]); // HEAD
    await runCurl(['-I', url('/chunked')]); // HEAD of a chunked resource
    await runCurl(['--data-binary', '@-', '-H', 'Expect: 100-continue', '-H', 'Content-Type: application/octet-stream', url('/upload')], new Uint8Array(MB).fill(0x75));
    await runCurl(['-H', 'Transfer-Encoding: chunked', '--data-binary', '@-', url('/upload?chunked=1')], new Uint8Array(70000).fill(0x76));
    await pipelined(port);
    await Promise.all(proxy.connections.map((c) => c.closed));
  } finally {
    await proxy?.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  const { connections } = proxy;
  assert.equal(connections.length, 6);
  const expected = handled.map((h) => h.line);
  assert.equal(expected.length, 12);

  // Large capture: every exchange exact, except that a chunked body whose size lines fell into a
  // hole is estimated from wire bytes (overestimated by those size lines).
  const all = connections.flatMap((rec) => parse(rec, 4096).exchanges);
  assert.deepEqual(all.map((x, i) => normalize(x, expected[i])), expected);
  assert.ok(all.every((x) => x.error === undefined));
  assert.deepEqual(all[0]!.request.headers.find(([n]) => n === 'traceparent'), ['traceparent', TRACEPARENT]);
  assert.ok(!toJson(all).includes('s3cret'), 'the Authorization header never reaches an exchange');
  for (const x of all) assert.ok(x.request.startNs <= x.response!.startNs && x.response!.startNs <= x.response!.endNs, line(x));

  // The default 256-byte capture: the curl connections (one response per read) are still exact.
  const curlConns = connections.slice(0, 5).flatMap((rec) => parse(rec, 256).exchanges);
  assert.deepEqual(curlConns.map((x, i) => normalize(x, expected[i])), expected.slice(0, 9));
  // The pipelined connection's three responses usually arrive in one 6 KB read: then the 2nd
  // response's head crosses the 256-byte capture (status kept, body unknown) and the 3rd lies
  // entirely in the hole (its request ends 'closed'). Requests always pair in order.
  const piped = parse(connections[5]!, 256);
  assert.deepEqual(piped.exchanges.map((x) => `${x.request.method} ${x.request.target}`), ['GET /hello?p=1', 'GET /status/500', 'GET /chunked']);
  assert.equal(line(piped.exchanges[0]!), expected[9]);
  for (const [i, x] of piped.exchanges.entries()) {
    const want = expected[9 + i]!;
    const ok = normalize(x, want) === want || (x.response === undefined && x.error === 'closed') || (x.response !== undefined && want.includes(`-> ${x.response.status} `));
    assert.ok(ok, `${line(x)} ${x.error ?? ''} vs ${want}`);
  }
  if (connections[5]!.chunks.filter((c) => c.dir === 'egress').length === 1) {
    assert.deepEqual(piped.exchanges.map((x) => x.response?.status ?? x.error), [200, 500, 'closed']);
    assert.equal(piped.conn.stats.unparseable, 1);
  }

  // A 64-byte capture cuts curl's request heads: exchanges still come out, paired in order.
  const small = connections.slice(0, 5).flatMap((rec) => parse(rec, 64).exchanges);
  assert.deepEqual(small.map((x) => `${x.request.method} ${x.response?.status}`), expected.slice(0, 9).map((l) => l.replace(/^(\S+) .* -> (\d+) .*$/, '$1 $2')));
});
