// Options of the otlp receiver and the exporters beyond the main path: TLS both ways (a
// certificate made with openssl for 127.0.0.1), include_metadata (credentials never copied),
// CORS, the file exporter's proto format, the debug exporter's verbosity levels.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { ExporterFactory } from '../../src/collector/component.js';
import { makeRegistry } from '../../src/collector/components.js';
import type { ConsumeContext } from '../../src/collector/consumer.js';
import { exporterFactories } from '../../src/collector/exporters/index.js';
import { asComponent } from '../../src/collector/internal/consumers.js';
import { decodeRequest, encodeRequest } from '../../src/collector/pdata/otlp.js';
import { receiverFactories } from '../../src/collector/receivers/index.js';
import { Service } from '../../src/collector/service/service.js';
import { readBody } from '../helpers/net.js';
import { freePort, readFileExport, receiverYaml, sampleData, startService, tempDir, waitFor } from './helpers.js';

const data = sampleData('options');
const postJson = (port: number, headers: Record<string, string> = {}, scheme = 'http') =>
  fetch(`${scheme}://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: encodeRequest('traces', data.traces, 'json') });

function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

describe('TLS', () => {
  for (const v of [
    { exporter: 'otlp', protocol: 'grpc' as const, endpoint: (p: number) => `127.0.0.1:${p}` },
    { exporter: 'otlphttp', protocol: 'http' as const, endpoint: (p: number) => `https://127.0.0.1:${p}` },
  ]) {
    it(`${v.exporter} exporter → otlp receiver (${v.protocol}) over TLS with a custom CA`, async () => {
      const dir = tempDir();
      const { cert, key } = selfSignedCert(dir);
      const [bPort, aPort] = [await freePort(), await freePort()];
      const out = join(dir, 'out.jsonl');
      const b = await startService(`
${receiverYaml({ [v.protocol]: bPort }, { [v.protocol]: `tls: { cert_file: ${cert}, key_file: ${key} }` })}
exporters: { file: { path: ${out} } }
service: { pipelines: { traces: { receivers: [otlp], exporters: [file] } } }
`);
      const a = await startService(`
${receiverYaml({ http: aPort })}
exporters: { ${v.exporter}: { endpoint: "${v.endpoint(bPort)}", tls: { ca_file: ${cert} }, retry_on_failure: { enabled: false } } }
service: { pipelines: { traces: { receivers: [otlp], exporters: [${v.exporter}] } } }
`);
      try {
        assert.equal((await postJson(aPort)).status, 200);
        assert.deepEqual(await waitFor('traces over TLS', () => readFileExport(out, 'traces')[0]), data.traces);
      } finally {
        await a.shutdown();
        await b.shutdown();
      }
    });
  }
});

describe('otlp receiver options', () => {
  it('include_metadata passes headers to the pipeline but never Authorization or Cookie', async () => {
    const seen: ConsumeContext[] = [];
    const capture: ExporterFactory = {
      kind: 'exporter', type: 'capture', signals: ['traces'], createDefaultConfig: () => ({}),
      createExporter: (_s, _c, signal) => asComponent(signal, { consume: async (_d, ctx) => { seen.push(ctx ?? {}); }, start: async () => {}, shutdown: async () => {} }),
    };
    const port = await freePort();
    const svc = await startService(`
${receiverYaml({ http: port }, { http: 'include_metadata: true' })}
exporters: { capture: {} }
service: { pipelines: { traces: { receivers: [otlp], exporters: [capture] } } }
`, { registry: makeRegistry({ receiver: receiverFactories, exporter: [capture] }) });
    try {
      assert.equal((await postJson(port, { 'x-tenant': 'acme', authorization: 'Bearer secret', cookie: 'a=b' })).status, 200);
      assert.deepEqual(seen[0]!.metadata!['x-tenant'], ['acme']);
      assert.equal(seen[0]!.metadata!.authorization, undefined);
      assert.equal(seen[0]!.metadata!.cookie, undefined);
      assert.equal(seen[0]!.clientAddress, '127.0.0.1');
    } finally {
      await svc.shutdown();
    }
  });

  it('answers CORS preflights for allowed origins only', async () => {
    const port = await freePort();
    const svc = await startService(`
${receiverYaml({ http: port }, { http: 'cors: { allowed_origins: ["https://*.example.com"], max_age: 600 }' })}
exporters: { debug: { verbosity: basic, sampling_initial: 0, sampling_thereafter: 0 } }
service: { pipelines: { traces: { receivers: [otlp], exporters: [debug] } } }
`);
    try {
      const ok = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
      assert.equal(ok.status, 204);
      assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example.com');
      assert.equal(ok.headers.get('access-control-max-age'), '600');
      const denied = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'OPTIONS', headers: { origin: 'https://evil.test' } });
      assert.equal(denied.headers.get('access-control-allow-origin'), null);
      const post = await postJson(port, { origin: 'https://app.example.com' });
      assert.equal(post.status, 200);
      assert.equal(post.headers.get('access-control-allow-origin'), 'https://app.example.com');
    } finally {
      await svc.shutdown();
    }
  });
});

describe('service telemetry and queue blocking', () => {
  it('serves the self-metrics at service.telemetry.metrics.address', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const svc = await startService(`
${receiverYaml({ http: port })}
exporters: { debug: { sampling_initial: 0, sampling_thereafter: 0 } }
service:
  pipelines: { traces: { receivers: [otlp], exporters: [debug] } }
  telemetry: { metrics: { level: detailed, address: "127.0.0.1:${metricsPort}" } }
`);
    try {
      assert.equal((await postJson(port)).status, 200);
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /sonde_receiver_accepted_spans_total\{receiver="otlp",transport="http"\} 1/);
    } finally {
      await svc.shutdown();
    }
  });

  it('block_on_overflow makes the sender wait for room instead of refusing', async () => {
    const held: Array<() => void> = [];
    const sink = createServer((req, res) => { req.resume(); req.on('end', () => held.push(() => res.writeHead(200).end())); });
    const sinkPort = await new Promise<number>((r) => sink.listen(0, '127.0.0.1', () => r((sink.address() as { port: number }).port)));
    const port = await freePort();
    const svc = await startService(`
${receiverYaml({ http: port })}
exporters: { otlphttp: { endpoint: "http://127.0.0.1:${sinkPort}", sending_queue: { num_consumers: 1, queue_size: 1, block_on_overflow: true } } }
service: { pipelines: { traces: { receivers: [otlp], exporters: [otlphttp] } } }
`);
    try {
      assert.equal((await postJson(port)).status, 200); // in flight at the sink
      await waitFor('first request held', () => held.length === 1);
      assert.equal((await postJson(port)).status, 200); // queued
      let thirdDone = false;
      const third = postJson(port).then((r) => { thirdDone = true; return r.status; });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(thirdDone, false, 'the third request waits while the queue is full');
      held.shift()!();
      assert.equal(await third, 200);
      const release = setInterval(() => { for (const h of held.splice(0)) h(); }, 10);
      await svc.shutdown();
      clearInterval(release);
    } finally {
      await svc.shutdown();
      sink.closeAllConnections();
      sink.close();
    }
  });
});

describe('file and debug exporters', () => {
  it('file format proto writes length-prefixed requests; append keeps earlier content', async () => {
    const dir = tempDir();
    const path = join(dir, 'out.pb');
    writeFileSync(path, '');
    const port = await freePort();
    const yaml = `
${receiverYaml({ http: port })}
exporters: { file: { path: ${path}, format: proto, append: true } }
service: { pipelines: { traces: { receivers: [otlp], exporters: [file] } } }
`;
    for (let round = 0; round < 2; round++) {
      const svc = await startService(yaml);
      assert.equal((await postJson(port)).status, 200);
      await svc.shutdown();
    }
    const buf = readFileSync(path);
    const messages: Buffer[] = [];
    for (let off = 0; off < buf.length;) {
      const len = buf.readUInt32BE(off);
      messages.push(buf.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    assert.equal(messages.length, 2);
    for (const m of messages) assert.deepEqual(decodeRequest('traces', m, 'proto'), data.traces);
  });

  it('debug verbosity basic, normal and detailed', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => { lines.push(JSON.parse(l)); } });
    const port = await freePort();
    const svc = await Service.fromYaml(`
${receiverYaml({ http: port })}
exporters: { debug/basic: { verbosity: basic }, debug/normal: { verbosity: normal }, debug/detailed: { verbosity: detailed } }
service: { pipelines: { traces: { receivers: [otlp], exporters: [debug/basic, debug/normal, debug/detailed] } } }
`, { logger, selfMetrics: new Registry(), registry: makeRegistry({ receiver: receiverFactories, exporter: exporterFactories }) });
    await svc.start();
    try {
      assert.equal((await postJson(port)).status, 200);
      const by = (name: string) => lines.find((l) => l.name === name && String(l.msg).startsWith('Traces'))!;
      assert.equal(by('debug/basic').msg, 'Traces');
      assert.equal(by('debug/basic')['resource spans'], 1);
      assert.equal(by('debug/basic').spans, 1);
      assert.match(String(by('debug/normal').msg), /GET \/r options 5b8efff798038103d269b633813fc60c eee19b7ec3c1b174 SERVER ERROR 5ms http.request.method=GET/);
      const detailed = String(by('debug/detailed').msg);
      assert.deepEqual(decodeRequest('traces', detailed.slice(detailed.indexOf('\n') + 1), 'json'), data.traces);
    } finally {
      await svc.shutdown();
    }
  });
});

describe('otlphttp compression_params', () => {
  it('level sets the gzip level (smaller bodies at 9 than at the default 1) and bad levels are rejected', async () => {
    const { gunzipSync } = await import('node:zlib');
    const bodies: Buffer[] = [];
    const sink = createServer(async (req, res) => {
      const body = await readBody(req);
      assert.equal(req.headers['content-encoding'], 'gzip');
      bodies.push(body);
      res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const sinkPort = (sink.address() as { port: number }).port;
    // Many similar spans: enough redundancy for the levels to differ.
    const big = { resourceSpans: Array.from({ length: 200 }, (_, i) => sampleData(`compress-${i % 7}`).traces.resourceSpans[0]!) };
    try {
      for (const level of [undefined, 9]) {
        const port = await freePort();
        const svc = await startService(`
${receiverYaml({ http: port })}
exporters: { otlphttp: { endpoint: "http://127.0.0.1:${sinkPort}"${level === undefined ? '' : `, compression_params: { level: ${level} }`} } }
service: { pipelines: { traces: { receivers: [otlp], exporters: [otlphttp] } } }
`);
        try {
          const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: encodeRequest('traces', big, 'proto') });
          assert.equal(res.status, 200);
          await waitFor(`the body at level ${level ?? 'default'}`, () => bodies.length === (level === undefined ? 1 : 2));
        } finally {
          await svc.shutdown();
        }
      }
      const [fast, small] = bodies.map((b) => ({ size: b.length, data: decodeRequest('traces', gunzipSync(b), 'proto') }));
      assert.deepEqual(fast!.data, big);
      assert.deepEqual(small!.data, big);
      assert.ok(small!.size < fast!.size, `level 9 (${small!.size} B) should beat level 1 (${fast!.size} B)`);
    } finally {
      sink.close();
    }
    await assert.rejects(
      Service.fromYaml(`
receivers: { otlp: { protocols: { http: {} } } }
exporters: { otlphttp: { endpoint: "http://127.0.0.1:1", compression_params: { level: 12 } } }
service: { pipelines: { traces: { receivers: [otlp], exporters: [otlphttp] } } }
`, { logger: pino({ level: 'silent' }), selfMetrics: new Registry() }),
      /compression_params::level: 12 is not a gzip level/,
    );
  });
});
