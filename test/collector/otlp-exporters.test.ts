// Sonde's otlp (gRPC) and otlphttp (protobuf, JSON) exporters: to a second Sonde (whose file
// exporter must hold exactly what the first received), and to raw sinks that decode with the
// OpenTelemetry JS generated protobuf classes (a decoder Sonde did not write).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import * as http2 from 'node:http2';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Signal, SignalData } from '../../src/collector/pdata/model.js';
import { decodeRequest, encodeRequest } from '../../src/collector/pdata/otlp.js';
import type { Service } from '../../src/collector/service/service.js';
import { readBody } from '../helpers/net.js';
import { freePort, otelProto, receiverYaml, sampleData, selfMetric, startService, tempDir, waitFor } from './helpers.js';

const PATHS: Record<Signal, string> = { traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' };

/** POSTs OTLP JSON to a Sonde HTTP receiver; returns the status. */
export async function postOtlp<S extends Signal>(port: number, signal: S, data: SignalData[S]): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${port}${PATHS[signal]}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: encodeRequest(signal, data, 'json') });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

const signals: Signal[] = ['traces', 'metrics', 'logs'];

describe('otlp and otlphttp exporters → a second Sonde', () => {
  const services: Service[] = [];
  after(async () => { for (const s of services.reverse()) await s.shutdown(); });

  for (const variant of [
    { name: 'otlp (gRPC, gzip)', exporter: (p: number) => `otlp: { endpoint: "127.0.0.1:${p}", tls: { insecure: true } }`, sinkProto: 'grpc' as const },
    { name: 'otlp_grpc alias, no compression', exporter: (p: number) => `otlp_grpc: { endpoint: "http://127.0.0.1:${p}", compression: none }`, sinkProto: 'grpc' as const },
    { name: 'otlphttp (protobuf, gzip)', exporter: (p: number) => `otlphttp: { endpoint: "http://127.0.0.1:${p}" }`, sinkProto: 'http' as const },
    { name: 'otlp_http alias (JSON, no compression)', exporter: (p: number) => `otlp_http: { endpoint: "http://127.0.0.1:${p}", encoding: json, compression: none }`, sinkProto: 'http' as const },
  ]) {
    it(`${variant.name}: every signal arrives unchanged`, async () => {
      const dir = tempDir();
      const [bPort, aPort] = [await freePort(), await freePort()];
      const b = await startService(`
${receiverYaml({ [variant.sinkProto]: bPort })}
exporters: { file: { path: ${join(dir, 'out.jsonl')} } }
service:
  pipelines:
${signals.map((s) => `    ${s}: { receivers: [otlp], exporters: [file] }`).join('\n')}
`);
      services.push(b);
      const expType = variant.exporter(bPort).split(':')[0]!;
      const a = await startService(`
${receiverYaml({ http: aPort })}
exporters:
  ${variant.exporter(bPort)}
service:
  pipelines:
${signals.map((s) => `    ${s}: { receivers: [otlp], exporters: [${expType}] }`).join('\n')}
`);
      services.push(a);
      const data = sampleData(variant.name);
      for (const s of signals) assert.equal((await postOtlp(aPort, s, data[s])).status, 200);
      for (const s of signals) {
        // One file holds every signal; a line's top-level key says which.
        const line = await waitFor(`${s} at the second Sonde`, () => linesOf(join(dir, 'out.jsonl')).find((l) => l.startsWith(`{"${TOP_KEY[s]}"`)));
        assert.deepEqual(decodeRequest(s, line, 'json'), data[s]);
      }
    });
  }
});

const TOP_KEY: Record<Signal, string> = { traces: 'resourceSpans', metrics: 'resourceMetrics', logs: 'resourceLogs' };
const linesOf = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

describe('exporters → raw sinks decoding with the OpenTelemetry JS generated classes', () => {
  it('otlphttp (protobuf, gzip, headers) is decoded by an independent decoder', async () => {
    const received: Array<{ url: string; headers: IncomingMessage['headers']; body: Buffer }> = [];
    const sink = createServer(async (req, res) => {
      const raw = await readBody(req);
      received.push({ url: req.url!, headers: req.headers, body: req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
    const sinkPort = await listen(sink);
    const aPort = await freePort();
    const a = await startService(`
${receiverYaml({ http: aPort })}
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:${sinkPort}
    headers: { x-tenant: acme }
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [otlphttp] }
    metrics: { receivers: [otlp], exporters: [otlphttp] }
`);
    try {
      const data = sampleData('indep');
      assert.equal((await postOtlp(aPort, 'traces', data.traces)).status, 200);
      assert.equal((await postOtlp(aPort, 'metrics', data.metrics)).status, 200);
      await waitFor('two requests at the sink', () => received.length >= 2);
      const tr = received.find((r) => r.url === '/v1/traces')!;
      assert.equal(tr.headers['content-type'], 'application/x-protobuf');
      assert.equal(tr.headers['content-encoding'], 'gzip');
      assert.equal(tr.headers['x-tenant'], 'acme');
      const req = otelProto.collector.trace.v1.ExportTraceServiceRequest.decode(tr.body);
      const span = req.resourceSpans[0].scopeSpans[0].spans[0];
      assert.equal(span.name, 'GET /r indep');
      assert.equal(Buffer.from(span.traceId).toString('hex'), '5b8efff798038103d269b633813fc60c');
      assert.equal(span.endTimeUnixNano.toString(), '1700000000005000123');
      const mr = otelProto.collector.metrics.v1.ExportMetricsServiceRequest.decode(received.find((r) => r.url === '/v1/metrics')!.body);
      assert.deepEqual(mr.resourceMetrics[0].scopeMetrics[0].metrics.map((m: { name: string }) => m.name), ['calls.indep', 'temp', 'latency', 'size', 'rpc.summary']);
    } finally {
      await a.shutdown();
      sink.close();
    }
  });

  it('otlp gRPC sends gzip-compressed messages that an independent decoder reads (raw HTTP/2 sink)', async () => {
    // A bare HTTP/2 server speaking just enough gRPC: it sees the wire as sent (headers, the
    // 5-byte message prefix with its compressed flag), not what a gRPC library makes of it.
    const got: Array<{ headers: http2.IncomingHttpHeaders; compressed: number; req: any }> = [];
    const server = http2.createServer();
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const body = Buffer.concat(chunks);
        const compressed = body[0]!;
        const msg = body.subarray(5, 5 + body.readUInt32BE(1));
        const raw = compressed ? gunzipSync(msg) : msg;
        got.push({ headers, compressed, req: otelProto.collector.trace.v1.ExportTraceServiceRequest.decode(raw) });
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
      });
    });
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    const aPort = await freePort();
    const a = await startService(`
${receiverYaml({ http: aPort })}
exporters:
  otlp: { endpoint: "127.0.0.1:${port}", tls: { insecure: true }, headers: { x-tenant: acme } }
service: { pipelines: { traces: { receivers: [otlp], exporters: [otlp] } } }
`);
    try {
      assert.equal((await postOtlp(aPort, 'traces', sampleData('grpc-indep').traces)).status, 200);
      await waitFor('a gRPC export', () => got.length >= 1);
      const { headers, compressed, req } = got[0]!;
      assert.equal(headers[':path'], '/opentelemetry.proto.collector.trace.v1.TraceService/Export');
      assert.equal(headers['content-type'], 'application/grpc');
      assert.equal(headers['grpc-encoding'], 'gzip');
      assert.equal(compressed, 1, 'the message is gzip-compressed');
      assert.equal(headers['x-tenant'], 'acme');
      const span = req.resourceSpans[0].scopeSpans[0].spans[0];
      assert.equal(span.name, 'GET /r grpc-indep');
      assert.equal(Buffer.from(span.spanId).toString('hex'), 'eee19b7ec3c1b174');
      await waitFor('the export counted as sent', async () => (await selfMetric(a, 'sonde_exporter_sent_spans_total')) === 1);
    } finally {
      await a.shutdown();
      server.close();
    }
  });
});

export function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}
