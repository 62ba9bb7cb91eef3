// Fixes span parentage that only becomes visible once both ends of a call on this host are seen,
// within one batch of spans (one drainSpans()):
//
// 1. Forwarded traceparent: a proxy without tracing (nginx) forwards the traceparent it received.
//    Its CLIENT span then took the caller's span id from the header, duplicating the caller's span.
//    When the same process has a SERVER span whose parent is that id and whose time contains the
//    client call, the client span gets a new id and that server span as parent.
// 2. Same-host connections: a SERVER span whose connection is the reverse of a CLIENT span's
//    (local ↔ remote) and whose time lies within it is that client call's child, with or without
//    headers (Beyla does the same through the connection 5-tuple).
import type { Span } from '../collector/pdata/model.js';
import type { ExchangeOrigin } from './exchange-facts.js';
import { SPAN_FLAGS_HAS_IS_REMOTE, SPAN_FLAGS_IS_REMOTE } from './spans.js';

export interface PendingSpan {
  span: Span;
  origin: ExchangeOrigin;
  /** The span's ids came from a valid traceparent in the request. */
  propagated: boolean;
}

export interface LinkResult {
  /** Client spans re-identified because their traceparent was forwarded, not created, by the process. */
  forwarded: number;
  /** Server spans re-parented to a client span seen on the other end of their connection. */
  linked: number;
}

/** Capture timestamps of the two ends of one call differ by the time in the network stack. */
const SLACK_NS = 1_000_000n;

// IPv4-mapped IPv6 addresses (dual-stack sockets) name the same endpoint as the IPv4 address.
const endpoint = (address: string, port: number) => `${address.startsWith('::ffff:') ? address.slice(7) : address}|${port}`;

const contains = (outer: Span, inner: Span) =>
  outer.startTimeUnixNano <= inner.startTimeUnixNano + SLACK_NS && outer.endTimeUnixNano + SLACK_NS >= inner.endTimeUnixNano;

const connectionOf = (o: ExchangeOrigin) => `${endpoint(o.localAddress, o.localPort)}>${endpoint(o.remoteAddress, o.remotePort)}`;
const peerConnectionOf = (o: ExchangeOrigin) => `${endpoint(o.remoteAddress, o.remotePort)}>${endpoint(o.localAddress, o.localPort)}`;

/** The candidate containing `inner` that started last (keep-alive connections carry many calls). */
function innermost(candidates: PendingSpan[] | undefined, inner: PendingSpan, exclude?: (c: PendingSpan) => boolean): PendingSpan | undefined {
  let best: PendingSpan | undefined;
  for (const c of candidates ?? []) {
    if (c === inner || !contains(c.span, inner.span) || exclude?.(c)) continue;
    if (!best || c.span.startTimeUnixNano > best.span.startTimeUnixNano) best = c;
  }
  return best;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function linkSpans(batch: PendingSpan[], newSpanId: () => string): LinkResult {
  const result: LinkResult = { forwarded: 0, linked: 0 };
  if (!batch.some((p) => p.origin.role === 'client')) return result; // nothing to link to
  const serversByPidParent = new Map<string, PendingSpan[]>();
  const clientsByConnection = new Map<string, PendingSpan[]>();
  for (const p of batch) {
    if (p.origin.role === 'server') {
      if (p.propagated) push(serversByPidParent, `${p.origin.pid}|${p.span.parentSpanId}`, p);
    } else {
      push(clientsByConnection, connectionOf(p.origin), p);
    }
  }

  for (const p of batch) {
    if (p.origin.role !== 'client' || !p.propagated) continue;
    // A process calling itself is not forwarding: skip the server end of this very connection.
    const own = peerConnectionOf(p.origin);
    const server = innermost(serversByPidParent.get(`${p.origin.pid}|${p.span.spanId}`), p, (c) => connectionOf(c.origin) === own);
    if (!server) continue;
    p.span.spanId = newSpanId();
    p.span.parentSpanId = server.span.spanId;
    p.span.flags = (p.span.flags & 0xff) | SPAN_FLAGS_HAS_IS_REMOTE;
    result.forwarded++;
  }

  for (const p of batch) {
    if (p.origin.role !== 'server') continue;
    const client = innermost(clientsByConnection.get(peerConnectionOf(p.origin)), p);
    if (!client) continue;
    if (p.span.traceId === client.span.traceId && p.span.parentSpanId === client.span.spanId) continue;
    p.span.traceId = client.span.traceId;
    p.span.parentSpanId = client.span.spanId;
    if (!p.propagated) p.span.traceState = client.span.traceState;
    p.span.flags = (client.span.flags & 0xff) | SPAN_FLAGS_HAS_IS_REMOTE | SPAN_FLAGS_IS_REMOTE;
    result.linked++;
  }
  return result;
}
