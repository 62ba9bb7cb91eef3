// `sonde doctor` and `sonde connections` run as a user would run them (a separate process).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { bpfOrSkip, toolOrSkip } from '../helpers/env.js';
import { freePort, run } from './capture-fixture.js';
import { startPythonHttp } from '../helpers/children.js';

const cli = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

test('sonde doctor exits 0 and lists every probe loaded and attached', async (t) => {
  if (!bpfOrSkip(t)) return;
  const r = await run(process.execPath, [cli, 'doctor', '--json']);
  const report = JSON.parse(r.stdout) as { ok: boolean; checks: { check: string; ok: boolean; detail: string }[] };
  assert.equal(r.code, 0, r.stdout);
  assert.equal(report.ok, true);
  for (const probe of ['cgroup_skb/ingress', 'cgroup_skb/egress', 'tracepoint/sock/inet_sock_set_state', 'cgroup/connect4', 'cgroup/connect6', 'raw_tp/tcp_rcv_space_adjust']) {
    const c = report.checks.find((x) => x.check === `probe ${probe}`);
    assert.ok(c?.ok, `${probe}: ${c?.detail}`);
  }
});

test('sonde connections --json shows curl → python3 http.server with both pids and ports', async (t) => {
  if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl') || !toolOrSkip(t, 'python3')) return;
  const port = await freePort();
  const server = await startPythonHttp('127.0.0.1', port, mkdtempSync(join(tmpdir(), 'sonde-cmd-')));
  const agent = spawn(process.execPath, [cli, 'connections', '--json', '--duration', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(agent, 'exit'); // registered at spawn: the agent may finish while we are busy
  let out = '';
  let err = '';
  agent.stdout.on('data', (d: Buffer) => (out += d.toString()));
  agent.stderr.on('data', (d: Buffer) => (err += d.toString()));
  try {
    // Wait until the probes are attached: the agent sees our own probe connection.
    let curl = { pid: 0, stdout: '' };
    for (let i = 0; i < 40 && !out.includes(`:${port}"`); i++) {
      await new Promise((r) => setTimeout(r, 100));
      curl = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{local_port}', `http://127.0.0.1:${port}/`]);
    }
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, err);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const clientPort = Number(curl.stdout);
    const client = lines.find((l) => l.event === 'close' && l.local === `127.0.0.1:${clientPort}` && l.remote === `127.0.0.1:${port}`);
    const srv = lines.find((l) => l.event === 'close' && l.local === `127.0.0.1:${port}` && l.remote === `127.0.0.1:${clientPort}`);
    assert.ok(client && srv, `both ends of the last curl connection in:\n${out}`);
    assert.deepEqual([client.pid, client.comm, client.role, client.state], [curl.pid, 'curl', 'client', 'CLOSE']);
    assert.deepEqual([srv.pid, srv.comm, srv.role], [server.pid, 'python3', 'server']);
    for (const k of ['open_ts', 'close_ts']) assert.match(String(client[k]), /^\d{4}-\d\d-\d\dT/);
    assert.match(err, /kernel events: \d+ connection/);
  } finally {
    await server.stop();
    agent.kill();
  }
});
