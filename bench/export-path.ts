// The export path in isolation, fed like the ebpf receiver feeds it: every flush interval one
// consume with all spans finished since the last one (2 spans per request — the SERVER span and
// the CLIENT span of its downstream call — ~15 attributes each, grouped by one resource per
// service, at most one consume in flight), through  batch → otlphttp (proto + gzip, the defaults)
// → a sink in a child process that decodes every request to count spans. Prints this process's
// CPU µs per span (minus the CPU spent building the spans, which is the receiver's cost, not the
// export path's), peak RSS and peak heap.
//
//   node dist/bench/export-path.js [--rate 20000] [--seconds 10] [--flush-ms 100] [--gen-ms 10] [--services 8]
//   node --cpu-prof --cpu-prof-dir /tmp/prof dist/bench/export-path.js ...   # hot spots
//   node dist/bench/export-path.js --encode-only [--spans 8192] [--rounds 30]
//     # only the encoder, on one request of that shape: µs per span, bytes, the longest event-loop
//     # stall of the sliced (async) encoder
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { Lifecycle, ReceiverFactory } from '../src/collector/component.js';
import { defaultRegistry } from '../src/collector/components.js';
import type { Consumer } from '../src/collector/consumer.js';
import type { Attributes, Resource, Span, Traces } from '../src/collector/pdata/model.js';
import { decodeRequest, encodeRequest, encodeRequestAsync, encodeResponse } from '../src/collector/pdata/otlp.js';
import { countSpans } from '../src/collector/pdata/util.js';
import { Service } from '../src/collector/service/service.js';
import { readBody } from '../test/helpers/net.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};

const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];

/** One resource per service, as the ebpf receiver's service identity produces it. */
function resourceOf(i: number): Resource {
  return {
    attributes: {
      'service.name': `svc-${i}`, 'service.instance.id': `node-1/${1000 + i}`, 'service.namespace': 'shop',
      'host.name': 'node-1', 'host.arch': 'amd64', 'os.type': 'linux', 'process.pid': 1000 + i,
      'process.executable.name': 'node', 'process.command_line': `node /srv/svc-${i}/server.js --port ${8000 + i}`,
      'process.runtime.name': 'nodejs', 'telemetry.sdk.name': 'sonde', 'telemetry.sdk.language': 'ebpf',
      'k8s.pod.name': `svc-${i}-7d9f8b6c5-x2x${i}`, 'k8s.namespace.name': 'shop', 'k8s.node.name': 'node-1',
    },
    droppedAttributesCount: 0,
  };
}

const SCOPE = { name: 'sonde.ebpf', version: '0.1.0', attributes: {}, droppedAttributesCount: 0 };

/** One request: `spans[i]` under `resources[i]`, one scope each. */
function tracesOf(resources: Resource[], spans: Span[][]): Traces {
  return { resourceSpans: resources.map((resource, i) => ({ resource, schemaUrl: '', scopeSpans: [{ scope: SCOPE, schemaUrl: '', spans: spans[i]! }] })) };
}

let idCounter = 0;
const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');

/** A request's SERVER span and the CLIENT span of the call it made, ~15 attributes each. */
function requestSpans(now: bigint, svc: number, services: number): [Span, Span] {
  const n = ++idCounter;
  const traceId = hex(n, 16) + hex(Math.random() * 2 ** 32 >>> 0, 16);
  const serverId = hex(n * 2, 16);
  const method = METHODS[n % METHODS.length]!;
  const item = n % 5000;
  const peer = (svc + 1) % services;
  const common = (): Attributes => ({
    'http.request.method': method, 'url.scheme': 'http', 'network.protocol.version': '1.1', 'network.transport': 'tcp',
    'network.type': 'ipv4', 'http.response.status_code': n % 50 === 0 ? 500 : 200, 'http.request.body.size': 0, 'http.response.body.size': 512 + (n % 300),
  });
  const server: Span = {
    traceId, spanId: serverId, traceState: '', parentSpanId: '', flags: 0x301, name: `${method} /api/items/{id}`, kind: 2,
    startTimeUnixNano: now - 2_000_000n, endTimeUnixNano: now,
    attributes: {
      ...common(), 'url.path': `/api/items/${item}`, 'http.route': '/api/items/{id}', 'server.address': `svc-${svc}`, 'server.port': 8000 + svc,
      'client.address': '10.0.0.7', 'network.peer.address': '10.0.0.7', 'network.peer.port': 40000 + (n % 20000), 'user_agent.original': 'okhttp/4.12.0',
    },
    droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: n % 50 === 0 ? 2 : 0, message: '' },
  };
  const client: Span = {
    traceId, spanId: hex(n * 2 + 1, 16), traceState: '', parentSpanId: serverId, flags: 0x101, name: 'GET', kind: 3,
    startTimeUnixNano: now - 1_500_000n, endTimeUnixNano: now - 500_000n,
    attributes: {
      ...common(), 'url.full': `http://svc-${peer}:${8000 + peer}/stock/${item}`, 'url.path': `/stock/${item}`, 'server.address': `svc-${peer}`,
      'server.port': 8000 + peer, 'network.peer.address': `10.0.1.${peer}`, 'network.peer.port': 8000 + peer, 'http.request.header.traceparent': [`00-${traceId}-${serverId}-01`],
    },
    droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: 0, message: '' },
  };
  return [server, client];
}

async function main(): Promise<void> {
  const RATE = arg('rate', 20_000); // spans/s
  const SECONDS = arg('seconds', 10);
  const FLUSH_MS = arg('flush-ms', 100);
  const GEN_MS = arg('gen-ms', 10);
  const SERVICES = arg('services', 8);

  const sink = fork(fileURLToPath(import.meta.url), ['--sink'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(cmd: string) => new Promise<T>((resolve) => { sink.once('message', (m) => resolve(m as T)); sink.send({ cmd }); });
  const { port } = await new Promise<{ port: number }>((resolve) => sink.once('message', (m) => resolve(m as { port: number })));

  let next: Consumer<'traces'> | undefined;
  const loadReceiver: ReceiverFactory = {
    kind: 'receiver', type: 'benchload', signals: ['traces'], createDefaultConfig: () => ({}),
    createReceiver: (_s, _c, consumers): Lifecycle => {
      next = consumers.traces;
      return { start: async () => {}, shutdown: async () => {} };
    },
  };
  const registry = defaultRegistry();
  registry.receiver.set('benchload', loadReceiver);
  const svc = await Service.fromYaml(`
receivers: { benchload: {} }
processors: { batch: {} }
exporters: { otlphttp: { endpoint: "http://127.0.0.1:${port}" } }
service: { pipelines: { traces: { receivers: [benchload], processors: [batch], exporters: [otlphttp] } } }
`, { registry, logger: pino({ level: 'warn' }), selfMetrics: new Registry() });
  await svc.start();

  const resources = Array.from({ length: SERVICES }, (_, i) => resourceOf(i));
  let pending: Span[][] = resources.map(() => []);
  let inFlight = false;
  let generated = 0;
  let genCpuUs = 0;
  let refused = 0;
  const baselineRss = process.memoryUsage().rss;
  let peakRss = baselineRss;
  let peakHeap = process.memoryUsage().heapUsed;
  let peakQueue = 0;
  const queueGauge = svc.host.selfMetrics.getSingleMetric('sonde_exporter_queue_size');
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    void queueGauge?.get().then((g) => { for (const v of g.values) peakQueue = Math.max(peakQueue, v.value); });
  }, 50);

  // How long the event loop stalls (the ebpf receiver drains its ring on this loop: a long stall drops events).
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  // Spans are built every GEN_MS (as the receiver turns ring events into spans as they come, so
  // the generator itself never holds the event loop long) and handed over every FLUSH_MS.
  const ticks = Math.round((SECONDS * 1000) / GEN_MS);
  const ticksPerFlush = Math.max(1, Math.round(FLUSH_MS / GEN_MS));
  const perTick = Math.round((RATE * GEN_MS) / 1000 / 2); // requests per generator tick
  for (let tick = 0; tick < ticks; tick++) {
    const due = t0 + tick * GEN_MS;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const g0 = process.cpuUsage();
    const now = BigInt(Date.now()) * 1_000_000n;
    for (let i = 0; i < perTick; i++) {
      const s = i % SERVICES;
      pending[s]!.push(...requestSpans(now, s, SERVICES));
    }
    generated += perTick * 2;
    let td: Traces | undefined;
    if (!inFlight && (tick + 1) % ticksPerFlush === 0) {
      td = tracesOf(resources, pending);
      td.resourceSpans = td.resourceSpans.filter((r) => r.scopeSpans[0]!.spans.length > 0);
      pending = resources.map(() => []);
    }
    const g = process.cpuUsage(g0);
    genCpuUs += g.user + g.system;
    if (td) {
      inFlight = true;
      // Like the ebpf receiver: one consume in flight; spans finished meanwhile wait for the next flush.
      next!.consumeTraces(td).catch(() => { refused += countSpans(td); }).finally(() => { inFlight = false; });
    }
  }
  while (inFlight) await new Promise((r) => setTimeout(r, 5));
  const rest = tracesOf(resources, pending);
  await next!.consumeTraces(rest).catch(() => { refused += countSpans(rest); });
  let received = 0;
  const waitUntil = Date.now() + 30_000;
  while (received + refused < generated && Date.now() < waitUntil) {
    await new Promise((r) => setTimeout(r, 50));
    received = (await ask<{ spans: number }>('count')).spans;
  }
  loopDelay.disable();
  const wall = (Date.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
  await svc.shutdown();
  sink.send({ cmd: 'exit' });

  const totalUs = cpu.user + cpu.system;
  const mib = (b: number) => (b / 1048576).toFixed(0);
  console.log(`export path: ${generated} spans at ${RATE} spans/s for ${SECONDS} s (flush every ${FLUSH_MS} ms, ${SERVICES} services) → batch → otlphttp (proto, gzip)`);
  console.log(`  delivered ${received}, refused ${refused}, wall ${wall.toFixed(1)} s`);
  console.log(`  CPU: ${(totalUs / generated).toFixed(1)} µs/span in total, of which building the spans ${(genCpuUs / generated).toFixed(1)} → export path ${((totalUs - genCpuUs) / generated).toFixed(1)} µs/span (${(((totalUs - genCpuUs) / 1e6 / wall) * 100).toFixed(0)}% of a core)`);
  console.log(`  memory: RSS ${mib(baselineRss)} MiB before load, peak ${mib(peakRss)} MiB; peak heap used ${mib(peakHeap)} MiB; peak sending queue ${peakQueue} requests`);
  const ms = (ns: number) => (ns / 1e6).toFixed(1);
  console.log(`  event-loop delay: p50 ${ms(loopDelay.percentile(50))} ms, p99 ${ms(loopDelay.percentile(99))} ms, max ${ms(loopDelay.max)} ms`);
  if (received + refused < generated) {
    console.error(`  only ${received} of ${generated} spans arrived within 30 s`);
    process.exitCode = 1;
  }
}

/** The encoder alone: one request of `--spans` spans in 8 resources, sync and sliced. */
async function encodeOnly(): Promise<void> {
  const SPANS = arg('spans', 8192);
  const ROUNDS = arg('rounds', 30);
  const resources = Array.from({ length: 8 }, (_, i) => resourceOf(i));
  const now = BigInt(Date.now()) * 1_000_000n;
  const spans: Span[][] = resources.map(() => []);
  for (let i = 0; i < SPANS / 2; i++) spans[i % 8]!.push(...requestSpans(now, i % 8, 8));
  const td = tracesOf(resources, spans);
  let bytes = 0;
  for (let i = 0; i < 5; i++) bytes = encodeRequest('traces', td, 'proto').length; // warm-up
  // Per-round times, reported as the minimum and the median: on a shared machine the minimum is
  // the encoder's own cost, the median includes the neighbours' interference.
  const roundNs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    encodeRequest('traces', td, 'proto');
    roundNs.push(Number(process.hrtime.bigint() - t0));
  }
  roundNs.sort((a, b) => a - b);
  const perSpan = (ns: number) => (ns / 1000 / SPANS).toFixed(2);
  console.log(`encode ${SPANS} spans: ${perSpan(roundNs[0]!)} µs/span (min; median ${perSpan(roundNs[ROUNDS >> 1]!)}), ${(bytes / SPANS).toFixed(0)} bytes/span; one synchronous encode blocks the loop ${(roundNs[ROUNDS >> 1]! / 1e6).toFixed(1)} ms (median)`);
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const a0 = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) await encodeRequestAsync('traces', td, 'proto');
  const asyncNs = Number(process.hrtime.bigint() - a0) / ROUNDS;
  loop.disable();
  console.log(`  sliced: ${(asyncNs / 1000 / SPANS).toFixed(2)} µs/span wall, event-loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms`);
}

if (process.argv.includes('--encode-only')) {
  await encodeOnly();
} else if (process.argv.includes('--sink')) {
  // Child: an OTLP/HTTP sink that counts decoded spans; reports its port, then counts on request.
  let spans = 0;
  const server = createServer(async (req, res) => {
    const raw = await readBody(req);
    spans += countSpans(decodeRequest('traces', req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw, 'proto'));
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(encodeResponse('traces', 'proto'));
  }).listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'count') process.send!({ spans });
    else process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}
