// The OTLP receiver: gRPC (grpc-js, the three Export services registered with our own codec) and
// HTTP (node:http, /v1/traces|metrics|logs, protobuf or JSON, gzip/deflate). Decode failures are
// answered 400 / INVALID_ARGUMENT and counted; pipeline errors travel back to the sender as
// 503 / UNAVAILABLE (retryable), 429 / RESOURCE_EXHAUSTED, 400 / INVALID_ARGUMENT (permanent) or
// 500 / INTERNAL (a bug downstream), so that SDKs retry exactly when retrying can help.
import * as grpc from '@grpc/grpc-js';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createGunzip, createInflate } from 'node:zlib';
import type { Logger } from 'pino';
import type { ConsumeOf, CreateSettings, Host, Lifecycle } from '../../component.js';
import { type ConsumeContext, type Consumer, ConsumerError } from '../../consumer.js';
import { CONSUME_METHOD } from '../../internal/consumers.js';
import { parseEndpoint } from '../../internal/endpoint.js';
import { ReceiverTelemetry } from '../../internal/selftelemetry.js';
import { readTlsFiles } from '../../internal/tls.js';
import type { Signal, SignalData } from '../../pdata/model.js';
import { decodeRequest, encodeResponse, encodeStatus, OTLP_GRPC_SERVICES, OtlpDecodeError, type OtlpEncoding } from '../../pdata/otlp.js';
import { countItems } from '../../pdata/util.js';
import type { GrpcServerConfig, HttpServerConfig, OtlpReceiverConfig } from './config.js';

type NextConsumers = Partial<{ [S in Signal]: Consumer<S> }>;

/** Seconds a sender should wait before retrying a refused request (HTTP Retry-After). */
const RETRY_AFTER_SECONDS = 1;
/** Headers never copied into ConsumeContext.metadata: credentials are not telemetry. */
const SECRET_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);
// google.rpc.Code values used in Status bodies.
const RPC_INVALID_ARGUMENT = 3;
const RPC_RESOURCE_EXHAUSTED = 8;
const RPC_INTERNAL = 13;
const RPC_UNAVAILABLE = 14;

/** How a pipeline error is answered on each transport. */
function classify(err: unknown): { http: number; grpc: grpc.status; rpc: number } {
  if (err instanceof ConsumerError) {
    if (err.kind === 'retryable') return { http: 503, grpc: grpc.status.UNAVAILABLE, rpc: RPC_UNAVAILABLE };
    if (err.kind === 'resourceExhausted') return { http: 429, grpc: grpc.status.RESOURCE_EXHAUSTED, rpc: RPC_RESOURCE_EXHAUSTED };
    return { http: 400, grpc: grpc.status.INVALID_ARGUMENT, rpc: RPC_INVALID_ARGUMENT };
  }
  return { http: 500, grpc: grpc.status.INTERNAL, rpc: RPC_INTERNAL };
}

function metadataOf(entries: Iterable<[string, unknown]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of entries) {
    const key = k.toLowerCase();
    if (SECRET_HEADERS.has(key) || v === undefined) continue;
    out[key] = (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('base64') : String(x)));
  }
  return out;
}

/** `cors.allowed_origins` as one test: exact origins, `*` for any, `*` inside a pattern for any characters. */
function originMatcher(patterns: string[]): (origin: string) => boolean {
  const compiled = patterns.map((pattern) => ({ pattern, re: new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`) }));
  return (origin) => compiled.some(({ pattern, re }) => pattern === '*' || pattern === origin || re.test(origin));
}

class BodyTooLargeError extends Error {}

export class OtlpReceiver implements Lifecycle {
  private readonly logger: Logger;
  private grpcServer?: grpc.Server;
  private httpServer?: Server;
  private grpcTelemetry?: ReceiverTelemetry;
  private httpTelemetry?: ReceiverTelemetry;
  private originAllowed: (origin: string) => boolean = () => false;
  /** Bound addresses after start (port 0 resolves to the real port): for tests and logs. */
  readonly addresses: { grpc?: string; http?: string } = {};

  constructor(private readonly settings: CreateSettings, private readonly cfg: OtlpReceiverConfig, private readonly next: NextConsumers) {
    this.logger = settings.logger;
  }

  async start(host: Host): Promise<void> {
    const id = this.settings.id.toString();
    const { grpc: g, http: h } = this.cfg.protocols;
    if (g) {
      this.grpcTelemetry = new ReceiverTelemetry(host.selfMetrics, id, 'grpc');
      await this.startGrpc(g);
    }
    if (h) {
      this.httpTelemetry = new ReceiverTelemetry(host.selfMetrics, id, 'http');
      try {
        await this.startHttp(h);
      } catch (err) {
        await this.shutdown();
        throw err;
      }
    }
  }

  /** Pushes decoded data into the pipeline, counting accepted/refused items. */
  private async push<S extends Signal>(signal: S, data: SignalData[S], ctx: ConsumeContext, tel: ReceiverTelemetry): Promise<void> {
    const consumer = this.next[signal] as unknown as Record<string, ConsumeOf<S>> | undefined;
    if (!consumer) throw ConsumerError.permanent(`receiver "${this.settings.id}" is not part of any ${signal} pipeline`);
    const n = countItems(signal, data);
    if (signal === 'traces') this.settings.host.traceJoins.rewrite(data as SignalData['traces']);
    try {
      await consumer[CONSUME_METHOD[signal]]!(data, ctx);
      tel.accepted(signal, n);
    } catch (err) {
      tel.refused(signal, n);
      throw err;
    }
  }

  // ── gRPC ──────────────────────────────────────────────────────────────────────────────────────
  private async startGrpc(g: GrpcServerConfig): Promise<void> {
    const { host, port } = parseEndpoint(g.endpoint, 'protocols::grpc::endpoint');
    const server = new grpc.Server({
      'grpc.max_receive_message_length': g.max_recv_msg_size_mib * 1024 * 1024,
      ...(g.max_concurrent_streams > 0 ? { 'grpc.max_concurrent_streams': g.max_concurrent_streams } : {}),
    });
    const identity = (b: Buffer) => b;
    for (const signal of Object.keys(this.next) as Signal[]) {
      const service: grpc.ServiceDefinition = {
        Export: {
          path: `/${OTLP_GRPC_SERVICES[signal]}/Export`,
          requestStream: false,
          responseStream: false,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
          originalName: 'export',
        },
      };
      server.addService(service, { Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => this.onGrpcExport(signal, g, call, cb) });
    }
    const creds = g.tls && g.tls.cert_file
      ? (() => {
        const m = readTlsFiles(g.tls!, 'receivers::otlp::protocols::grpc', 'client_ca_file');
        return grpc.ServerCredentials.createSsl(m.ca ?? null, [{ cert_chain: m.cert!, private_key: m.key! }], Boolean(m.ca));
      })()
      : grpc.ServerCredentials.createInsecure();
    const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(addr, creds, (err, p) => (err ? reject(new Error(`otlp receiver: cannot listen for gRPC on ${addr}: ${err.message}`)) : resolve(p)));
    });
    this.grpcServer = server;
    this.addresses.grpc = `${host}:${bound}`;
    this.logger.info({ endpoint: this.addresses.grpc }, 'Starting GRPC server');
  }

  private onGrpcExport(signal: Signal, g: GrpcServerConfig, call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>): void {
    const tel = this.grpcTelemetry!;
    let data: SignalData[Signal];
    try {
      data = decodeRequest(signal, call.request, 'proto');
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'rejected an undecodable gRPC request');
      cb({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
      return;
    }
    const ctx: ConsumeContext = { clientAddress: call.getPeer() };
    if (g.include_metadata) ctx.metadata = metadataOf(Object.entries(call.metadata.getMap()));
    this.push(signal, data, ctx, tel).then(
      () => cb(null, Buffer.from(encodeResponse(signal, 'proto') as Uint8Array)),
      (err) => cb({ code: classify(err).grpc, details: (err as Error).message ?? String(err) }),
    );
  }

  // ── HTTP ──────────────────────────────────────────────────────────────────────────────────────
  private async startHttp(h: HttpServerConfig): Promise<void> {
    const { host, port } = parseEndpoint(h.endpoint, 'protocols::http::endpoint');
    const routes = new Map<string, Signal>();
    const paths: Record<Signal, string> = { traces: h.traces_url_path, metrics: h.metrics_url_path, logs: h.logs_url_path };
    for (const signal of Object.keys(this.next) as Signal[]) routes.set(paths[signal], signal);
    this.originAllowed = originMatcher(h.cors?.allowed_origins ?? []);
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.onHttpRequest(h, routes, req, res).catch((err) => {
        this.logger.error({ err }, 'unexpected error handling an OTLP/HTTP request');
        if (!res.headersSent) res.writeHead(500).end();
      });
    };
    const server = h.tls && h.tls.cert_file
      ? (() => {
        const m = readTlsFiles(h.tls!, 'receivers::otlp::protocols::http', 'client_ca_file');
        return createHttpsServer({ cert: m.cert, key: m.key, ca: m.ca, requestCert: Boolean(m.ca), rejectUnauthorized: Boolean(m.ca) }, handler);
      })()
      : createHttpServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`otlp receiver: cannot listen for HTTP on ${host}:${port}: ${err.message}`)));
      server.listen(port, host, () => resolve());
    });
    const a = server.address();
    this.httpServer = server;
    this.addresses.http = `${host}:${typeof a === 'object' && a ? a.port : port}`;
    this.logger.info({ endpoint: this.addresses.http }, 'Starting HTTP server');
  }

  private cors(h: HttpServerConfig, req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    if (!origin || !this.originAllowed(origin)) return;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST');
      res.setHeader('Access-Control-Allow-Headers', ['Content-Type', 'Content-Encoding', ...(h.cors?.allowed_headers ?? [])].join(', '));
      if (h.cors?.max_age) res.setHeader('Access-Control-Max-Age', String(h.cors.max_age));
    }
  }

  private async onHttpRequest(h: HttpServerConfig, routes: Map<string, Signal>, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const signal = routes.get(path);
    if (h.response_headers) for (const [k, v] of Object.entries(h.response_headers)) res.setHeader(k, String(v));
    this.cors(h, req, res);
    if (!signal) { req.resume(); res.writeHead(404, { 'content-type': 'text/plain' }).end(`404 page not found: ${path}\n`); return; }
    if (req.method === 'OPTIONS' && h.cors && h.cors.allowed_origins.length) { req.resume(); res.writeHead(204).end(); return; }
    if (req.method !== 'POST') {
      req.resume();
      res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end(`405 method not allowed, supported: [POST]\n`);
      return;
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const encoding: OtlpEncoding | undefined = contentType === 'application/x-protobuf' ? 'proto' : contentType === 'application/json' ? 'json' : undefined;
    if (!encoding) {
      req.resume();
      res.writeHead(415, { 'content-type': 'text/plain' })
        .end(`415 unsupported media type, supported: [application/json, application/x-protobuf], got "${req.headers['content-type'] ?? ''}"\n`);
      return;
    }
    const tel = this.httpTelemetry!;
    const fail = (status: number, rpc: number, message: string, extra: Record<string, string> = {}) => {
      const body = encodeStatus(rpc, message, encoding);
      res.writeHead(status, { 'content-type': contentType, ...extra }).end(body);
    };
    let body: Buffer;
    try {
      body = await this.readBody(req, h.max_request_body_size);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        fail(413, RPC_INVALID_ARGUMENT, err.message, { connection: 'close' });
        req.destroy();
        return;
      }
      fail(400, RPC_INVALID_ARGUMENT, (err as Error).message);
      return;
    }
    let data: SignalData[Signal];
    try {
      data = decodeRequest(signal, body, encoding);
    } catch (err) {
      if (!(err instanceof OtlpDecodeError)) throw err;
      this.logger.debug({ err: err.message }, 'rejected an undecodable HTTP request');
      fail(400, RPC_INVALID_ARGUMENT, err.message);
      return;
    }
    const ctx: ConsumeContext = { clientAddress: req.socket.remoteAddress };
    if (h.include_metadata) ctx.metadata = metadataOf(Object.entries(req.headers));
    try {
      await this.push(signal, data, ctx, tel);
    } catch (err) {
      const c = classify(err);
      const retry: Record<string, string> = c.http === 503 || c.http === 429 ? { 'retry-after': String(RETRY_AFTER_SECONDS) } : {};
      fail(c.http, c.rpc, (err as Error).message ?? String(err), retry);
      return;
    }
    res.writeHead(200, { 'content-type': contentType }).end(encodeResponse(signal, encoding));
  }

  /** Reads (and inflates) a body, enforcing the limit on both the wire and the inflated size. */
  private readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      return Promise.reject(new BodyTooLargeError(`request body of ${declared} bytes exceeds max_request_body_size ${limit}`));
    }
    const ce = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
    let stream: NodeJS.ReadableStream = req;
    if (ce === 'gzip') stream = req.pipe(createGunzip());
    else if (ce === 'deflate') stream = req.pipe(createInflate());
    else if (ce !== '' && ce !== 'identity') {
      req.resume();
      return Promise.reject(new Error(`unsupported Content-Encoding "${ce}" (supported: gzip, deflate, identity)`));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        if (err) reject(err); else resolve(Buffer.concat(chunks, size));
      };
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) {
          finish(new BodyTooLargeError(`request body exceeds max_request_body_size ${limit} bytes${ce ? ' (after decompression)' : ''}`));
          return;
        }
        if (!done) chunks.push(c);
      });
      stream.on('end', () => finish());
      stream.on('error', (err: Error) => finish(new Error(`cannot read the request body (Content-Encoding "${ce || 'identity'}"): ${err.message}`)));
      req.on('aborted', () => finish(new Error('client aborted the request')));
    });
  }

  /** Lets in-flight exports finish, but never hangs shutdown on a stuck client: 5 s, or the service deadline if sooner. */
  async shutdown(deadline?: AbortSignal): Promise<void> {
    const tasks: Promise<void>[] = [];
    const whenStuck = (force: () => void) => {
      const timer = setTimeout(force, 5000);
      const onDeadline = () => { clearTimeout(timer); force(); };
      if (deadline?.aborted) onDeadline();
      else deadline?.addEventListener('abort', onDeadline, { once: true });
      return () => { clearTimeout(timer); deadline?.removeEventListener('abort', onDeadline); };
    };
    const g = this.grpcServer;
    if (g) {
      this.grpcServer = undefined;
      tasks.push(new Promise<void>((resolve) => {
        const done = whenStuck(() => { g.forceShutdown(); resolve(); });
        g.tryShutdown(() => { done(); resolve(); });
      }));
    }
    const h = this.httpServer;
    if (h) {
      this.httpServer = undefined;
      tasks.push(new Promise<void>((resolve) => {
        const done = whenStuck(() => h.closeAllConnections());
        h.close(() => { done(); resolve(); });
        h.closeIdleConnections();
      }));
    }
    await Promise.all(tasks);
  }
}
