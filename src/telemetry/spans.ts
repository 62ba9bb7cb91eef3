// Exchange → SERVER/CLIENT span with OpenTelemetry semantic-convention attributes, joining the
// caller's trace through `traceparent`.
import { type Attributes, type Span, SpanKind } from '../collector/pdata/model.js';
import type { Exchange, ExchangeOrigin, HeaderList } from '../protocols/exchange.js';
import type { MonotonicClock } from './clock.js';
import { headerValue, type GrpcFacts, type HttpFacts } from './exchange-facts.js';
import { extractTraceContext, IdGenerator, TRACE_FLAG_SAMPLED } from './trace-context.js';

// OTLP span flags: bit 8 says whether the parent is remote is known, bit 9 that it is remote.
export const SPAN_FLAGS_HAS_IS_REMOTE = 0x100;
export const SPAN_FLAGS_IS_REMOTE = 0x200;

export interface SpanFactoryOptions {
  /** Mark spans whose propagated traceparent says sampled=0 as not sampled (they still count in metrics). */
  parentBasedSampling: boolean;
}

export interface SpanIds {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  flags: number;
  /** False when the propagated context says the trace is not sampled. */
  sampled: boolean;
  /** True when the ids came from a valid incoming traceparent. */
  propagated: boolean;
}

// Attributes every span has come first, in one object literal: V8 then allocates the object at its
// final size instead of growing it property by property (a third of record()'s allocations).
function addNetworkType(attrs: Attributes, origin: ExchangeOrigin): void {
  if (origin.family) attrs['network.type'] = origin.family === 6 ? 'ipv6' : 'ipv4';
}

export class SpanFactory {
  private readonly ids = new IdGenerator();
  /** Requests whose traceparent header was present but invalid (ignored, new trace started). */
  invalidTraceparents = 0;

  constructor(private readonly clock: MonotonicClock, private readonly options: SpanFactoryOptions) {}

  /**
   * Span identity. SERVER: a valid incoming traceparent gives the trace id and the parent; the span
   * id is new. CLIENT: the traceparent the process sent *is* its own client span's context, so the
   * trace id and span id come from the header (the downstream server span then becomes its child);
   * its parent is unknown. Without a valid traceparent: a new trace.
   */
  spanIds(headers: HeaderList, role: ExchangeOrigin['role']): SpanIds {
    const ctx = extractTraceContext(headers);
    if (!ctx) {
      if (headerValue(headers, 'traceparent') !== undefined) this.invalidTraceparents++;
      return { traceId: this.ids.traceId(), spanId: this.ids.spanId(), parentSpanId: '', traceState: '',
        flags: TRACE_FLAG_SAMPLED | SPAN_FLAGS_HAS_IS_REMOTE, sampled: true, propagated: false };
    }
    const sampled = ctx.sampled || !this.options.parentBasedSampling;
    const traceFlags = ctx.flags & 0xff;
    if (role === 'server') {
      return { traceId: ctx.traceId, spanId: this.ids.spanId(), parentSpanId: ctx.spanId, traceState: ctx.traceState,
        flags: traceFlags | SPAN_FLAGS_HAS_IS_REMOTE | SPAN_FLAGS_IS_REMOTE, sampled, propagated: true };
    }
    return { traceId: ctx.traceId, spanId: ctx.spanId, parentSpanId: '', traceState: ctx.traceState,
      flags: traceFlags, sampled, propagated: true };
  }

  /** A new random span id (for the spans trace-linker.ts puts into a caller's trace). */
  newSpanId(): string {
    return this.ids.spanId();
  }

  /** A new random trace id. */
  newTraceId(): string {
    return this.ids.traceId();
  }

  /** Builds the span with ids from spanIds() (the caller skips unsampled ones). */
  httpSpan(exchange: Exchange, origin: ExchangeOrigin, facts: HttpFacts, route: string | undefined, ids: SpanIds): Span {
    const isServer = origin.role === 'server';
    const attrs: Attributes = {
      'http.request.method': facts.method,
      'url.scheme': facts.scheme,
      'server.address': facts.serverAddress,
      'server.port': facts.serverPort,
      'network.peer.address': origin.remoteAddress,
      'network.peer.port': origin.remotePort,
      'network.protocol.version': facts.protocolVersion,
      'network.transport': 'tcp',
      'http.request.body.size': exchange.request.bodySize,
    };
    if (facts.methodOriginal !== undefined) attrs['http.request.method_original'] = facts.methodOriginal;
    if (facts.path) attrs['url.path'] = facts.path;
    if (!isServer) attrs['url.full'] = `${facts.scheme}://${facts.authority}${facts.path}`;
    if (route !== undefined) attrs['http.route'] = route;
    if (facts.status !== undefined) attrs['http.response.status_code'] = facts.status;
    if (facts.clientAddress !== undefined) attrs['client.address'] = facts.clientAddress;
    addNetworkType(attrs, origin);
    if (facts.userAgent !== undefined) attrs['user_agent.original'] = facts.userAgent;
    if (exchange.response) attrs['http.response.body.size'] = exchange.response.bodySize;
    if (facts.errorType !== undefined) attrs['error.type'] = facts.errorType;
    // Semantic conventions: `{method} {route}`; `HTTP` stands in for unknown methods.
    const method = facts.method === '_OTHER' ? 'HTTP' : facts.method;
    const name = route !== undefined ? `${method} ${route}` : method;
    const message = exchange.response ? '' : `no response: ${exchange.error ?? 'connection ended'}`;
    return this.span(exchange, origin, ids, name, attrs, facts.spanStatus, message);
  }

  grpcSpan(exchange: Exchange, origin: ExchangeOrigin, facts: GrpcFacts, ids: SpanIds): Span {
    const attrs: Attributes = {
      'rpc.system': 'grpc',
      'server.address': facts.serverAddress,
      'server.port': facts.serverPort,
      'network.peer.address': origin.remoteAddress,
      'network.peer.port': origin.remotePort,
      'network.protocol.version': '2',
      'network.transport': 'tcp',
    };
    if (facts.service !== undefined) attrs['rpc.service'] = facts.service;
    if (facts.method !== undefined) attrs['rpc.method'] = facts.method;
    if (facts.grpcStatus !== undefined) attrs['rpc.grpc.status_code'] = facts.grpcStatus;
    if (facts.clientAddress !== undefined) attrs['client.address'] = facts.clientAddress;
    addNetworkType(attrs, origin);
    if (facts.userAgent !== undefined) attrs['user_agent.original'] = facts.userAgent;
    if (exchange.messages) {
      // The parser counts from the client's side (sent: client → server); a server sends the responses.
      const { sent, received } = exchange.messages;
      attrs['rpc.message.sent_count'] = origin.role === 'server' ? received : sent;
      attrs['rpc.message.received_count'] = origin.role === 'server' ? sent : received;
    }
    if (facts.errorType !== undefined) attrs['error.type'] = facts.errorType;
    return this.span(exchange, origin, ids, facts.fullMethod || 'grpc', attrs, facts.spanStatus, facts.statusMessage);
  }

  private span(exchange: Exchange, origin: ExchangeOrigin, ids: SpanIds, name: string, attributes: Attributes,
    code: HttpFacts['spanStatus'], message: string): Span {
    const end = exchange.response?.endNs ?? exchange.request.endNs;
    return {
      traceId: ids.traceId,
      spanId: ids.spanId,
      traceState: ids.traceState,
      parentSpanId: ids.parentSpanId,
      flags: ids.flags,
      name,
      kind: origin.role === 'server' ? SpanKind.SERVER : SpanKind.CLIENT,
      startTimeUnixNano: this.clock.toUnixNs(exchange.request.startNs),
      endTimeUnixNano: this.clock.toUnixNs(end > exchange.request.startNs ? end : exchange.request.startNs),
      attributes,
      droppedAttributesCount: 0,
      events: [],
      droppedEventsCount: 0,
      links: [],
      droppedLinksCount: 0,
      status: { code, message },
    };
  }
}
