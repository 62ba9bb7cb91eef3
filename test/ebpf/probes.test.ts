// Real probes against real servers and clients on loopback: connection events with the right pids,
// ports and roles over IPv4 and IPv6, payload heads with the request bytes, refused connects, 200
// concurrent connections, and self-metrics.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CaptureProbes, ConnectionEvent } from '../../src/ebpf/index.js';
import { bpfOrSkip, bpfUnavailableReason, toolOrSkip } from '../helpers/env.js';
import { freePort, openProbes, run, type Recorder } from './capture-fixture.js';
import { startPythonHttp } from '../helpers/children.js';

const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

describe('capture probes', () => {
  let probes: CaptureProbes | undefined;
  let rec: Recorder;
  const docroot = mkdtempSync(join(tmpdir(), 'sonde-probes-'));
  writeFileSync(join(docroot, 'x'), 'hello from python\n');

  before(() => {
    if (bpfUnavailableReason()) return;
    ({ probes, rec } = openProbes({ captureBytes: 256 }));
  });
  after(() => probes?.close());

  /** connection events of one connection, identified by the client's local port. */
  const byTuple = (port: number, remotePort: number) => (e: ConnectionEvent) => e.localPort === port && e.remotePort === remotePort;

  for (const host of ['127.0.0.1', '::1']) {
    test(`curl → python3 http.server over ${host}: pids, ports, roles, payload`, async (t) => {
      if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl') || !toolOrSkip(t, 'python3')) return;
      const port = await freePort(host);
      const server = await startPythonHttp(host, port, docroot);
      try {
        const url = host.includes(':') ? `http://[${host}]:${port}/x` : `http://${host}:${port}/x`;
        const curl = await run('curl', ['-s', '-g', '-o', '/dev/null', '-w', '%{local_port} %{http_code}', url]);
        const [clientPortText, status] = curl.stdout.split(' ');
        assert.equal(status, '200');
        const clientPort = Number(clientPortText);
        await rec.waitFor('both sides closed', () =>
          rec.connections.some((e) => byTuple(clientPort, port)(e) && e.newState === 'CLOSE') &&
          rec.connections.some((e) => byTuple(port, clientPort)(e) && e.newState === 'CLOSE'));

        // Client: the connect hook names curl's pid; the SYN_SENT transition agrees.
        const connect = rec.connections.find((e) => e.type === 'connect' && e.remotePort === port && e.pid === curl.pid);
        assert.ok(connect, `connect event from curl pid ${curl.pid}`);
        assert.equal(connect.comm, 'curl');
        assert.equal(connect.family, host.includes(':') ? 6 : 4);
        const clientStates = rec.connections.filter(byTuple(clientPort, port));
        assert.ok(clientStates.some((e) => e.oldState === 'SYN_SENT' && e.newState === 'ESTABLISHED'));
        assert.ok(clientStates.every((e) => e.localAddr === host && e.remoteAddr === host), JSON.stringify(clientStates.map((e) => e.localAddr)));
        const clientClose = clientStates.find((e) => e.newState === 'CLOSE')!;
        assert.equal(clientClose.cookie, connect.cookie, 'same socket cookie from connect to close');

        // Server: born from the listener (LISTEN → SYN_RECV); its response leaves from python's pid.
        const serverStates = rec.connections.filter(byTuple(port, clientPort));
        assert.ok(serverStates.some((e) => e.oldState === 'LISTEN' && e.newState === 'SYN_RECV'));
        const serverClose = serverStates.find((e) => e.newState === 'CLOSE')!;
        assert.equal(clientClose.bytesSent, serverClose.bytesReceived, 'bytes client → server agree on both ends');
        assert.equal(clientClose.bytesReceived, serverClose.bytesSent, 'bytes server → client agree on both ends');

        const request = rec.payloads.find((p) => p.direction === 'ingress' && p.localPort === port && p.remotePort === clientPort);
        assert.ok(request, 'request payload seen on ingress at the server');
        assert.match(text(request.head), /^GET \/x HTTP\/1\.1\r\nHost: /);
        assert.equal(request.length, request.head.length, 'a short request fits the head');
        assert.equal(request.cookie, serverClose.cookie);
        assert.equal(BigInt(request.length), serverClose.bytesReceived, 'real length = bytes the kernel counted');
        const sent = rec.payloads.find((p) => p.direction === 'egress' && p.localPort === clientPort && p.remotePort === port);
        assert.ok(sent, 'request payload seen on egress at the client');
        assert.equal(sent.pid, curl.pid, 'egress from curl carries its pid');
        assert.equal(sent.cookie, connect.cookie);
        assert.equal(text(sent.head), text(request.head));
        const response = rec.payloads.filter((p) => p.direction === 'egress' && p.localPort === port && p.remotePort === clientPort);
        assert.ok(response.some((p) => p.pid === server.pid), `response egress carries python's pid ${server.pid}`);
        assert.ok(response.some((p) => text(p.head).startsWith('HTTP/1.0 200 OK')));
        assert.equal(BigInt(response.reduce((n, p) => n + p.length, 0)), serverClose.bytesSent);
      } finally {
        await server.stop();
      }
    });
  }

  test('curl → Node http server: server pid, roles, head and tail of a long response', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    const body = `${'a'.repeat(3000)}THE-END`;
    const server = createHttpServer((_req, res) => res.end(body));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    try {
      const curl = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{local_port}', `http://127.0.0.1:${port}/node`]);
      const clientPort = Number(curl.stdout);
      await rec.waitFor('server-side response', () =>
        rec.payloads.some((p) => p.direction === 'egress' && p.localPort === port && p.remotePort === clientPort && p.pid === process.pid));
      const response = rec.payloads.filter((p) => p.direction === 'egress' && p.localPort === port && p.remotePort === clientPort);
      const withBody = response.find((p) => text(p.tail).endsWith('THE-END'));
      assert.ok(withBody, 'the tail of the packet carrying the end of the body is captured');
      assert.ok(withBody.head.length <= 256 && withBody.length > 256);
      assert.equal(withBody.tail.length, 16);
      const request = rec.payloads.find((p) => p.direction === 'ingress' && p.localPort === port && p.remotePort === clientPort);
      assert.match(text(request!.head), /^GET \/node HTTP\/1\.1/);
      assert.equal(request!.pid, undefined, 'ingress never claims a pid');
      assert.ok(rec.connections.some((e) => e.type === 'connect' && e.pid === curl.pid && e.remotePort === port));
    } finally {
      server.close();
    }
  });

  test('refused connects and connects to closed ports do not break capture', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    const closed4 = await freePort('127.0.0.1');
    const closed6 = await freePort('::1');
    const r4 = await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${closed4}/`]);
    const r6 = await run('curl', ['-s', '-g', '-o', '/dev/null', `http://[::1]:${closed6}/`]);
    assert.notEqual(r4.code, 0);
    assert.notEqual(r6.code, 0);
    await rec.waitFor('both refused sockets closed', () => [closed4, closed6].every((p) =>
      rec.connections.some((e) => e.remotePort === p && e.oldState === 'SYN_SENT' && e.newState === 'CLOSE')));
    assert.ok(rec.connections.some((e) => e.type === 'connect' && e.remotePort === closed4 && e.pid === r4.pid));
    assert.ok(rec.connections.some((e) => e.type === 'connect' && e.remotePort === closed6 && e.pid === r6.pid && e.family === 6));
    assert.equal(probes!.malformedRecords, 0);
    assert.equal(probes!.closed, false, 'probes still running');
  });

  test('200 concurrent connections are all seen, with the client pid', async (t) => {
    if (!bpfOrSkip(t)) return;
    const N = 200;
    const server = createTcpServer((s) => s.on('data', (d) => s.end(d)));
    server.listen(0, '127.0.0.1', 511);
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    try {
      // A separate process opens all N connections at once, each echoes a ping, then closes.
      const script = `
        const net = require('node:net');
        let done = 0;
        for (let i = 0; i < ${N}; i++) {
          const s = net.connect(${port}, '127.0.0.1', () => s.write('ping' + i));
          s.on('data', () => s.end());
          s.on('close', () => { if (++done === ${N}) process.exit(0); });
          s.on('error', (e) => { console.error(e.message); process.exit(1); });
        }`;
      const client = await run(process.execPath, ['-e', script]);
      assert.equal(client.code, 0);
      const connects = () => new Set(rec.connections.filter((e) => e.type === 'connect' && e.remotePort === port && e.pid === client.pid).map((e) => e.cookie));
      const serverSides = () => new Set(rec.connections.filter((e) => e.localPort === port && e.newState === 'ESTABLISHED').map((e) => e.sk));
      const pings = () => rec.payloads.filter((p) => p.direction === 'ingress' && p.localPort === port && text(p.head).startsWith('ping')).length;
      await rec.waitFor(`${N} connects, accepts and pings`, () => connects().size === N && serverSides().size === N && pings() === N);
      assert.equal(probes!.stats().dropped, 0);
    } finally {
      server.close();
    }
  });

  test('stats() counts emitted and filtered events', async (t) => {
    if (!bpfOrSkip(t)) return;
    const s = probes!.stats();
    assert.ok(s.payloadEvents >= rec.payloads.length, `${s.payloadEvents} >= ${rec.payloads.length}`);
    assert.ok(s.connEvents >= rec.connections.length);
    assert.equal(s.filtered, 0, 'no filter configured');
  });
});
