// Sonde next to an app that the OpenTelemetry JS SDK already instruments (mission item 4: eBPF
// telemetry merged with the OTLP of SDK-instrumented apps, without duplicates). One Service runs
// the `ebpf` receiver and an `otlp` receiver into one sink; beside it, two Node http servers with
// the SDK (HTTP auto-instrumentation exporting to Sonde, one over OTLP/HTTP, one over OTLP/gRPC:
// bench/fixtures/otel-sdk.cjs preloaded into bench/fixtures/http-server.cjs), a third one whose
// SDK exports only metrics, and an uninstrumented python http.server, all called by curl. What is
// asserted is what docs/ebpf-receiver.md ("Apps instrumented with an OpenTelemetry SDK") promises:
//   - SDK app exporting traces: its requests are reported as eBPF spans only until Sonde sees its
//     first trace export (the warm-up window: both the SDK's and Sonde's SERVER span for those);
//     from then on, exactly one SERVER span per request, the SDK's; its exports are never reported
//     as spans. It exports no metrics, so Sonde's RED metrics keep counting all its requests.
//   - SDK app exporting only metrics: it keeps one eBPF SERVER span per request; Sonde's RED
//     metrics of it stop at its first metrics export.
//   - python: exactly one SERVER span per request, from eBPF.
//   - curl (not instrumented): exactly one eBPF CLIENT span per request, towards either server;
//     with a traceparent it takes the header's ids, so the SDK's SERVER span is its child.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SpanKind } from '../../src/collector/pdata/model.js';
import { SONDE_SCOPE_NAME } from '../../src/telemetry/scope.js';
import { packageRoot } from '../../src/util/package-root.js';
import { selfMetric } from '../collector/helpers.js';
import { bpfOrSkip, bpfUnavailableReason, toolOrSkip } from '../helpers/env.js';
import {
  attr, curl, freePort, startAgent, startChild, startPythonHttp, waitFor, waitForOutput, type Agent, type Child, type SeenSpan,
} from './harness.js';

const noBpf = bpfUnavailableReason() !== undefined && process.env.SONDE_REQUIRE_BPF !== '1';
const REQUESTS = 5;
/** Long enough for late duplicates to have been flushed (flush_interval is 100 ms). */
const SETTLE_MS = 400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const captured = (s: SeenSpan) => s.scope === SONDE_SCOPE_NAME;
/** Spans Sonde captured for process `pid` (its resource is that process). */
const capturedOf = (spans: SeenSpan[], pid: number) => spans.filter((s) => captured(s) && s.resource['process.pid'] === pid);
/** eBPF CLIENT spans of calls to `port` (curl's). */
const clientSpansTo = (spans: SeenSpan[], port: number) => spans.filter((s) => captured(s) && s.kind === SpanKind.CLIENT && attr(s, 'server.port') === port);
/** The SDK's own SERVER spans for the app listening on `port` (they arrive through the otlp receiver). */
const sdkServerSpans = (spans: SeenSpan[], port: number) => spans.filter((s) => !captured(s) && s.kind === SpanKind.SERVER && attr(s, 'net.host.port') === port);

interface SdkApp { child: Child; port: number; protocol: 'http/protobuf' | 'grpc' }

/**
 * An SDK app: the bench's Node http server with the bench's SDK setup preloaded, exporting OTLP
 * over `protocol` to `endpointPort`.
 */
async function startSdkApp(protocol: SdkApp['protocol'], endpointPort: number, opts: { port?: number; env?: NodeJS.ProcessEnv } = {}): Promise<SdkApp> {
  const fixtures = join(packageRoot(), 'bench', 'fixtures');
  const args = ['--require', join(fixtures, 'otel-sdk.cjs'), join(fixtures, 'http-server.cjs'), '--work-iterations', '1', '--port', String(opts.port ?? 0)];
  const child = startChild(process.execPath, args, {
    env: {
      ...process.env,
      SONDE_BENCH_OTLP_ENDPOINT: `http://127.0.0.1:${endpointPort}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      // By default no metrics export during the test: the first OTLP export is the span batch that
      // follows the warm-up request (the BatchSpanProcessor sends it 1 s after that span ends).
      OTEL_METRIC_EXPORT_INTERVAL: '600000',
      ...opts.env,
    },
  });
  const m = await waitForOutput(child, /\{"port":(\d+)\}/, 15_000);
  return { child, port: Number(m[1]), protocol };
}

describe('SDK-instrumented apps next to the ebpf receiver', { skip: noBpf ? 'no BPF' : false }, () => {
  let agent: Agent;
  let httpApp: SdkApp;
  let grpcApp: SdkApp;
  let python: Child;
  let pyPort: number;
  let otlpHttp: number;
  /** The metrics-only SDK app's port: it starts within its test, so its exports happen there only. */
  let metricsOnlyPort: number;

  before(async () => {
    let otlpGrpc: number;
    [otlpHttp, otlpGrpc, pyPort, metricsOnlyPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    [httpApp, grpcApp] = await Promise.all([startSdkApp('http/protobuf', otlpHttp), startSdkApp('grpc', otlpGrpc)]);
    python = await startPythonHttp('127.0.0.1', pyPort, mkdtempSync(join(tmpdir(), 'sonde-sdk-coexistence-')));
    // The OTLP ports are captured too: the exclusion needs to see the apps' exports.
    agent = await startAgent([httpApp.port, grpcApp.port, pyPort, metricsOnlyPort, otlpHttp, otlpGrpc], { otlp: { http: otlpHttp, grpc: otlpGrpc } });
  });
  after(async () => {
    await agent?.stop();
    await httpApp?.child.stop();
    await grpcApp?.child.stop();
    await python?.stop();
  });

  const excluded = () => selfMetric(agent.service, 'sonde_ebpf_telemetry_dropped_total', { reason: 'otel_instrumented' });
  const excludedFromMetrics = () => selfMetric(agent.service, 'sonde_ebpf_red_metrics_dropped_total', { reason: 'otel_instrumented' });
  /** Counts of Sonde's cumulative `http.server.request.duration` series of process `pid`. */
  const redCounts = (pid: number) => agent.sink.histogram('http.server.request.duration').filter((p) => p.resource['process.pid'] === pid).map((p) => Number(p.count));

  /**
   * One warm-up request (reported by both: the agent cannot know yet), the app's first export,
   * then REQUESTS requests reported by the SDK only. Apps are checked one after the other: an app
   * exports only after it served a request, so the exclusion counter moves for this app alone.
   */
  async function checkSdkApp(app: SdkApp): Promise<void> {
    const url = `http://127.0.0.1:${app.port}/trivial`;
    const { pid } = app.child;
    const droppedBefore = await excluded();
    const warmupCurl = await curl('-o', '/dev/null', url);
    await waitFor(`the first ${app.protocol} export, seen by the ebpf receiver`, async () => (await excluded()) > droppedBefore, 10_000);
    const warm = await agent.spansWhere('the warm-up request\'s SDK span and eBPF spans',
      (s) => sdkServerSpans(s, app.port).length === 1 && capturedOf(s, pid).length === 1 && clientSpansTo(s, app.port).length === 1);
    const [ebpfWarmup] = capturedOf(warm, pid);
    assert.equal(ebpfWarmup!.kind, SpanKind.SERVER);
    assert.equal(attr(ebpfWarmup!, 'url.path'), '/trivial');
    const [curlWarmup] = clientSpansTo(warm, app.port);
    assert.equal(curlWarmup!.resource['process.pid'], warmupCurl.pid);
    // Both ends seen by eBPF in one flush: linked by the connection (same trace, server is the child).
    assert.equal(ebpfWarmup!.traceId, curlWarmup!.traceId);
    assert.equal(ebpfWarmup!.parentSpanId, curlWarmup!.spanId);

    // Steady state: the agent knows; each request is the SDK's SERVER span and curl's CLIENT span.
    const curlPids = [warmupCurl.pid];
    for (let i = 0; i < REQUESTS; i++) curlPids.push((await curl('-o', '/dev/null', url)).pid);
    await agent.spansWhere(`${1 + REQUESTS} SDK server spans and curl client spans`,
      (s) => sdkServerSpans(s, app.port).length >= 1 + REQUESTS && clientSpansTo(s, app.port).length >= 1 + REQUESTS);
    await sleep(SETTLE_MS);
    const all = agent.sink.spans();
    const sdk = sdkServerSpans(all, app.port);
    assert.equal(sdk.length, 1 + REQUESTS, 'one SDK SERVER span per request');
    assert.ok(sdk.every((s) => attr(s, 'http.target') === '/trivial' && attr(s, 'http.status_code') === 200));
    assert.deepEqual(capturedOf(all, pid), [ebpfWarmup],
      'after its first export nothing of the app comes from eBPF: no SERVER span, no span of its OTLP exports');
    const clients = clientSpansTo(all, app.port);
    assert.equal(clients.length, 1 + REQUESTS, 'one eBPF CLIENT span per curl request');
    assert.deepEqual(clients.map((s) => s.resource['process.pid']).sort(), [...curlPids].sort());
    assert.ok(clients.every((s) => attr(s, 'url.path') === '/trivial' && attr(s, 'http.response.status_code') === 200));
    // Without a traceparent nothing joins curl's span to the SDK's (the SDK's span reaches Sonde
    // untouched, over OTLP): curl's spans are roots of traces the SDK's spans are not part of.
    const sdkTraces = new Set(sdk.map((s) => s.traceId));
    assert.ok(clients.every((s) => s.parentSpanId === '' && !sdkTraces.has(s.traceId)));
    // Neither end of an export is reported: the app's end is excluded, Sonde's is Sonde itself.
    assert.deepEqual(all.filter((s) => captured(s) && (/^\/v1\//.test(String(attr(s, 'url.path'))) || /opentelemetry/.test(String(attr(s, 'rpc.service'))))), []);
    // Dropped since the first export: the REQUESTS server exchanges and every export (at least 2).
    const dropped = await excluded() - droppedBefore;
    assert.ok(dropped >= REQUESTS + 2, `dropped ${dropped}`);
    // The app exports traces only: Sonde's RED metrics of it go on counting every request.
    assert.deepEqual(redCounts(pid), [1 + REQUESTS]);
  }

  it('SDK app exporting OTLP/HTTP: eBPF reports it only until its first export, then the SDK\'s span is the only SERVER span', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    await checkSdkApp(httpApp);
  });

  it('SDK app exporting OTLP/gRPC: the same', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    await checkSdkApp(grpcApp);
  });

  it('python http.server (no SDK): exactly one eBPF SERVER span and one curl CLIENT span per request', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    for (let i = 0; i < REQUESTS; i++) await curl('-o', '/dev/null', `http://127.0.0.1:${pyPort}/`);
    await agent.spansWhere(`${REQUESTS} python server spans`,
      (s) => capturedOf(s, python.pid).length >= REQUESTS && clientSpansTo(s, pyPort).length >= REQUESTS);
    await sleep(SETTLE_MS);
    const all = agent.sink.spans();
    const server = capturedOf(all, python.pid);
    assert.equal(server.length, REQUESTS);
    assert.ok(server.every((s) => s.kind === SpanKind.SERVER && attr(s, 'url.path') === '/' && attr(s, 'http.response.status_code') === 200));
    assert.equal(clientSpansTo(all, pyPort).length, REQUESTS);
    assert.equal(all.filter((s) => !captured(s) && s.resource['service.name'] !== 'bench-server').length, 0, 'no other OTLP source');
  });

  it('SDK app exporting only metrics: keeps one eBPF SERVER span per request; its eBPF RED metrics stop at its first export', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    // Its first metrics export comes 3 s after it starts, well after the warm-up request.
    const app = await startSdkApp('http/protobuf', otlpHttp, { port: metricsOnlyPort, env: { OTEL_TRACES_EXPORTER: 'none', OTEL_METRIC_EXPORT_INTERVAL: '3000' } });
    try {
      const url = `http://127.0.0.1:${app.port}/trivial`;
      const { pid } = app.child;
      const [droppedBefore, droppedFromMetricsBefore] = [await excluded(), await excludedFromMetrics()];
      await curl('-o', '/dev/null', url);
      await waitFor('the warm-up request in Sonde\'s RED metrics', () => redCounts(pid)[0] === 1, 10_000);
      // The only app exporting metrics during the test: its metrics reaching the otlp receiver are its export.
      const sdkMetricsArrived = () => agent.sink.metrics.some((md) => md.resourceMetrics.some((rm) => rm.resource.attributes['service.name'] === 'bench-server'));
      await waitFor('the first metrics export, received and seen by the ebpf receiver', async () => sdkMetricsArrived() && (await excluded()) > droppedBefore, 10_000);

      for (let i = 0; i < REQUESTS; i++) await curl('-o', '/dev/null', url);
      await agent.spansWhere(`${1 + REQUESTS} eBPF SERVER spans of the metrics-only app`, (s) => capturedOf(s, pid).length >= 1 + REQUESTS);
      await sleep(SETTLE_MS);
      const all = agent.sink.spans();
      const ebpf = capturedOf(all, pid);
      assert.equal(ebpf.length, 1 + REQUESTS, 'one eBPF span per request before and after its export, none of its exports');
      assert.ok(ebpf.every((s) => s.kind === SpanKind.SERVER && attr(s, 'url.path') === '/trivial' && attr(s, 'http.response.status_code') === 200));
      assert.equal(sdkServerSpans(all, app.port).length, 0, 'its SDK exports no spans');
      assert.deepEqual(redCounts(pid), [1], 'Sonde\'s RED metrics of it count the warm-up request only');
      assert.equal(await excludedFromMetrics() - droppedFromMetricsBefore, REQUESTS);
    } finally {
      await app.child.stop();
    }
  });

  it('traceparent from curl: the SDK\'s SERVER span is the child of curl\'s eBPF CLIENT span', async (t) => {
    if (!bpfOrSkip(t) || !toolOrSkip(t, 'curl')) return;
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const spanId = '00f067aa0ba902b7';
    await curl('-o', '/dev/null', '-H', `traceparent: 00-${traceId}-${spanId}-01`, `http://127.0.0.1:${httpApp.port}/trivial`);
    const inTrace = (spans: SeenSpan[]) => spans.filter((s) => s.traceId === traceId);
    await agent.spansWhere('the SDK span and curl\'s span of the traced request', (s) => inTrace(s).some((x) => !captured(x)) && inTrace(s).some(captured));
    await sleep(SETTLE_MS);
    const trace = inTrace(agent.sink.spans());
    const describeSpans = trace.map((s) => `${s.scope} kind=${s.kind} pid=${String(s.resource['process.pid'])}`).join('; ');
    const sdk = trace.filter((s) => !captured(s));
    const ebpf = trace.filter(captured);
    assert.equal(sdk.length, 1, describeSpans);
    assert.equal(ebpf.length, 1, `only curl's span comes from eBPF: ${describeSpans}`);
    assert.equal(sdk[0]!.kind, SpanKind.SERVER);
    const client = ebpf[0]!;
    assert.equal(client.kind, SpanKind.CLIENT);
    assert.equal(client.resource['service.name'], 'curl');
    assert.equal(client.spanId, spanId, 'the header is the context of curl\'s call');
    assert.equal(client.parentSpanId, '', 'curl\'s own parent is unknown');
    assert.equal(sdk[0]!.parentSpanId, client.spanId, 'the SDK\'s span is the child of curl\'s');
  });
});
