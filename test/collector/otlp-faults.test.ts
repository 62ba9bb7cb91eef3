// Faults at both ends of the OTLP path: malformed requests (400 with a Status body, the receiver
// keeps working), wrong method / media type / size, pipeline refusals mapped to 503/429/400/500
// and gRPC codes, exporter endpoints down then back, full queues, permanent errors, Retry-After,
// partial success.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { ExporterFactory } from '../../src/collector/component.js';
import { makeRegistry } from '../../src/collector/components.js';
import { ConsumerError } from '../../src/collector/consumer.js';
import { exporterFactories } from '../../src/collector/exporters/index.js';
import { asComponent } from '../../src/collector/internal/consumers.js';
import { decodeStatus, encodeRequest, encodeResponse } from '../../src/collector/pdata/otlp.js';
import { ITEM_NAME } from '../../src/collector/pdata/util.js';
import { receiverFactories } from '../../src/collector/receivers/index.js';
import type { Signal } from '../../src/collector/pdata/model.js';
import type { Service } from '../../src/collector/service/service.js';
import { freePort, readFileExport, receiverYaml, sampleData, selfMetric, startService, tempDir, waitFor } from './helpers.js';

const data = sampleData('faults');
const post = (port: number, path: string, body: Buffer | string, headers: Record<string, string>, method = 'POST') =>
  fetch(`http://127.0.0.1:${port}${path}`, { method, headers, body: method === 'GET' ? undefined : body });

describe('otlp receiver: malformed and unsupported requests', () => {
  let svc: Service;
  let httpPort: number;
  let grpcPort: number;
  let out: string;
  before(async () => {
    [httpPort, grpcPort] = [await freePort(), await freePort()];
    out = join(tempDir(), 'out.jsonl');
    svc = await startService(`
${receiverYaml({ grpc: grpcPort, http: httpPort }, { http: 'max_request_body_size: 4096, traces_url_path: /custom/traces' })}
exporters: { file: { path: ${out} } }
service: { pipelines: { traces: { receivers: [otlp], exporters: [file] } } }
`);
  });
  after(async () => { await svc.shutdown(); });

  it('answers 400 with a protobuf Status for undecodable protobuf', async () => {
    const res = await post(httpPort, '/custom/traces', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]), { 'content-type': 'application/x-protobuf' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/x-protobuf');
    const st = decodeStatus(new Uint8Array(await res.arrayBuffer()), 'proto');
    assert.equal(st.code, 3);
    assert.match(st.message, /invalid OTLP protobuf traces request/);
  });

  it('answers 400 with a JSON Status for bad JSON and for bad ids', async () => {
    let res = await post(httpPort, '/custom/traces', '{"resourceSpans": [', { 'content-type': 'application/json' });
    assert.equal(res.status, 400);
    assert.match((await res.json() as { message: string }).message, /invalid OTLP JSON traces request/);
    res = await post(httpPort, '/custom/traces', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"12"}]}]}]}', { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(res.status, 400);
    assert.match((await res.json() as { message: string }).message, /span.spanId/);
  });

  it('answers 400 for a corrupt gzip body, 200 for a good one', async () => {
    let res = await post(httpPort, '/custom/traces', Buffer.from('not gzip at all'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(res.status, 400);
    assert.match((await res.json() as { message: string }).message, /Content-Encoding "gzip"/);
    res = await post(httpPort, '/custom/traces', gzipSync(encodeRequest('traces', data.traces, 'json')), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(res.status, 200);
  });

  it('answers 405, 415, 413 and 404', async () => {
    let res = await post(httpPort, '/custom/traces', '', {}, 'GET');
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    res = await post(httpPort, '/custom/traces', 'x', { 'content-type': 'text/plain' });
    assert.equal(res.status, 415);
    res = await post(httpPort, '/custom/traces', Buffer.alloc(5000, 0x20), { 'content-type': 'application/json' });
    assert.equal(res.status, 413);
    // A small body that inflates past the limit is refused too.
    res = await post(httpPort, '/custom/traces', gzipSync(Buffer.alloc(100_000, 0x20)), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(res.status, 413);
    res = await post(httpPort, '/v1/traces', '{}', { 'content-type': 'application/json' });
    assert.equal(res.status, 404);
  });

  it('answers INVALID_ARGUMENT to undecodable gRPC and keeps serving', async () => {
    const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    const call = (body: Buffer) => new Promise<grpc.ServiceError | null>((resolve) => {
      client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', (b: Buffer) => b, (b: Buffer) => b, body, (err) => resolve(err));
    });
    const err = await call(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]));
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err!.details, /invalid OTLP protobuf/);
    assert.equal(await call(Buffer.from(encodeRequest('traces', data.traces, 'proto'))), null);
    client.close();
  });

  it('still accepts good data after all of the above', async () => {
    const res = await post(httpPort, '/custom/traces', encodeRequest('traces', data.traces, 'json'), { 'content-type': 'application/json' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '{}');
    await waitFor('data in the file', () => readFileExport(out, 'traces').length >= 3);
    assert.equal(await selfMetric(svc, 'sonde_receiver_accepted_spans_total', { receiver: 'otlp', transport: 'http' }), 2);
    assert.equal(await selfMetric(svc, 'sonde_receiver_accepted_spans_total', { receiver: 'otlp', transport: 'grpc' }), 1);
  });
});

describe('otlp receiver: pipeline errors travel back to the sender', () => {
  // A test exporter that fails the way its config says: the receiver must map each kind.
  const failing: ExporterFactory<{ kind: string }> = {
    kind: 'exporter', type: 'failing', signals: ['traces'],
    createDefaultConfig: () => ({ kind: 'retryable' }),
    createExporter: (_s, cfg, signal) => asComponent(signal, {
      consume: async () => {
        if (cfg.kind === 'plain') throw new Error('bug downstream');
        throw new ConsumerError(`refused (${cfg.kind})`, cfg.kind as 'retryable');
      },
      start: async () => {}, shutdown: async () => {},
    }),
  };
  const registry = makeRegistry({ receiver: receiverFactories, exporter: [...exporterFactories, failing] });

  for (const [kind, http, code] of [['retryable', 503, grpc.status.UNAVAILABLE], ['resourceExhausted', 429, grpc.status.RESOURCE_EXHAUSTED], ['permanent', 400, grpc.status.INVALID_ARGUMENT], ['plain', 500, grpc.status.INTERNAL]] as const) {
    it(`${kind} → HTTP ${http}, gRPC ${grpc.status[code]}`, async () => {
      const [hp, gp] = [await freePort(), await freePort()];
      const svc = await startService(`
${receiverYaml({ http: hp, grpc: gp })}
exporters: { failing: { kind: ${kind} } }
service: { pipelines: { traces: { receivers: [otlp], exporters: [failing] } } }
`, { registry });
      try {
        const res = await post(hp, '/v1/traces', Buffer.from(encodeRequest('traces', data.traces, 'proto')), { 'content-type': 'application/x-protobuf' });
        assert.equal(res.status, http);
        if (http === 503 || http === 429) assert.equal(res.headers.get('retry-after'), '1');
        assert.match(decodeStatus(new Uint8Array(await res.arrayBuffer()), 'proto').message, kind === 'plain' ? /bug downstream/ : /refused/);
        const client = new grpc.Client(`127.0.0.1:${gp}`, grpc.credentials.createInsecure());
        const err = await new Promise<grpc.ServiceError | null>((resolve) => client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          (b: Buffer) => b, (b: Buffer) => b, Buffer.from(encodeRequest('traces', data.traces, 'proto')), (e) => resolve(e)));
        client.close();
        assert.equal(err?.code, code);
        assert.equal(await selfMetric(svc, 'sonde_receiver_refused_spans_total', { receiver: 'otlp' }), 2);
      } finally {
        await svc.shutdown();
      }
    });
  }
});

/** An HTTP sink whose behaviour a test scripts per request. */
async function scriptedSink(handle: (n: number, req: IncomingMessage, res: ServerResponse) => void) {
  let n = 0;
  const times: number[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => { times.push(Date.now()); handle(n++, req, res); });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
  return { port, times, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

const fastRetry = 'retry_on_failure: { initial_interval: 20ms, max_interval: 100ms, max_elapsed_time: 20s }';

/** A Sonde whose only pipeline is  otlp (HTTP) → `type` exporter; `send()` posts the sample data. */
async function agentExporting(type: string, exporterConfig: string, signal: Signal) {
  const port = await freePort();
  const svc = await startService(`
${receiverYaml({ http: port })}
exporters: { ${type}: ${exporterConfig} }
service: { pipelines: { ${signal}: { receivers: [otlp], exporters: [${type}] } } }
`);
  const send = () => post(port, PATHS[signal], encodeRequest(signal, data[signal], 'json'), { 'content-type': 'application/json' });
  return { svc, send, port };
}
const PATHS: Record<Signal, string> = { traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' };

describe('exporter helper: retries, queue, throttling', () => {
  for (const v of [
    { type: 'otlphttp', signal: 'logs' as const, protocol: 'http' as const, config: (p: number) => `{ endpoint: "http://127.0.0.1:${p}", ${fastRetry} }` },
    { type: 'otlp', signal: 'traces' as const, protocol: 'grpc' as const, config: (p: number) => `{ endpoint: "127.0.0.1:${p}", tls: { insecure: true }, timeout: 1s, ${fastRetry} }` },
  ]) {
    it(`${v.type}: endpoint down, then up: data delivered after retries`, async () => {
      const sinkPort = await freePort();
      const out = join(tempDir(), 'b.jsonl');
      const { svc: a, send } = await agentExporting(v.type, v.config(sinkPort), v.signal);
      let b: Service | undefined;
      try {
        assert.equal((await send()).status, 200, 'accepted into the queue');
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(await selfMetric(a, `sonde_exporter_sent_${ITEM_NAME[v.signal]}_total`), 0);
        b = await startService(`
${receiverYaml({ [v.protocol]: sinkPort })}
exporters: { file: { path: ${out} } }
service: { pipelines: { ${v.signal}: { receivers: [otlp], exporters: [file] } } }
`);
        const got = await waitFor(`${v.signal} at the second Sonde after retries`, () => readFileExport(out, v.signal)[0], 15_000);
        assert.deepEqual(got, data[v.signal]);
        await waitFor('sent counter', async () => (await selfMetric(a, `sonde_exporter_sent_${ITEM_NAME[v.signal]}_total`, { exporter: v.type })) === 1);
        assert.equal(await selfMetric(a, `sonde_exporter_send_failed_${ITEM_NAME[v.signal]}_total`), 0);
      } finally {
        await a.shutdown();
        await b?.shutdown();
      }
    });
  }

  it('a full sending queue refuses with 503, counts enqueue failures, and drains on shutdown', async () => {
    const held: ServerResponse[] = [];
    const sink = await scriptedSink((_n, _req, res) => { held.push(res); });
    const { svc: a, port: aPort } = await agentExporting('otlphttp', `{ endpoint: "http://127.0.0.1:${sink.port}", timeout: 10s, sending_queue: { num_consumers: 1, queue_size: 2 } }`, 'traces');
    try {
      const body = encodeRequest('traces', data.traces, 'json');
      const statuses: number[] = [];
      // 1 in flight (held by the sink) + 2 queued; then the queue is full.
      for (let i = 0; i < 5; i++) {
        statuses.push((await post(aPort, '/v1/traces', body, { 'content-type': 'application/json' })).status);
        if (i === 0) await waitFor('first request at the sink', () => held.length === 1);
      }
      assert.deepEqual(statuses, [200, 200, 200, 503, 503]);
      assert.equal(await selfMetric(a, 'sonde_exporter_enqueue_failed_spans_total', { exporter: 'otlphttp' }), 2);
      assert.equal(await selfMetric(a, 'sonde_exporter_queue_size', { exporter: 'otlphttp', data_type: 'traces' }), 2);
      assert.equal(await selfMetric(a, 'sonde_receiver_refused_spans_total'), 2);
      // Release the sink: shutdown must deliver the two queued batches before returning.
      const release = setInterval(() => { for (const r of held.splice(0)) r.writeHead(200).end(); }, 10);
      await a.shutdown();
      clearInterval(release);
      assert.equal(sink.times.length, 3);
      assert.equal(await selfMetric(a, 'sonde_exporter_sent_spans_total'), 3);
    } finally {
      await a.shutdown();
      await sink.close();
    }
  });

  it('permanent HTTP errors are not retried and are counted', async () => {
    const sink = await scriptedSink((_n, _req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 3, message: 'schema says no' }));
    });
    const { svc: a, send } = await agentExporting('otlphttp', `{ endpoint: "http://127.0.0.1:${sink.port}", ${fastRetry} }`, 'traces');
    try {
      await send();
      await waitFor('send_failed counted', () => sink.times.length > 0);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(sink.times.length, 1);
      assert.equal(await selfMetric(a, 'sonde_exporter_send_failed_spans_total'), 1);
    } finally {
      await a.shutdown();
      await sink.close();
    }
  });

  it('without a queue, the final export error is the caller\'s error (permanent → 400)', async () => {
    const sink = await scriptedSink((_n, _req, res) => res.writeHead(401).end());
    const { svc: a, send } = await agentExporting('otlphttp', `{ endpoint: "http://127.0.0.1:${sink.port}", sending_queue: { enabled: false } }`, 'traces');
    try {
      const res = await send();
      assert.equal(res.status, 400);
      assert.match((await res.json() as { message: string }).message, /HTTP Status Code 401/);
    } finally {
      await a.shutdown();
      await sink.close();
    }
  });

  it('honours Retry-After over a shorter backoff; partial success is not retried', async () => {
    const sink = await scriptedSink((n, _req, res) => {
      if (n === 0) { res.writeHead(503, { 'retry-after': '1' }).end(); return; }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(encodeResponse('traces', 'proto', { rejected: 1, errorMessage: 'one span too old' }));
    });
    const { svc: a, send } = await agentExporting('otlphttp', `{ endpoint: "http://127.0.0.1:${sink.port}", ${fastRetry} }`, 'traces');
    try {
      await send();
      await waitFor('the retry', () => sink.times.length >= 2, 5000);
      assert.ok(sink.times[1]! - sink.times[0]! >= 950, `retried after ${sink.times[1]! - sink.times[0]!}ms, Retry-After was 1s`);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(sink.times.length, 2, 'partial success must not be retried');
      assert.equal(await selfMetric(a, 'sonde_exporter_sent_spans_total'), 1);
    } finally {
      await a.shutdown();
      await sink.close();
    }
  });

  it('gRPC RESOURCE_EXHAUSTED without RetryInfo is permanent; UNAVAILABLE is retried', async () => {
    let calls = 0;
    const server = new grpc.Server();
    server.addService({
      Export: { path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export', requestStream: false, responseStream: false,
        requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, requestSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b, originalName: 'export' },
    }, { Export: (_c: unknown, cb: grpc.sendUnaryData<Buffer>) => {
      calls++;
      if (calls === 1) cb({ code: grpc.status.UNAVAILABLE, details: 'warming up' });
      else if (calls === 2) cb(null, Buffer.alloc(0));
      else cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'quota' });
    } });
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    const { svc: a, send } = await agentExporting('otlp', `{ endpoint: "127.0.0.1:${port}", tls: { insecure: true }, ${fastRetry} }`, 'traces');
    try {
      await send();
      await waitFor('retry then success', () => calls >= 2);
      await send();
      await waitFor('the RESOURCE_EXHAUSTED call', () => calls >= 3);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(calls, 3);
      assert.equal(await selfMetric(a, 'sonde_exporter_sent_spans_total'), 1);
      assert.equal(await selfMetric(a, 'sonde_exporter_send_failed_spans_total'), 1);
    } finally {
      await a.shutdown();
      server.forceShutdown();
    }
  });
});
