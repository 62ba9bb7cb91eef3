// bench/overhead's `grpc` handler against the real fixtures: the grpc-js client fixture makes calls
// the grpc-js server fixture answers, and with the OpenTelemetry SDK preloaded every answered call
// arrives at the bench's OTLP sink as a SERVER span.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ChildProcesses, jsonLine, type TrackedChild, waitForStdoutLine } from '../../bench/overhead/children.js';
import { runGrpcLoad } from '../../bench/overhead/grpc-load.js';
import { OtlpSink } from '../../bench/overhead/sink.js';
import { repoRoot } from '../../src/ebpf/paths.js';
import { toolOrSkip } from '../helpers/env.js';

const root = repoRoot();
const serverScript = join(root, 'bench', 'fixtures', 'grpc-server.cjs');

async function startServer(children: ChildProcesses, nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ server: TrackedChild; port: number }> {
  const server = children.spawn('grpc server', process.execPath, [...nodeArgs, serverScript], { cwd: root, env: { ...process.env, ...env } });
  const { port } = await waitForStdoutLine(server, (l) => jsonLine(l) as { port: number } | undefined, 20_000, 'its port');
  return { server, port };
}

/** Stops the server fixture and returns the number of calls it says it answered. */
async function stopAndCountCalls(children: ChildProcesses, server: TrackedChild): Promise<number> {
  const answered = waitForStdoutLine(server, (l) => (jsonLine(l) as { calls?: number } | undefined)?.calls, 5000, 'its call count');
  await children.stop(server);
  return answered;
}

test('the grpc client fixture keeps unary calls in flight against the server fixture and reports rate, latency and its own CPU', async (t) => {
  if (!toolOrSkip(t, 'taskset', 'apt-get install util-linux')) return;
  const children = new ChildProcesses();
  try {
    const { server, port } = await startServer(children);
    const r = await runGrpcLoad(children, { root, port, durationSeconds: 1, concurrency: 8, cpu: 1 });
    assert.equal(r.errors, 0, String(r.firstError));
    assert.ok(r.calls > 50, `calls ${r.calls}`);
    assert.ok(r.callsPerSecond > 50 && r.callsPerSecond < r.calls * 1.5, JSON.stringify(r));
    assert.ok(r.p50Ms > 0 && r.p99Ms >= r.p50Ms, JSON.stringify(r));
    assert.ok(r.cpuSeconds > 0 && r.cpuShare > 0 && r.cpuShare <= 1.2, JSON.stringify(r));
    // Every call the client counted was answered by this server (which also answered the last in-flight ones).
    const answered = await stopAndCountCalls(children, server);
    assert.ok(answered >= r.calls && answered <= r.calls + 8 + r.callsPerSecond * 0.5, `server answered ${answered}, client counted ${r.calls}`);
  } finally {
    await children.stopAll();
  }
});

test('with the OpenTelemetry SDK preloaded, the grpc server fixture sends one SERVER span per answered call to the sink', async (t) => {
  if (!toolOrSkip(t, 'taskset', 'apt-get install util-linux')) return;
  const children = new ChildProcesses();
  const sink = new OtlpSink();
  try {
    const sinkPort = await sink.start();
    const { server, port } = await startServer(children, ['--require', join(root, 'bench', 'fixtures', 'otel-sdk.cjs')], { SONDE_BENCH_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}` });
    sink.mark();
    const r = await runGrpcLoad(children, { root, port, durationSeconds: 1, concurrency: 4, cpu: 1 });
    assert.equal(r.errors, 0, String(r.firstError));
    assert.ok(r.calls > 20, `calls ${r.calls}`);
    // The SDK's batches leave at least every second; the sink is idle once the last one is in.
    await sink.waitForIdle(1500, 10_000);
    const window = sink.window();
    const spans = window.serverSpans;
    const answered = await stopAndCountCalls(children, server);
    assert.ok(spans !== undefined && spans >= r.calls && spans <= answered, `server spans ${spans}, client calls ${r.calls}, server answered ${answered}, sink requests ${window.requests}, undecodable ${window.undecodable}`);
  } finally {
    await children.stopAll();
    await sink.close();
  }
});
