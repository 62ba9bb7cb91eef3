// ConnectionTable fed by real probes (curl → python http.server, IPv4 and IPv6), plus the bounded
// memory behaviour on generated records.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConnectionTable, type Connection } from '../../src/capture/index.js';
import type { ConnectionEvent } from '../../src/ebpf/index.js';
import { bpfOrSkip, toolOrSkip } from '../helpers/env.js';
import { freePort, openProbes, run } from '../ebpf/capture-fixture.js';
import { startPythonHttp } from '../helpers/children.js';

test('curl → python3 http.server: both ends with pid, comm, role, addresses, bytes', async (t) => {
  if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl') || !toolOrSkip(t, 'python3')) return;
  const { probes, rec } = openProbes({ captureBytes: 64 });
  const table = new ConnectionTable();
  const closed: Connection[] = [];
  table.onChange((c, change) => { if (change === 'close') closed.push({ ...c }); });
  probes.onEvents((ev) => table.apply(ev));
  const docroot = mkdtempSync(join(tmpdir(), 'sonde-table-'));
  try {
    for (const host of ['127.0.0.1', '::1']) {
      const port = await freePort(host);
      const server = await startPythonHttp(host, port, docroot);
      try {
        const url = host.includes(':') ? `http://[${host}]:${port}/` : `http://${host}:${port}/`;
        const curl = await run('curl', ['-s', '-g', '-o', '/dev/null', '-w', '%{local_port}', url]);
        const clientPort = Number(curl.stdout);
        await rec.waitFor(`both ends of ${host} closed in the table`, () =>
          closed.some((c) => c.localPort === clientPort && c.remotePort === port) &&
          closed.some((c) => c.localPort === port && c.remotePort === clientPort));
        const client = closed.find((c) => c.localPort === clientPort && c.remotePort === port)!;
        const srv = closed.find((c) => c.localPort === port && c.remotePort === clientPort)!;
        assert.deepEqual([client.pid, client.comm, client.role, client.localAddr, client.remoteAddr, client.pidSource], [curl.pid, 'curl', 'client', host, host, 'connect']);
        assert.deepEqual([srv.pid, srv.comm, srv.role, srv.localAddr, srv.remoteAddr], [server.pid, 'python3', 'server', host, host]);
        assert.equal(srv.state, 'CLOSE');
        assert.ok(client.openTsNs! <= client.closeTsNs!);
        assert.ok(client.bytesSent > 0 && client.bytesSent === srv.bytesReceived, `${client.bytesSent} = ${srv.bytesReceived}`);
        assert.equal(client.bytesReceived, srv.bytesSent);
        assert.notEqual(srv.cookie, 0n, 'the server socket got its cookie from its first packet');
      } finally {
        await server.stop();
      }
    }
  } finally {
    probes.close();
  }
});

const ev = (over: Partial<ConnectionEvent>): ConnectionEvent => ({
  kind: 'connection', type: 'state', tsNs: 1n, cookie: 0n, sk: 0n, family: 4, oldState: 'CLOSE', newState: 'SYN_SENT',
  localAddr: '127.0.0.1', localPort: 1, remoteAddr: '127.0.0.1', remotePort: 2, bytesReceived: 0n, bytesSent: 0n, ...over,
});

test('joins a server socket on its kernel address until the cookie appears', () => {
  const table = new ConnectionTable({ procFallback: false });
  table.apply([
    ev({ sk: 77n, oldState: 'LISTEN', newState: 'SYN_RECV', localPort: 80, remotePort: 5000 }),
    ev({ sk: 77n, oldState: 'SYN_RECV', newState: 'ESTABLISHED', localPort: 80, remotePort: 5000 }),
    ev({ sk: 77n, cookie: 9n, oldState: 'ESTABLISHED', newState: 'CLOSE_WAIT', localPort: 80, remotePort: 5000 }),
  ]);
  assert.equal(table.size, 1);
  const c = table.get(9n)!;
  assert.deepEqual([c.role, c.state, c.sk], ['server', 'CLOSE_WAIT', 77n]);
  assert.equal(table.get(0n, 77n), c);
  assert.equal(table.applyConnectionEvent(ev({ sk: 77n, cookie: 9n, oldState: 'CLOSE_WAIT', newState: 'LAST_ACK', localPort: 80, remotePort: 5000 })), c,
    'the apply methods return the connection, so callers need no second lookup');
  assert.equal(table.applyConnectionEvent(ev({ sk: 5n, cookie: 5n, oldState: 'FIN_WAIT1', newState: 'CLOSE' })), undefined, 'the close of an unknown connection');
});

test('memory is bounded: closed entries expire, the table never exceeds maxEntries', () => {
  let now = 0n;
  const table = new ConnectionTable({ procFallback: false, maxEntries: 100, closedRetentionMs: 1, nowNs: () => now });
  for (let i = 1; i <= 1000; i++) table.apply([ev({ type: 'connect', cookie: BigInt(i), sk: BigInt(i), tsNs: BigInt(i) })]);
  assert.equal(table.size, 100);
  assert.equal(table.evicted, 900);
  assert.ok(table.get(1000n) && !table.get(1n), 'the oldest went first');
  for (let i = 901; i <= 1000; i++) table.apply([ev({ cookie: BigInt(i), sk: BigInt(i), oldState: 'SYN_SENT', newState: 'CLOSE', tsNs: 2000n })]);
  now = 2000n + 2_000_000n;
  table.sweep();
  assert.equal(table.size, 0);
});
