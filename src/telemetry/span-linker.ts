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
import type { ExchangeOrigin } from '../protocols/exchange.js';
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
const SLACK_NS = 1_000_000;

// IPv4-mapped IPv6 addresses (dual-stack sockets) name the same endpoint as the IPv4 address.
const endpoint = (address: string, port: number) => `${address.startsWith('::ffff:') ? address.slice(7) : address}|${port}`;

const connectionOf = (o: ExchangeOrigin) => `${endpoint(o.localAddress, o.localPort)}>${endpoint(o.remoteAddress, o.remotePort)}`;
const peerConnectionOf = (o: ExchangeOrigin) => `${endpoint(o.remoteAddress, o.remotePort)}>${endpoint(o.localAddress, o.localPort)}`;

/**
 * Spans of one key (a connection, or a pid and parent id) sorted by start time, with the running
 * maximum of their end times: innermost() finds its answer by binary search plus a short backward
 * scan, so a batch costs O(n log n), not O(n²) (a keep-alive connection carries thousands of calls
 * per flush at high request rates). Times are compared as float64 nanoseconds (256 ns resolution
 * for today's dates, far below SLACK_NS), which is several times faster than bigint arithmetic.
 */
class Candidates {
  private starts: Float64Array | undefined;
  private ends: Float64Array | undefined;
  private maxEnds: Float64Array | undefined;
  private spans: PendingSpan[];

  constructor(first: PendingSpan) {
    this.spans = [first];
  }

  push(p: PendingSpan): void {
    this.spans.push(p);
  }

  private index(): void {
    const n = this.spans.length;
    let starts = new Float64Array(n);
    let sorted = true;
    for (let i = 0; i < n; i++) {
      starts[i] = Number(this.spans[i]!.span.startTimeUnixNano);
      if (i > 0 && starts[i]! < starts[i - 1]!) sorted = false;
    }
    // Calls on one keep-alive connection complete in the order they started: usually sorted already.
    if (!sorted) {
      const unsorted = starts;
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => unsorted[a]! - unsorted[b]!);
      this.spans = order.map((i) => this.spans[i]!);
      starts = Float64Array.from(order, (i) => unsorted[i]!);
    }
    const ends = new Float64Array(n);
    const maxEnds = new Float64Array(n);
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      ends[i] = Number(this.spans[i]!.span.endTimeUnixNano);
      max = Math.max(max, ends[i]!);
      maxEnds[i] = max;
    }
    this.starts = starts;
    this.ends = ends;
    this.maxEnds = maxEnds;
  }

  /** The candidate containing `inner` (within SLACK_NS) that started last (keep-alive connections carry many calls). */
  innermost(inner: PendingSpan, exclude?: (c: PendingSpan) => boolean): PendingSpan | undefined {
    if (!this.starts) this.index();
    const starts = this.starts!;
    const ends = this.ends!;
    const maxEnds = this.maxEnds!;
    // Candidates starting after inner.start + SLACK cannot contain it: find the first of them.
    const latestStart = Number(inner.span.startTimeUnixNano) + SLACK_NS;
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= latestStart) lo = mid + 1;
      else hi = mid;
    }
    // Walk back (latest start first) while some earlier candidate still ends late enough.
    const earliestEnd = Number(inner.span.endTimeUnixNano) - SLACK_NS;
    for (let i = lo - 1; i >= 0 && maxEnds[i]! >= earliestEnd; i--) {
      const c = this.spans[i]!;
      if (c === inner || ends[i]! < earliestEnd || exclude?.(c)) continue;
      return c;
    }
    return undefined;
  }
}

function push<K>(map: Map<K, Candidates>, key: K, value: PendingSpan): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, new Candidates(value));
}

/** Connection keys per origin: the capture layer hands out one origin object per connection, so most spans of a batch share a few. */
class ConnectionKeys {
  private readonly keys = new Map<ExchangeOrigin, { own: string; peer: string }>();

  private of(o: ExchangeOrigin): { own: string; peer: string } {
    let k = this.keys.get(o);
    if (!k) {
      k = { own: connectionOf(o), peer: peerConnectionOf(o) };
      this.keys.set(o, k);
    }
    return k;
  }

  own(o: ExchangeOrigin): string { return this.of(o).own; }
  peer(o: ExchangeOrigin): string { return this.of(o).peer; }
}

export function linkSpans(batch: PendingSpan[], newSpanId: () => string): LinkResult {
  const result: LinkResult = { forwarded: 0, linked: 0 };
  const keys = new ConnectionKeys();
  if (!batch.some((p) => p.origin.role === 'client')) return result; // nothing to link to
  const serversByPidParent = new Map<string, Candidates>();
  const clientsByConnection = new Map<string, Candidates>();
  for (const p of batch) {
    if (p.origin.role === 'server') {
      if (p.propagated) push(serversByPidParent, `${p.origin.pid}|${p.span.parentSpanId}`, p);
    } else {
      push(clientsByConnection, keys.own(p.origin), p);
    }
  }

  for (const p of batch) {
    if (p.origin.role !== 'client' || !p.propagated) continue;
    // A process calling itself is not forwarding: skip the server end of this very connection.
    const own = keys.peer(p.origin);
    const server = serversByPidParent.get(`${p.origin.pid}|${p.span.spanId}`)?.innermost(p, (c) => keys.own(c.origin) === own);
    if (!server) continue;
    p.span.spanId = newSpanId();
    p.span.parentSpanId = server.span.spanId;
    p.span.flags = (p.span.flags & 0xff) | SPAN_FLAGS_HAS_IS_REMOTE;
    result.forwarded++;
  }

  for (const p of batch) {
    if (p.origin.role !== 'server') continue;
    const client = clientsByConnection.get(keys.peer(p.origin))?.innermost(p);
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
