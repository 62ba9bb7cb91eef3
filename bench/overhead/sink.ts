// The local OTLP/HTTP sink both instrumented modes export to: answers every POST with 200 right
// away and keeps the trace request bodies of the current measurement window, so that the spans
// that really arrived can be counted after the window (decoding during the load would steal CPU
// from the server under test). Only SERVER spans that started inside the window count: the
// warm-up's last batch may arrive after the window opened, and Sonde also reports wrk's side of
// each request as a CLIENT span.
import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { decodeRequest } from '../../src/collector/pdata/otlp.js';
import { SpanKind, type Traces } from '../../src/collector/pdata/model.js';
import { readBody } from '../../test/helpers/net.js';
import { listenOnLoopback } from '../support/listen.js';

/** Beyond this many stored bytes per window the span count is reported as unknown. */
const MAX_STORED_BYTES = 512 * 1024 * 1024;

interface StoredBody { body: Buffer; gzip: boolean; json: boolean }

export interface SinkWindow {
  /** SERVER spans that started and arrived during the window; undefined when too much arrived to keep. */
  serverSpans: number | undefined;
  requests: number;
  bytes: number;
  /** Trace bodies that did not decode as OTLP. */
  undecodable: number;
}

export class OtlpSink {
  private server?: Server;
  private traceBodies: StoredBody[] = [];
  private storedBytes = 0;
  private overflow = false;
  private requests = 0;
  private bytes = 0;
  private windowStartNs = 0n;
  private lastArrival = 0;

  async start(): Promise<number> {
    const server = createServer(async (req, res) => {
      const body = await readBody(req);
      this.requests++;
      this.lastArrival = Date.now();
      this.bytes += body.length;
      if (req.method === 'POST' && req.url === '/v1/traces') this.keep(body, req.headers['content-encoding'] === 'gzip', String(req.headers['content-type']).startsWith('application/json'));
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
    this.server = server;
    return listenOnLoopback(server, 'OTLP sink');
  }

  private keep(body: Buffer, gzip: boolean, json: boolean): void {
    if (this.storedBytes + body.length > MAX_STORED_BYTES) { this.overflow = true; return; }
    this.traceBodies.push({ body, gzip, json });
    this.storedBytes += body.length;
  }

  /** Starts a new measurement window, forgetting what arrived before. */
  mark(): void {
    this.traceBodies = [];
    this.storedBytes = 0;
    this.overflow = false;
    this.requests = 0;
    this.bytes = 0;
    // A little slack for clock reads in other processes; the warm-up ended well before this.
    this.windowStartNs = BigInt(Date.now() - 100) * 1_000_000n;
  }

  /**
   * Waits until nothing arrived for `idleMs` (the exporters' last batches are in), at most `maxMs`.
   * The idle time counts from the call at the earliest: an exporter whose first timed batch is
   * still due has sent nothing yet, which is not idle.
   */
  async waitForIdle(idleMs = 1500, maxMs = 15_000): Promise<void> {
    const start = Date.now();
    while (Date.now() - start < maxMs && Date.now() - Math.max(this.lastArrival, start) < idleMs) await new Promise((r) => setTimeout(r, 100));
  }

  private serverSpansInWindow(td: Traces): number {
    let n = 0;
    for (const rs of td.resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) if (span.kind === SpanKind.SERVER && span.startTimeUnixNano >= this.windowStartNs) n++;
      }
    }
    return n;
  }

  /** What arrived since mark(). */
  window(): SinkWindow {
    let serverSpans = 0;
    let undecodable = 0;
    for (const { body, gzip, json } of this.traceBodies) {
      try {
        const raw = gzip ? gunzipSync(body) : body;
        serverSpans += this.serverSpansInWindow(decodeRequest('traces', json ? raw.toString('utf8') : raw, json ? 'json' : 'proto'));
      } catch {
        undecodable++;
      }
    }
    return { serverSpans: this.overflow ? undefined : serverSpans, requests: this.requests, bytes: this.bytes, undecodable };
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
