// Decides each captured span's trace context when its request *starts*, caller before callee, so
// that every hop of a request on this host lands in one trace with the right parents:
//
// - SERVER request: a peer on this host (the client request on the other end of the connection,
//   told by the capture layer) gives the trace and the parent, with or without headers (a header
//   forwarded by a proxy names the proxy's caller, not the proxy's call). Otherwise a valid
//   incoming `traceparent` gives them, or the span starts a new trace.
// - CLIENT request: its in-process parent (the request the process was serving when it sent this
//   one, told by the capture layer) gives the trace and the parent, and the span gets a new id.
//   With a `traceparent` in the request:
//   - the span id a request received (the in-process parent's, else any held one's): the process
//     forwards its caller's header without tracing (a proxy such as nginx): that request is the
//     parent (even where the in-process parent was inferred wrongly), and the span a new id;
//   - another one, while the process serves a request: the process traces itself (an SDK made the
//     header). Its captured spans are left to its SDK (they would be duplicates), and when the
//     SDK started a new trace (the caller sent no header) that trace is joined to the caller's
//     (TraceJoin: the SDK's spans are re-identified where they enter the pipeline);
//   - without a parent: the header is the client span's own context (the downstream server span
//     is then its child).
//
// Requests start in capture order, and a caller's request starts before the calls it makes, so
// the parent's context is always decided first; nothing waits for a batch. Contexts are held
// from the start to the end of their exchange, bounded.
import type { HeaderList, InProcessParent, RequestRef, StartedRequest } from '../protocols/exchange.js';
import { SPAN_FLAGS_HAS_IS_REMOTE, SPAN_FLAGS_IS_REMOTE, type SpanFactory, type SpanIds } from './spans.js';

/** A span's context as decided at its request's start. */
export interface DecidedContext extends SpanIds {
  /** The in-process parent was inferred (event loop), not known (see InProcessParent.inferred). */
  inferred: boolean;
  /** SERVER spans: the span id of the incoming traceparent ('' without one): a call forwarding it is a proxy's. */
  incomingSpanId: string;
}

/** An SDK's trace that continues a captured one: its spans belong in `traceId`, its root under `parentSpanId`. */
export interface TraceJoin {
  sdkTraceId: string;
  traceId: string;
  /** The captured span the SDK's root span is a child of ('' when the captured request had no parent). */
  parentSpanId: string;
}

export interface TraceLinkerStats {
  /** Client spans of processes that forward their caller's traceparent (proxies), given a new id under the proxy's server span. */
  forwardedTraceparents: number;
  /** Server spans whose parent is the client span at the other end of a same-host connection. */
  linkedByConnection: number;
  /** Client spans whose parent is the request their process was serving, known exactly (thread per request). */
  linkedInProcess: number;
  /** The same, inferred (event loops). */
  linkedInProcessInferred: number;
  /** SDK traces joined to the captured trace of the request their process was serving. */
  traceJoins: number;
}

const MAX_JOINS = 16_384;

/**
 * A request's key: its connection and its sequence there (mod 2^16: requests 65,536 apart on one
 * connection are never open at once). Numbers, not strings: no allocation per lookup, and safe up
 * to 2^37 connections.
 */
const key = (connectionId: number, sequence: number) => connectionId * 65_536 + (sequence & 0xffff);
const keyOf = (r: RequestRef) => key(r.connectionId, r.sequence);

export class TraceLinker {
  private readonly contexts = new Map<number, DecidedContext>();
  /**
   * Server requests that came with a traceparent, by its span id: a call forwarding that header
   * names its request. Not checked against the pid: a server's pid may be its listener's owner
   * (nginx's master) while its calls carry the worker's.
   */
  private readonly incoming = new Map<string, number>();
  private readonly joins = new Map<string, TraceJoin>();
  readonly stats: TraceLinkerStats = { forwardedTraceparents: 0, linkedByConnection: 0, linkedInProcess: 0, linkedInProcessInferred: 0, traceJoins: 0 };

  /** `maxContexts`: requests started and not yet ended that are held (the oldest is forgotten first). */
  constructor(private readonly spans: SpanFactory, private readonly maxContexts: number, private readonly onJoin: (join: TraceJoin) => void = () => {}) {}

  /**
   * Decides the context of a request that started. Returns true when it shows that the process
   * traces itself (an SDK): its captured spans should then be left out.
   */
  start(s: StartedRequest): boolean {
    if (s.origin.connectionId === undefined) return false;
    const headers = s.start.headers;
    let decided: DecidedContext;
    let selfTraced = false;
    const k = key(s.origin.connectionId, s.start.sequence);
    if (s.origin.role === 'server') {
      decided = this.serverContext(headers, s.peer);
      if (decided.incomingSpanId !== '') this.index(decided.incomingSpanId, k);
    } else {
      const own = this.fromHeaders(headers, 'client');
      const parent = s.parent ? this.contexts.get(keyOf(s.parent)) : undefined;
      // A forwarded header names the request it came with, even where the in-process parent is only inferred.
      const forwardedFrom = !own.propagated ? undefined
        : parent && parent.incomingSpanId === own.spanId ? parent : this.contexts.get(this.incoming.get(own.spanId) ?? -1);
      if (forwardedFrom) {
        this.stats.forwardedTraceparents++;
        decided = this.childOf(forwardedFrom, { inferred: forwardedFrom === parent && s.parent!.inferred });
      } else if (!parent || !s.parent) decided = own;
      else if (!own.propagated) decided = this.childOf(parent, s.parent);
      else {
        selfTraced = true;
        if (own.traceId !== parent.traceId && !this.joins.has(own.traceId)) {
          this.join({ sdkTraceId: own.traceId, traceId: parent.traceId, parentSpanId: parent.parentSpanId });
          own.traceId = parent.traceId; // the header's trace, as joined from now on
        }
        decided = own;
      }
    }
    this.hold(k, decided);
    return selfTraced;
  }

  /** The context decided for this request at its start (forgotten now: the exchange ended), or undefined when its start was not seen. */
  end(connectionId: number | undefined, sequence: number | undefined): DecidedContext | undefined {
    if (connectionId === undefined || sequence === undefined) return undefined;
    const k = key(connectionId, sequence);
    const decided = this.contexts.get(k);
    if (!decided) return undefined;
    this.contexts.delete(k);
    if (decided.incomingSpanId !== '' && this.incoming.get(decided.incomingSpanId) === k) this.incoming.delete(decided.incomingSpanId);
    return decided;
  }

  /** Ids from the request's own traceparent (a new trace without one), with joined SDK traces mapped to the captured trace they continue. */
  private fromHeaders(headers: HeaderList, role: 'server' | 'client'): DecidedContext {
    const ids = this.spans.spanIds(headers, role);
    const join = ids.propagated ? this.joins.get(ids.traceId) : undefined;
    // One object literal of the final shape (a spread of `ids` measured 2 µs per request).
    return {
      traceId: join ? join.traceId : ids.traceId, spanId: ids.spanId, parentSpanId: ids.parentSpanId, traceState: ids.traceState,
      flags: ids.flags, sampled: ids.sampled, propagated: ids.propagated, inferred: false,
      incomingSpanId: role === 'server' && ids.propagated ? ids.parentSpanId : '',
    };
  }

  private serverContext(headers: HeaderList, peer: RequestRef | undefined): DecidedContext {
    const own = this.fromHeaders(headers, 'server');
    const client = peer ? this.contexts.get(keyOf(peer)) : undefined;
    if (!client) return own;
    this.stats.linkedByConnection++;
    own.traceId = client.traceId;
    own.parentSpanId = client.spanId;
    own.traceState = client.traceState;
    own.sampled = client.sampled;
    own.flags = (client.flags & 0xff) | SPAN_FLAGS_HAS_IS_REMOTE | SPAN_FLAGS_IS_REMOTE;
    return own;
  }

  private index(spanId: string, k: number): void {
    if (this.incoming.size >= this.maxContexts) this.incoming.delete(this.incoming.keys().next().value!);
    this.incoming.set(spanId, k);
  }

  /** A new span in the parent's trace, under it. */
  private childOf(parent: DecidedContext, how: Pick<InProcessParent, 'inferred'>): DecidedContext {
    this.stats[how.inferred ? 'linkedInProcessInferred' : 'linkedInProcess']++;
    return {
      traceId: parent.traceId, spanId: this.spans.newSpanId(), parentSpanId: parent.spanId, traceState: parent.traceState,
      flags: (parent.flags & 0xff) | SPAN_FLAGS_HAS_IS_REMOTE, sampled: parent.sampled, propagated: parent.propagated,
      inferred: how.inferred || parent.inferred, incomingSpanId: '',
    };
  }

  private join(j: TraceJoin): void {
    if (this.joins.size >= MAX_JOINS) this.joins.delete(this.joins.keys().next().value!);
    this.joins.set(j.sdkTraceId, j);
    this.stats.traceJoins++;
    this.onJoin(j);
  }

  private hold(k: number, decided: DecidedContext): void {
    if (this.contexts.size >= this.maxContexts) this.contexts.delete(this.contexts.keys().next().value!);
    this.contexts.set(k, decided);
  }
}
