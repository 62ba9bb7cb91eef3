// Reassembly on real traffic: a 200 KB POST arrives as several large ingress packets; the
// reassembled stream at the server is contiguous from offset 0 and as long as the kernel counted.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CapturedSegment } from '../../src/protocols/segment.js';
import { ConnectionStreams } from '../../src/capture/index.js';
import { bpfOrSkip, toolOrSkip } from '../helpers/env.js';
import { openProbes, run } from '../ebpf/capture-fixture.js';

test('a 200 KB POST reassembles into one contiguous ingress stream', async (t) => {
  if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
  const body = join(mkdtempSync(join(tmpdir(), 'sonde-post-')), 'body');
  writeFileSync(body, Buffer.alloc(200_000, 'x'));
  const server = createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const { probes, rec } = openProbes({ captureBytes: 128, ports: [port] });
  const streams = new ConnectionStreams();
  const segments: CapturedSegment[] = [];
  let cookie = 0n;
  probes.onPayloadEvents((evs) => {
    for (const e of evs) {
      if (e.direction !== 'ingress' || e.localPort !== port) continue;
      cookie = e.cookie;
      segments.push(...streams.push(e));
    }
  });
  try {
    const curl = await run('curl', ['-s', '-o', '/dev/null', '-H', 'Expect:', '--data-binary', `@${body}`, `http://127.0.0.1:${port}/upload`]);
    assert.equal(curl.code, 0);
    await rec.waitFor('server socket closed', () => rec.connections.some((e) => e.localPort === port && e.newState === 'CLOSE' && e.cookie === cookie));
    const received = Number(rec.connections.find((e) => e.localPort === port && e.newState === 'CLOSE' && e.cookie === cookie)!.bytesReceived);
    assert.match(Buffer.from(segments[0]!.head).toString(), /^POST \/upload HTTP\/1\.1\r\n/);
    let expected = 0;
    for (const s of segments) {
      assert.equal(s.offset, expected, 'contiguous');
      expected += s.length;
    }
    assert.equal(expected, received, 'all bytes the kernel received are accounted for');
    assert.ok(expected > 200_000);
    assert.equal(streams.get(cookie, 'ingress')!.stats.gapsSkipped, 0);
  } finally {
    probes.close();
    server.close();
  }
});
