// OTLP throughput of the Collector core: spans/s, agent CPU seconds per 100k spans and agent
// peak RSS, through  load → otlp receiver (gRPC) → batch → otlp exporter → sink  and the same over
// OTLP/HTTP (otlphttp exporter). The agent runs in a child process; the load generator and the
// sink (which decodes every request to count spans) run here.
//
//   node dist/bench/otlp.js [--spans 200000] [--batch 100] [--inflight 8] [--rate SPANS_PER_S] [--no-batch]
//
// Without --rate the load generator sends as fast as the agent answers (throughput); with
// --rate it paces requests (the Collector test bed's 10k spans/s in batches of 100).
import * as grpc from '@grpc/grpc-js';
import { fork } from 'node:child_process';
import { Agent, createServer, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Traces } from '../src/collector/pdata/model.js';
import { decodeRequest, encodeRequest, encodeResponse } from '../src/collector/pdata/otlp.js';
import { countSpans } from '../src/collector/pdata/util.js';
import { freePort, readBody } from '../test/helpers/net.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const TOTAL = arg('spans', 200_000);
const BATCH = arg('batch', 100);
const INFLIGHT = arg('inflight', 8);
const WITH_BATCH = !process.argv.includes('--no-batch');
const RATE = arg('rate', 0);

function makeRequest(n: number): Traces {
  const t0 = BigInt(Date.now()) * 1_000_000n;
  return {
    resourceSpans: [{
      resource: { attributes: { 'service.name': 'bench', 'host.name': 'node-1' }, droppedAttributesCount: 0 }, schemaUrl: '',
      scopeSpans: [{
        scope: { name: 'bench', version: '1', attributes: {}, droppedAttributesCount: 0 }, schemaUrl: '',
        spans: Array.from({ length: n }, (_, i) => ({
          traceId: (i + 1).toString(16).padStart(32, 'a'), spanId: (i + 1).toString(16).padStart(16, 'b'), traceState: '', parentSpanId: '', flags: 1,
          name: 'GET /api/items/{id}', kind: 2, startTimeUnixNano: t0, endTimeUnixNano: t0 + 1_500_000n,
          attributes: { 'http.request.method': 'GET', 'http.route': '/api/items/{id}', 'http.response.status_code': 200, 'server.port': 8080, 'url.path': `/api/items/${i}` },
          droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: 0, message: '' },
        })),
      }],
    }],
  };
}

interface Result { transport: string; spansPerSec: number; cpuPer100k: number; cpuShare: number; peakRssMiB: number; seconds: number }

async function run(transport: 'grpc' | 'http'): Promise<Result> {
  const [inPort, sinkPort] = [await freePort(), await freePort()];
  let received = 0;
  let onAll: () => void = () => {};
  const allReceived = new Promise<void>((r) => { onAll = r; });
  const count = (body: Buffer) => { received += countSpans(decodeRequest('traces', body, 'proto')); if (received >= TOTAL) onAll(); };
  let closeSink: () => void;
  if (transport === 'grpc') {
    const server = new grpc.Server();
    const id = (b: Buffer) => b;
    server.addService({ Export: { path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id, originalName: 'export' } },
      { Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => { count(call.request); cb(null, Buffer.alloc(0)); } });
    await new Promise<void>((res, rej) => server.bindAsync(`127.0.0.1:${sinkPort}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    closeSink = () => server.forceShutdown();
  } else {
    const server = createServer(async (req, res) => {
      const raw = await readBody(req);
      count(req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(encodeResponse('traces', 'proto'));
    }).listen(sinkPort, '127.0.0.1');
    closeSink = () => { server.closeAllConnections(); server.close(); };
  }
  const config = `
receivers: { otlp: { protocols: { ${transport}: { endpoint: "127.0.0.1:${inPort}" } } } }
${WITH_BATCH ? 'processors: { batch: {} }' : ''}
exporters:
  ${transport === 'grpc' ? `otlp: { endpoint: "127.0.0.1:${sinkPort}", tls: { insecure: true } }` : `otlphttp: { endpoint: "http://127.0.0.1:${sinkPort}" }`}
service: { pipelines: { traces: { receivers: [otlp], ${WITH_BATCH ? 'processors: [batch], ' : ''}exporters: [${transport === 'grpc' ? 'otlp' : 'otlphttp'}] } } }
`;
  const agent = fork(fileURLToPath(new URL('./otlp-agent.js', import.meta.url)), { env: { ...process.env, SONDE_BENCH_CONFIG: config }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(cmd: string) => new Promise<T>((resolve) => { agent.once('message', (m) => resolve(m as T)); agent.send({ cmd }); });
  await new Promise<void>((resolve) => agent.once('message', () => resolve()));

  const body = Buffer.from(encodeRequest('traces', makeRequest(BATCH), 'proto'));
  const requests = Math.ceil(TOTAL / BATCH);
  const client = transport === 'grpc' ? new grpc.Client(`127.0.0.1:${inPort}`, grpc.credentials.createInsecure()) : undefined;
  const agentHttp = new Agent({ keepAlive: true, maxSockets: INFLIGHT });
  const sendOne = () => new Promise<void>((resolve, reject) => {
    if (client) {
      client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', (b: Buffer) => b, (b: Buffer) => b, body, (err) => (err ? reject(err) : resolve()));
    } else {
      const req = request({ host: '127.0.0.1', port: inPort, path: '/v1/traces', method: 'POST', agent: agentHttp, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    }
  });
  const before = await ask<{ cpuSeconds: number }>('usage');
  const started = process.hrtime.bigint();
  let next = 0;
  const startedMs = Date.now();
  const workers = Array.from({ length: INFLIGHT }, async () => {
    while (next < requests) {
      const i = next++;
      if (RATE > 0) {
        const due = startedMs + (i * BATCH * 1000) / RATE;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
      await sendOne();
    }
  });
  await Promise.all(workers);
  await allReceived;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const after = await ask<{ cpuSeconds: number; peakRss: number }>('usage');
  agent.send({ cmd: 'stop' });
  await new Promise((r) => agent.once('exit', r));
  client?.close();
  agentHttp.destroy();
  closeSink();
  return {
    transport: transport === 'grpc' ? 'otlp gRPC → otlp exporter' : 'otlp HTTP/protobuf → otlphttp exporter',
    spansPerSec: Math.round(received / seconds),
    cpuPer100k: ((after.cpuSeconds - before.cpuSeconds) / received) * 100_000,
    cpuShare: (after.cpuSeconds - before.cpuSeconds) / seconds,
    peakRssMiB: after.peakRss / 1048576,
    seconds,
  };
}

console.log(`OTLP bench: ${TOTAL} spans in requests of ${BATCH}, ${INFLIGHT} in flight, ${RATE ? `paced at ${RATE} spans/s, ` : ''}${WITH_BATCH ? 'with' : 'without'} the batch processor`);
for (const t of ['grpc', 'http'] as const) {
  const r = await run(t);
  console.log(`${r.transport.padEnd(42)} ${String(r.spansPerSec).padStart(8)} spans/s   ${r.cpuPer100k.toFixed(2)} agent CPU s / 100k spans   ${(r.cpuShare * 100).toFixed(0)}% of a core   peak RSS ${r.peakRssMiB.toFixed(0)} MiB   (${r.seconds.toFixed(1)} s)`);
}
