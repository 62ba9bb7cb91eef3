// Bounded, concurrent shutdown: with backends that refuse connections (a closed loopback port) or
// accept and never answer, the service still stops within its shutdown timeout, exporters stop
// concurrently, and every span that could not be delivered is counted and logged — none silently.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { encodeRequest } from '../../src/collector/pdata/otlp.js';
import { Service } from '../../src/collector/service/service.js';
import { freePort, sampleData, selfMetric, tempDir, waitFor } from './helpers.js';

/** A pino logger whose JSON lines are kept for assertions. */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  return { logger: pino({ level: 'info' }, sink), lines };
}

/** A TCP server on 127.0.0.1 that accepts connections and never answers (a hung backend). */
async function blackhole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => { sockets.add(s); s.on('error', () => {}); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

const SPANS_PER_REQUEST = sampleData().traces.resourceSpans[0]!.scopeSpans[0]!.spans.length;

/** Posts `n` OTLP/HTTP trace requests to the receiver, each answered once the batch is enqueued. */
async function sendTraces(port: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: encodeRequest('traces', sampleData(`r${i}`).traces, 'json') });
    assert.equal(res.status, 200, await res.text());
  }
}

function config(receiverPort: number, exporters: Record<string, string>): string {
  const defs = Object.entries(exporters).map(([id, body]) => `  ${id}: ${body}`).join('\n');
  return `
receivers: { otlp: { protocols: { http: { endpoint: "127.0.0.1:${receiverPort}" } } } }
processors: { batch: { timeout: 20ms } }
exporters:
${defs}
service: { pipelines: { traces: { receivers: [otlp], processors: [batch], exporters: [${Object.keys(exporters).join(', ')}] } } }
`;
}

const droppedLogs = (lines: Array<Record<string, unknown>>) => lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('Shutdown: dropped'));

describe('service shutdown', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => { for (const c of closers) await c(); });

  it('stops within the deadline with exporters whose backend port is closed, counting every span it drops', async () => {
    const closed = await freePort(); // nothing listens there: connections are refused
    const receiverPort = await freePort();
    const { logger, lines } = capturingLogger();
    const exporters = {
      'otlphttp/a': `{ endpoint: "http://127.0.0.1:${closed}" }`,
      'otlphttp/b': `{ endpoint: "http://127.0.0.1:${closed}", compression: none }`,
      'otlp/c': `{ endpoint: "127.0.0.1:${closed}", tls: { insecure: true } }`,
    };
    const svc = await Service.fromYaml(config(receiverPort, exporters), { logger, selfMetrics: new Registry(), shutdownTimeoutMs: 4000 });
    await svc.start();
    await sendTraces(receiverPort, 5);
    const sent = 5 * SPANS_PER_REQUEST;
    // Each exporter's first attempt fails and the data waits for a retry 5 s later (the default backoff).
    await waitFor('first failed attempts', () => lines.some((l) => l.msg === 'Exporting failed. Will retry the request after interval.'));
    const began = Date.now();
    await svc.shutdown();
    const took = Date.now() - began;
    assert.ok(took < 4000, `shutdown took ${took} ms, more than the 4 s timeout`);
    for (const id of Object.keys(exporters)) {
      assert.equal(await selfMetric(svc, 'sonde_exporter_send_failed_spans_total', { exporter: id }), sent, `send_failed for ${id}`);
      assert.equal(await selfMetric(svc, 'sonde_exporter_sent_spans_total', { exporter: id }), 0);
    }
    const drops = droppedLogs(lines);
    assert.deepEqual(drops.map((l) => l.name).sort(), Object.keys(exporters).sort(), JSON.stringify(drops));
    for (const l of drops) {
      assert.equal(l.dropped_items, sent);
      assert.match(String(l.last_error), /ECONNREFUSED|UNAVAILABLE|No connection established|connect/i);
    }
    assert.ok(lines.some((l) => l.msg === 'Shutdown complete.'));
  });

  it('aborts hung exports at the deadline, stops exporters concurrently, and reports what was still queued', async () => {
    const hole = await blackhole();
    closers.push(hole.close);
    const receiverPort = await freePort();
    const { logger, lines } = capturingLogger();
    // One consumer each and a 60 s attempt timeout: one request hangs in flight, the rest stay queued.
    const body = `{ endpoint: "http://127.0.0.1:${hole.port}", timeout: 60s, sending_queue: { num_consumers: 1 } }`;
    const exporters = { 'otlphttp/a': body, 'otlphttp/b': body, 'otlphttp/c': body };
    const timeoutMs = 2000;
    const svc = await Service.fromYaml(config(receiverPort, exporters), { logger, selfMetrics: new Registry(), shutdownTimeoutMs: timeoutMs });
    await svc.start();
    await sendTraces(receiverPort, 4);
    const sent = 4 * SPANS_PER_REQUEST;
    const began = Date.now();
    await svc.shutdown();
    const took = Date.now() - began;
    // Sequential exporter shutdown would need 3 × the drain time; concurrent needs one deadline.
    assert.ok(took < timeoutMs, `shutdown took ${took} ms, more than the ${timeoutMs} ms timeout`);
    assert.ok(took >= timeoutMs - 1000 - 100, `shutdown took only ${took} ms: the hung exports cannot have finished`);
    assert.ok(lines.some((l) => l.msg?.toString().startsWith('Shutdown deadline reached')));
    const drops = droppedLogs(lines);
    assert.equal(drops.length, 3, JSON.stringify(lines.slice(-10)));
    for (const l of drops) {
      assert.equal(l.dropped_items, sent);
      assert.ok(Number(l.queued_at_deadline) > 0, 'some spans were still queued at the deadline');
      assert.equal(await selfMetric(svc, 'sonde_exporter_send_failed_spans_total', { exporter: String(l.name) }), sent);
    }
    assert.ok(lines.some((l) => l.msg === 'Shutdown complete.'), 'every component stopped by the hard timeout');
  });

  it('sonde run --shutdown-timeout exits on SIGTERM within the timeout and logs the spans it dropped', async () => {
    const hole = await blackhole();
    closers.push(hole.close);
    const receiverPort = await freePort();
    const dir = tempDir();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, config(receiverPort, {
      'otlphttp/a': `{ endpoint: "http://127.0.0.1:${hole.port}", timeout: 60s }`,
      'otlphttp/b': `{ endpoint: "http://127.0.0.1:${hole.port}", timeout: 60s }`,
    }));
    const cli = new URL('../../src/cli.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [cli, 'run', '--config', file, '--shutdown-timeout', '1500ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor('the receiver', async () => {
        try { return (await fetch(`http://127.0.0.1:${receiverPort}/`)).status > 0; } catch { return false; }
      });
      await sendTraces(receiverPort, 2);
      const began = Date.now();
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      const took = Date.now() - began;
      assert.ok(took < 1500 + 1000, `sonde run took ${took} ms to exit`); // + process exit
      const drops = stderr.split('\n').filter((l) => l.includes('Shutdown: dropped')).map((l) => JSON.parse(l));
      assert.equal(drops.length, 2, stderr);
      for (const d of drops) assert.equal(d.dropped_items, 2 * SPANS_PER_REQUEST);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('rejects a malformed --shutdown-timeout with a clear error', async () => {
    const cli = new URL('../../src/cli.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [cli, 'run', '--shutdown-timeout', 'soon'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 2);
    assert.match(stderr, /--shutdown-timeout: invalid duration "soon"/);
  });
});
