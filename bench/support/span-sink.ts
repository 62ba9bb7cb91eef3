// An OTLP/HTTP endpoint in the bench process that keeps every span the agent exports to it, decoded,
// with its resource and scope: bench/whole-traces judges the spans themselves (ids, parents,
// services), not just their number. Answers every POST with 200 at once; metrics and logs are
// acknowledged and dropped. Volumes are small (a few spans per chain request), so bodies are
// decoded as they arrive.
import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { Attributes, Span } from '../../src/collector/pdata/model.js';
import { decodeRequest } from '../../src/collector/pdata/otlp.js';
import { readBody } from '../../test/helpers/net.js';
import { listenOnLoopback } from './listen.js';

export interface ReceivedSpan {
  span: Span;
  resource: Attributes;
  /** Name of the instrumentation scope: `sonde` for captured spans, the instrumentation's for an SDK's. */
  scope: string;
}

export class SpanSink {
  private server?: Server;
  private received: ReceivedSpan[] = [];
  private lastArrival = 0;
  /** Trace bodies that did not decode as OTLP (a broken export would otherwise look like lost spans). */
  undecodable = 0;

  /** Listens on 127.0.0.1 (a free port); resolves with the port. */
  async start(): Promise<number> {
    const server = createServer(async (req, res) => {
      const body = await readBody(req);
      if (req.method === 'POST' && req.url === '/v1/traces') {
        this.lastArrival = Date.now();
        this.keep(body, req.headers['content-encoding'] === 'gzip', String(req.headers['content-type']).startsWith('application/json'));
      }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
    this.server = server;
    return listenOnLoopback(server, 'span sink');
  }

  private keep(body: Buffer, gzip: boolean, json: boolean): void {
    try {
      const raw = gzip ? gunzipSync(body) : body;
      const td = decodeRequest('traces', json ? raw.toString('utf8') : raw, json ? 'json' : 'proto');
      for (const rs of td.resourceSpans) {
        for (const ss of rs.scopeSpans) {
          for (const span of ss.spans) this.received.push({ span, resource: rs.resource.attributes, scope: ss.scope.name });
        }
      }
    } catch {
      this.undecodable++;
    }
  }

  /** Every span received since the last clear(). */
  spans(): readonly ReceivedSpan[] {
    return this.received;
  }

  clear(): void {
    this.received = [];
    this.undecodable = 0;
  }

  /** Waits until no trace export arrived for `idleMs` (the agent's last batches are in), at most `maxMs`. */
  async waitForIdle(idleMs: number, maxMs: number): Promise<void> {
    const start = Date.now();
    while (Date.now() - start < maxMs && Date.now() - Math.max(this.lastArrival, start) < idleMs) await new Promise((r) => setTimeout(r, 100));
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
