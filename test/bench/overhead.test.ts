// The measuring parts of bench/overhead against the real things: wrk's report, /proc CPU time,
// child cleanup, the OTLP sink fed by the OpenTelemetry SDK's exporter, prom-client's exposition.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Counter, Registry } from 'prom-client';
import { sumDropMetrics } from '../../bench/overhead/agent.js';
import { ChildProcesses, processCpuSeconds } from '../../bench/overhead/children.js';
import { OtlpSink } from '../../bench/overhead/sink.js';
import { parseWrkReport, runWrk } from '../../bench/overhead/wrk.js';
import { toolOrSkip } from '../helpers/env.js';

test('runWrk reads throughput, p99 and non-2xx responses from a real wrk run', async (t) => {
  if (!toolOrSkip(t, 'wrk') || !toolOrSkip(t, 'taskset', 'apt-get install util-linux')) return;
  const server = createServer((req, res) => res.writeHead(req.url === '/ok' ? 200 : 500).end('x'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const children = new ChildProcesses();
  try {
    const ok = await runWrk(children, { url: `http://127.0.0.1:${port}/ok`, durationSeconds: 1, connections: 4, cpu: 1 });
    assert.ok(ok.requests > 10, `requests ${ok.requests}`);
    assert.ok(ok.requestsPerSecond > 10 && ok.p99Ms > 0, JSON.stringify(ok));
    assert.equal(ok.non2xx, 0);
    const failing = await runWrk(children, { url: `http://127.0.0.1:${port}/fail`, durationSeconds: 1, connections: 4, cpu: 1 });
    assert.ok(failing.non2xx > 10 && failing.non2xx <= failing.requests, JSON.stringify(failing));
  } finally {
    await children.stopAll();
    server.close();
  }
});

test('parseWrkReport converts latency units and refuses a report without --latency', () => {
  const report = (p99: string) => `Running 1s test @ http://127.0.0.1:1/\n  Latency Distribution\n     50%  100.00us\n     99%    ${p99}\n  1200 requests in 1.00s, 100KB read\n  Socket errors: connect 0, read 1, write 0, timeout 2\nRequests/sec:   1199.50\n`;
  assert.equal(parseWrkReport(report('250.00us')).p99Ms, 0.25);
  assert.equal(parseWrkReport(report('1.50s')).p99Ms, 1500);
  assert.deepEqual(parseWrkReport(report('2.00ms')), { requests: 1200, requestsPerSecond: 1199.5, p99Ms: 2, non2xx: 0, socketErrors: 3 });
  assert.throws(() => parseWrkReport('  1200 requests in 1.00s\nRequests/sec: 1.0\n'), /99% latency/);
});

test('ChildProcesses stops a child that ignores SIGTERM; processCpuSeconds sees it work', async () => {
  const children = new ChildProcesses();
  const busy = children.spawn('busy', process.execPath, ['-e', "process.on('SIGTERM', () => {}); const end = Date.now() + 30000; while (Date.now() < end);"]);
  await new Promise((r) => setTimeout(r, 600));
  const cpu = processCpuSeconds(busy.process.pid!);
  assert.ok(cpu > 0.1 && cpu < 5, `cpu ${cpu}`);
  const started = Date.now();
  await children.stop(busy, 300);
  assert.equal(await busy.exited, 'SIGKILL');
  assert.ok(Date.now() - started < 5000);
});

test('OtlpSink counts the SERVER spans the OpenTelemetry exporter sent in the window, plain and gzip', async () => {
  const sink = new OtlpSink();
  const port = await sink.start();
  try {
    for (const compression of ['none', 'gzip'] as const) {
      const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces`, compression: compression as never });
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      const tracer = provider.getTracer('bench-test');
      tracer.startSpan('before the window', { kind: SpanKind.SERVER }).end();
      await provider.forceFlush();
      await new Promise((r) => setTimeout(r, 150));
      sink.mark();
      for (let i = 0; i < 3; i++) tracer.startSpan('GET', { kind: SpanKind.SERVER }).end();
      tracer.startSpan('GET', { kind: SpanKind.CLIENT }).end();
      await provider.forceFlush();
      const w = sink.window();
      assert.equal(w.serverSpans, 3, compression);
      assert.equal(w.undecodable, 0);
      assert.ok(w.requests >= 1 && w.bytes > 0);
      await provider.shutdown();
    }
  } finally {
    await sink.close();
  }
});

test('sumDropMetrics separates kernel drops from other sonde_*drop* counters of a real registry', async () => {
  const reg = new Registry();
  new Counter({ name: 'sonde_ebpf_kernel_dropped_total', help: 'k', registers: [reg] }).inc(5);
  const other = new Counter({ name: 'sonde_ebpf_telemetry_dropped_total', help: 'o', labelNames: ['reason'], registers: [reg] });
  other.inc({ reason: 'a' }, 2);
  other.inc({ reason: 'b' }, 3);
  new Counter({ name: 'sonde_ebpf_kernel_events_total', help: 'e', registers: [reg] }).inc(100);
  const counts = sumDropMetrics(await reg.metrics());
  assert.equal(counts.kernel, 5);
  assert.equal(counts.other, 5);
  assert.deepEqual(counts.names.sort(), ['sonde_ebpf_kernel_dropped_total', 'sonde_ebpf_telemetry_dropped_total']);
  const none = sumDropMetrics('# HELP x y\nsonde_ebpf_kernel_events_total 3\n');
  assert.equal(none.kernel, undefined);
  assert.equal(none.other, undefined);
});
