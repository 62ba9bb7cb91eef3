// In-kernel filters configured through .rodata: port allow-list, message-start-only, capture size,
// cgroup, payload off. Each is checked on real traffic and through the filtered counter.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { cgroup2Root } from '../../src/ebpf/index.js';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { bpfOrSkip, toolOrSkip } from '../helpers/env.js';
import { freePort, openProbes, run } from './capture-fixture.js';

async function httpServer(body: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end(body));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}

test('port allow-list + message-start-only: only message starts on listed ports', async (t) => {
  if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
  const a = await httpServer('x'.repeat(100_000));
  const b = await httpServer('y');
  const { probes, rec } = openProbes({ ports: [a.port], messageStartOnly: true, captureBytes: 1024 });
  try {
    const before = probes.stats().filtered;
    await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${a.port}/a`]);
    await run('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${b.port}/b`]);
    await rec.waitFor('request and response on port A', () =>
      rec.payloads.filter((p) => p.localPort === a.port && p.direction === 'ingress').length > 0 &&
      rec.payloads.some((p) => p.localPort === a.port && p.direction === 'egress'));
    await new Promise((r) => setTimeout(r, 100));
    probes.drain();
    assert.ok(!rec.payloads.some((p) => p.localPort === b.port || p.remotePort === b.port), 'nothing from port B');
    const onA = rec.payloads.filter((p) => p.localPort === a.port || p.remotePort === a.port);
    for (const p of onA) assert.match(Buffer.from(p.head).toString('latin1'), /^(GET |HTTP\/)/, 'only message starts');
    const resp = onA.find((p) => p.direction === 'egress' && p.localPort === a.port)!;
    assert.equal(resp.head.length, Math.min(1024, resp.length), 'captureBytes 1024 honoured');
    assert.ok(probes.stats().filtered > before, 'the body packets and port B were counted as filtered');
  } finally {
    probes.close();
    a.server.close();
    b.server.close();
  }
});

test('cgroup filter: a cgroup nobody is in filters every payload; payload off emits connections only', async (t) => {
  if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
  const root = cgroup2Root()!;
  const a = await httpServer('z');
  // The root cgroup's id is 1 and sockets are charged to leaf cgroups; use a cgroup we create and leave empty.
  const { mkdirSync, rmdirSync } = await import('node:fs');
  const empty = `${root}/sonde-test-${process.pid}`;
  mkdirSync(empty, { recursive: true });
  try {
    assert.ok(statSync(empty).ino > 1);
    const { probes, rec } = openProbes({ cgroupPath: empty });
    const off = openProbes({ payload: false });
    try {
      const curl = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{local_port}', `http://127.0.0.1:${a.port}/`]);
      const clientPort = Number(curl.stdout);
      await rec.waitFor('the connection closed', () => rec.connections.some((e) => e.localPort === clientPort && e.newState === 'CLOSE'));
      await off.rec.waitFor('connections without payload', () => off.rec.connections.some((e) => e.localPort === clientPort && e.newState === 'CLOSE'));
      assert.ok(!rec.payloads.some((p) => p.localPort === a.port || p.remotePort === a.port), 'no payload outside the cgroup');
      assert.ok(probes.stats().filtered > 0);
      assert.equal(off.rec.payloads.length, 0);
      assert.equal(off.probes.stats().payloadEvents, 0);
    } finally {
      probes.close();
      off.probes.close();
    }
  } finally {
    rmdirSync(empty);
    a.server.close();
  }
});

test('cgroup filter: payload of a server started inside the cgroup is captured', async (t) => {
  if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl') || !toolOrSkip(t, 'python3')) return;
  const { mkdirSync, rmdirSync } = await import('node:fs');
  const cg = `${cgroup2Root()!}/sonde-test-in-${process.pid}`;
  mkdirSync(cg, { recursive: true });
  const port = await freePort();
  // The shell moves itself into the cgroup before exec: the listening socket is created inside it.
  const server = spawn('sh', ['-c', `echo $$ > ${cg}/cgroup.procs && exec python3 -m http.server ${port} --bind 127.0.0.1`],
    { cwd: mkdtempSync(join(tmpdir(), 'sonde-cg-')), stdio: 'ignore' });
  const { probes, rec } = openProbes({ cgroupPath: cg });
  try {
    let code = '';
    for (let i = 0; i < 100 && code !== '200'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      code = (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/`])).stdout;
    }
    assert.equal(code, '200');
    await rec.waitFor('server-side payload from inside the cgroup', () =>
      rec.payloads.some((p) => p.localPort === port && p.direction === 'ingress') && rec.payloads.some((p) => p.localPort === port && p.direction === 'egress'));
    assert.ok(!rec.payloads.some((p) => p.remotePort === port), 'the client (curl, outside the cgroup) is filtered');
  } finally {
    probes.close();
    server.kill();
    await once(server, 'exit');
    for (let i = 0; i < 20; i++) {
      try { rmdirSync(cg); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
    }
  }
});
