// From capture records to Exchanges: applies the probes' records (in ring order) to the
// ConnectionTable, reassembles each connection's two byte streams, detects the protocol of each
// connection (HTTP/1.x start line, HTTP/2 preface or frames; anything else is given up on after a
// bounded number of bytes), feeds the matching pure parser and returns every completed Exchange
// with where it was seen (pid, role, addresses). HTTP/1.1 `Upgrade: h2c` + `101` hands the
// connection over to the HTTP/2 parser. Memory is bounded: at most maxConnections parsers, idle
// ones are closed, and a connection that is not HTTP (or whose process is filtered out) keeps only
// a small marker until it closes.
//
// Requests are also told as they start (takeStarts), before their exchanges complete, with what
// links them on this host: a server request's peer (the client request on the other end of the
// same connection, when both ends are local) and a client request's in-process parent (the
// request its process was serving when it sent it: found from the sockets the sending thread had
// read last, which the probes attach to request-starting packets and to connect()).
import type { CaptureEvent, ConnectionEvent, PayloadEvent } from '../ebpf/index.js';
import type { Exchange, ExchangeOrigin, InProcessParent, RequestStart, StartedRequest } from '../protocols/exchange.js';
import type { CapturedSegment, ConnectionRole, Direction } from '../protocols/segment.js';
import { DEFAULT_HEADERS_OF_INTEREST, Http1Connection, detectHttp1 } from '../protocols/http1/index.js';
import { Http2Connection, detectHttp2Preface, looksLikeHttp2Frames } from '../protocols/http2/index.js';
import { ConnectionTable, type Connection, type ThreadContext } from './connection-table.js';
import { ProcessRuntimes } from './process-runtime.js';
import { ConnectionStreams } from './stream-reassembler.js';

export interface AssembledExchange {
  exchange: Exchange;
  origin: ExchangeOrigin;
}

export interface ExchangeAssemblerOptions {
  /** The connection table to apply records to. Default: a new ConnectionTable with its defaults. */
  table?: ConnectionTable;
  /** Connections with a parser at once; beyond it the least recently active (to within 1 s) is closed (counted). Default 16384. */
  maxConnections?: number;
  /** Payload bytes (both directions) a connection may carry without a recognised protocol before it is given up on. Default 16384. */
  detectionBytes?: number;
  /** A connection without payload for this long has its parser closed. Default 60 s. */
  idleTimeoutMs?: number;
  /**
   * Whether exchanges of this connection's process are wanted. Asked once the owning pid is known
   * (the answer is then final), and for each batch of exchanges while it is not (conn.pid
   * undefined). Default: every connection.
   */
  accept?: (conn: Connection) => boolean;
  /** Called when a connection is recognised as HTTP/2 without its preface (joined mid-stream, or h2c): the probes can then frame it in the kernel. */
  onHttp2?: (cookie: bigint) => void;
}

export interface ExchangeAssemblerStats {
  exchanges: { http1: number; http2: number; grpc: number };
  /** Connections given up on because their bytes were not HTTP/1.x or HTTP/2. */
  notHttp: number;
  /** Connections whose process `accept` refused. */
  filtered: number;
  /** Parsers closed because maxConnections were tracked. */
  evicted: number;
  /** Parsers closed because their connection idled. */
  idleClosed: number;
  /** HTTP/1.1 connections handed over to HTTP/2 (h2c upgrade). */
  h2cUpgrades: number;
  /** HTTP/1.1 connections upgraded to another protocol (WebSocket, …): parsing stops after the 101. */
  otherUpgrades: number;
  /** HTTP/1.x messages whose grammar was broken, HTTP/2 protocol errors, HPACK errors (summed when a parser closes). */
  parseErrors: { http1: number; http2: number };
  /** Exchanges of HTTP/2 streams whose header blocks were lost or undecodable (HPACK state unknown). */
  undecodableStreams: number;
  /** Payload records for connections already closed (late packets, ignored). */
  lateRecords: number;
  /** Client requests and how their in-process parent was found (or why not). */
  parents: {
    /** Sent by a thread serving one request at a time: exact. */
    exact: number;
    /** Sent by a process's main thread (event loops): inferred. */
    inferred: number;
    /** No thread context: sent from softirq, or by a thread that read no TCP socket. */
    noContext: number;
    /** The sending thread's recent reads lead to no request being served (a process that only calls out, or reads from untracked sockets). */
    notServing: number;
  };
}

type Phase = 'detecting' | 'http1' | 'http2' | 'ignored';

interface Tracked {
  /** RequestRef.connectionId: unique for the assembler's lifetime. */
  id: number;
  conn: Connection;
  phase: Phase;
  /** The verdict of `accept` once the pid is known. */
  accepted: boolean | undefined;
  http1?: Http1Connection;
  http2?: Http2Connection;
  /** h2c: stream offsets at which HTTP/2 starts in each direction (bytes before belong to HTTP/1.1). */
  h2Base?: Partial<Record<Direction, number>>;
  undetectedBytes: number;
  lastSeenNs: bigint;
  /** When the connection last moved to the most-recently-active end of the eviction order. */
  reorderedNs: bigint;
  /** The last origin handed out for this connection (reused while unchanged). */
  origin?: ExchangeOrigin;
  /** 4-tuple of the first payload record, for connections the table learnt only partly. */
  fallback: Pick<PayloadEvent, 'localAddr' | 'localPort' | 'remoteAddr' | 'remotePort'>;
  /** The last request that started on this connection, and its in-process parent (client requests). */
  lastStart?: LastStart;
  /** Thread contexts of the latest request-starting sends, by capture timestamp (a few: a start is parsed right after its packet). */
  sends?: Array<ThreadContext & { tsNs: bigint }>;
  /** Client connections: this end's endpoints as `local>remote` (the key in `clientsByEndpoints`). */
  endpointsKey?: string;
  /** Server connections: the client end's key in `clientsByEndpoints` (`remote>local` of this end). */
  peerKey?: string;
}

/** The latest request that started on a connection. */
interface LastStart {
  sequence: number;
  /** Client requests: the request their process was serving. */
  parent?: InProcessParent;
  /** Server requests: a call was linked to it as its parent. */
  called: boolean;
  /** Its exchange was emitted. */
  ended: boolean;
}

/** Request-starting sends remembered per connection until their requests' heads are parsed. */
const SENDS_KEPT = 4;

// IPv4-mapped IPv6 addresses (dual-stack sockets) name the same endpoint as the IPv4 address.
const endpoint = (address: string, port: number) => `${address.startsWith('::ffff:') ? address.slice(7) : address}|${port}`;
/** A connection seen from one end: `from>to`; the other end sees the same connection as `to>from`. */
const endpointsKey = (fromAddress: string, fromPort: number, toAddress: string, toPort: number) => `${endpoint(fromAddress, fromPort)}>${endpoint(toAddress, toPort)}`;

/** Eviction order is refreshed at most this often per connection: "least recently active" to within 1 s. */
const REORDER_AFTER_NS = 1_000_000_000n;

const UPGRADE_HEADERS = [...DEFAULT_HEADERS_OF_INTEREST, 'upgrade'];

function headerOf(headers: Array<[string, string]>, name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

function isH2cUpgrade(x: Exchange): boolean {
  if (x.response?.status !== 101) return false;
  const proto = headerOf(x.response.headers, 'upgrade') ?? headerOf(x.request.headers, 'upgrade');
  return proto?.trim().toLowerCase() === 'h2c';
}

export class ExchangeAssembler {
  readonly table: ConnectionTable;
  private readonly streams = new ConnectionStreams();
  private readonly tracked = new Map<bigint, Tracked>();
  private readonly maxConnections: number;
  private readonly detectionBytes: number;
  private readonly idleTimeoutNs: bigint;
  private readonly accept: (conn: Connection) => boolean;
  private readonly onHttp2: (cookie: bigint) => void;
  private out: AssembledExchange[] = [];
  private starts: StartedRequest[] = [];
  /** Client connections by their `local>remote` endpoints: a server request finds its peer by the reverse. */
  private readonly clientsByEndpoints = new Map<string, Tracked>();
  private nextConnectionId = 1;
  private readonly runtimes = new ProcessRuntimes();
  readonly stats: ExchangeAssemblerStats = {
    exchanges: { http1: 0, http2: 0, grpc: 0 }, notHttp: 0, filtered: 0, evicted: 0, idleClosed: 0, h2cUpgrades: 0, otherUpgrades: 0,
    parseErrors: { http1: 0, http2: 0 }, undecodableStreams: 0, lateRecords: 0,
    parents: { exact: 0, inferred: 0, noContext: 0, notServing: 0 },
  };

  constructor(opts: ExchangeAssemblerOptions = {}) {
    this.table = opts.table ?? new ConnectionTable();
    this.maxConnections = opts.maxConnections ?? 16384;
    this.detectionBytes = opts.detectionBytes ?? 16384;
    this.idleTimeoutNs = BigInt(opts.idleTimeoutMs ?? 60_000) * 1_000_000n;
    this.accept = opts.accept ?? (() => true);
    this.onHttp2 = opts.onHttp2 ?? (() => {});
  }

  /** Connections with state held here (parsers, or markers of ignored connections). */
  get connectionsTracked(): number {
    return this.tracked.size;
  }

  /** Applies records in ring order (CaptureProbes.onEvents); returns the exchanges they completed. */
  apply(events: readonly CaptureEvent[]): AssembledExchange[] {
    for (const e of events) {
      if (e.kind === 'payload') this.onPayload(e);
      else this.onConnection(e);
    }
    return this.take();
  }

  /**
   * Closes parsers of connections idle for idleTimeoutMs (as of `nowNs`, kernel monotonic) and
   * expires the table's old entries; returns exchanges that ended because of it.
   */
  sweep(nowNs: bigint = process.hrtime.bigint()): AssembledExchange[] {
    for (const t of [...this.tracked.values()]) {
      if (nowNs - t.lastSeenNs > this.idleTimeoutNs) {
        if (t.phase !== 'ignored') this.stats.idleClosed++;
        this.finish(t, nowNs);
      }
    }
    this.table.sweep();
    return this.take();
  }

  /** Closes every parser (agent shutdown); returns what they still held. */
  closeAll(nowNs: bigint = process.hrtime.bigint()): AssembledExchange[] {
    for (const t of [...this.tracked.values()]) this.finish(t, nowNs);
    return this.take();
  }

  private take(): AssembledExchange[] {
    const done = this.out;
    this.out = [];
    return done;
  }

  /**
   * The requests that started since the last call, in capture order. Call it after apply(),
   * sweep() or closeAll() and hand these on before the exchanges those returned: an exchange's
   * start always comes first.
   */
  takeStarts(): StartedRequest[] {
    const s = this.starts;
    this.starts = [];
    return s;
  }

  private onConnection(e: ConnectionEvent): void {
    // A state change may lack the cookie (joined on the socket address): find the connection first.
    const cookie = e.newState === 'CLOSE' ? (e.cookie || this.table.get(0n, e.sk)?.cookie) : undefined;
    this.table.applyConnectionEvent(e);
    const t = cookie ? this.tracked.get(cookie) : undefined;
    if (t) this.finish(t, e.tsNs);
  }

  private onPayload(e: PayloadEvent): void {
    const conn = this.table.applyPayloadEvent(e);
    if (!e.cookie) return;
    let t = this.tracked.get(e.cookie);
    if (!t) {
      if (conn.closeTsNs !== undefined) { this.stats.lateRecords++; return; }
      t = this.track(conn, e);
    } else if (e.tsNs - t.reorderedNs > REORDER_AFTER_NS) {
      // Most recently active last: the map's first entry is the one to evict. Moving an entry on
      // every record costs a Map delete + insert each time; once per REORDER_AFTER_NS is enough.
      this.tracked.delete(e.cookie);
      this.tracked.set(e.cookie, t);
      t.reorderedNs = e.tsNs;
    }
    t.lastSeenNs = e.tsNs;
    if (t.phase === 'ignored') return;
    if (e.contextSockets && e.pid !== undefined) {
      const sends = (t.sends ??= []);
      if (sends.length >= SENDS_KEPT) sends.shift();
      sends.push({ tsNs: e.tsNs, sockets: e.contextSockets, pid: e.pid, tid: e.tid ?? 0 });
    }
    if (t.accepted === undefined && conn.pid !== undefined) {
      t.accepted = this.accept(conn);
      if (!t.accepted) return this.ignore(t, 'filtered');
    }
    for (const seg of this.streams.push(e)) this.feed(t, e.direction, seg);
  }

  private track(conn: Connection, e: PayloadEvent): Tracked {
    if (this.tracked.size >= this.maxConnections) {
      const oldest = this.tracked.values().next().value!;
      if (oldest.phase !== 'ignored') this.stats.evicted++;
      this.finish(oldest, e.tsNs);
    }
    const t: Tracked = {
      id: this.nextConnectionId++, conn, phase: 'detecting', accepted: undefined, undetectedBytes: 0, lastSeenNs: e.tsNs, reorderedNs: e.tsNs,
      fallback: { localAddr: e.localAddr, localPort: e.localPort, remoteAddr: e.remoteAddr, remotePort: e.remotePort },
    };
    this.tracked.set(conn.cookie, t);
    return t;
  }

  /** Stops parsing a connection for good; only a marker stays until it closes. */
  private ignore(t: Tracked, why: 'filtered' | 'notHttp' | 'otherUpgrades'): void {
    this.stats[why]++;
    t.phase = 'ignored';
    t.http1 = undefined;
    t.http2 = undefined;
    this.streams.close(t.conn.cookie);
  }

  /** A connection whose open the agent saw: offset 0 of each direction is its first byte. */
  private seenFromStart(t: Tracked): boolean {
    return t.conn.openTsNs !== undefined;
  }

  private feed(t: Tracked, dir: Direction, seg: CapturedSegment): void {
    if (t.phase === 'detecting' && this.detect(t, dir, seg)) return;
    if (t.phase === 'http1') {
      const h1 = t.http1!;
      const exchanges = h1.push(dir, seg);
      this.emit(t, exchanges);
      if (h1.state === 'upgraded' && t.phase === 'http1') this.upgradeToHttp2(t, exchanges, dir, seg);
      else if (h1.state === 'not-http') this.ignore(t, 'notHttp');
    } else if (t.phase === 'http2') {
      this.emit(t, t.http2!.push(dir, this.rebase(t, dir, seg)));
    }
  }

  /** Picks the parser for a connection; returns true when it already fed `seg` to one. */
  private detect(t: Tracked, dir: Direction, seg: CapturedSegment): boolean {
    const head = seg.head;
    const fromStart = this.seenFromStart(t);
    const atStart = fromStart && seg.offset === 0;
    const preface = detectHttp2Preface(head) === true;
    if (preface || ((atStart || !fromStart) && looksLikeHttp2Frames(head) && !detectHttp1(head))) {
      t.phase = 'http2';
      t.http2 = new Http2Connection({ role: t.conn.role, seenFromStart: atStart });
      // Joined mid-stream: this segment is offset 0 of what the HTTP/2 parser sees in this direction.
      if (!atStart) t.h2Base = { [dir]: seg.offset };
      if (!preface) this.onHttp2(t.conn.cookie);
      return false;
    }
    t.http1 ??= new Http1Connection({ role: t.conn.role, sawConnectionStart: fromStart, headersOfInterest: UPGRADE_HEADERS });
    if (detectHttp1(head) !== undefined) {
      t.phase = 'http1';
      return false;
    }
    // Neither: let the HTTP/1 parser look for a message start (mid-stream joins), within a bound.
    this.emit(t, t.http1.push(dir, seg));
    t.undetectedBytes += seg.length;
    if (t.http1.state === 'http') t.phase = 'http1';
    else if (t.http1.state === 'not-http' || t.undetectedBytes > this.detectionBytes) this.ignore(t, 'notHttp');
    return true;
  }

  /**
   * After `101 Switching Protocols` to h2c: the HTTP/1.1 request becomes HTTP/2 stream 1, and
   * HTTP/2 starts right after the 101's head in the server's direction (the HTTP/1 parser says
   * where) and at the next byte in the client's.
   */
  private upgradeToHttp2(t: Tracked, exchanges: Exchange[], dir: Direction, seg: CapturedSegment): void {
    const up = exchanges.find(isH2cUpgrade);
    const at = t.http1!.upgradedAt;
    if (!up || !at) {
      this.ignore(t, 'otherUpgrades'); // WebSocket, another protocol, or a 101 head we did not see whole
      return;
    }
    const role = t.http1!.role;
    const clientDir: Direction = at.direction === 'ingress' ? 'egress' : 'ingress';
    const clientNext = this.streams.get(t.conn.cookie, clientDir)?.nextOffset ?? 0;
    t.phase = 'http2';
    t.http1 = undefined;
    t.h2Base = { [at.direction]: at.offset, [clientDir]: clientNext };
    t.http2 = new Http2Connection({
      role,
      seenFromStart: true,
      upgradedRequest: { ...up.request, headers: up.request.headers.filter(([n]) => n !== 'upgrade') },
    });
    this.stats.h2cUpgrades++;
    this.onHttp2(t.conn.cookie);
    // The rest of this segment (the server's SETTINGS right after the 101) is already HTTP/2.
    if (dir === at.direction && at.offset < seg.offset + seg.length) this.emit(t, t.http2.push(dir, this.rebase(t, dir, seg)));
  }

  /** A segment with offsets relative to where HTTP/2 starts in that direction (h2c, mid-stream joins). */
  private rebase(t: Tracked, dir: Direction, seg: CapturedSegment): CapturedSegment {
    const base = t.h2Base?.[dir];
    if (base === undefined) {
      // First HTTP/2 bytes of a direction on a mid-stream join: they start the parser's view.
      if (t.h2Base) t.h2Base[dir] = seg.offset;
      return t.h2Base ? { ...seg, offset: 0 } : seg;
    }
    if (seg.offset >= base) return base === 0 ? seg : { ...seg, offset: seg.offset - base };
    // The segment straddles the start (h2c: the 101's head and SETTINGS in one packet): cut the head.
    const cut = base - seg.offset;
    if (cut >= seg.length) return { ...seg, offset: 0, length: 0, head: seg.head.subarray(0, 0), tail: seg.tail.subarray(0, 0) };
    const tailStart = seg.length - seg.tail.length;
    return {
      offset: 0, length: seg.length - cut, timestampNs: seg.timestampNs,
      head: seg.head.subarray(Math.min(cut, seg.head.length)),
      tail: cut > tailStart ? seg.tail.subarray(cut - tailStart) : seg.tail,
    };
  }

  /** Whether the connection's process is wanted: final once the pid is known, asked per batch until then. */
  private accepts(t: Tracked): boolean {
    const accepted = t.accepted ?? this.accept(t.conn);
    if (t.conn.pid !== undefined) t.accepted = accepted;
    return accepted;
  }

  /** Takes the requests the connection's parsers saw start (always before their exchanges are emitted). */
  private collectStarts(t: Tracked): void {
    const h1 = t.http1?.takeStarts();
    const h2 = t.http2?.takeStarts();
    if (h1?.length) this.addStarts(t, h1);
    if (h2?.length) this.addStarts(t, h2);
  }

  private addStarts(t: Tracked, starts: readonly RequestStart[]): void {
    const origin = this.accepts(t) ? this.origin(t) : undefined;
    for (const start of starts) {
      let parent: InProcessParent | undefined;
      if (origin?.role === 'client') parent = this.inProcessParent(t, start);
      t.lastStart = { sequence: start.sequence, parent, called: false, ended: false };
      if (!origin) continue;
      const assembled: StartedRequest = { start, origin };
      if (origin.role === 'client') {
        if (parent) assembled.parent = parent;
        this.registerClient(t, origin);
      } else {
        t.peerKey ??= endpointsKey(origin.remoteAddress, origin.remotePort, origin.localAddress, origin.localPort);
        const peer = this.clientsByEndpoints.get(t.peerKey);
        // HTTP/2 streams are numbered alike at both ends; an HTTP/1 server request answers the client's latest.
        if (peer?.lastStart) assembled.peer = { connectionId: peer.id, sequence: t.phase === 'http2' ? start.sequence : peer.lastStart.sequence };
      }
      this.starts.push(assembled);
    }
  }

  private registerClient(t: Tracked, origin: ExchangeOrigin): void {
    if (t.endpointsKey !== undefined) return;
    t.endpointsKey = endpointsKey(origin.localAddress, origin.localPort, origin.remoteAddress, origin.remotePort);
    this.clientsByEndpoints.set(t.endpointsKey, t);
  }

  /**
   * The request the process was serving when it sent this one: the first of the sending thread's
   * recent reads that is a server connection gives its latest request; a client connection (the
   * thread read a response of an earlier call) gives that call's parent. The first request of a
   * connection opened while the agent watched uses the connecting thread's reads instead: event
   * loops open the connection while serving, but may send on it only after other reads.
   */
  private inProcessParent(t: Tracked, start: RequestStart): InProcessParent | undefined {
    const connected = start.sequence === 1 ? t.conn.connectContext : undefined;
    const sent = t.sends?.find((s) => s.tsNs === start.startNs);
    if (!connected && !sent) {
      this.stats.parents.noContext++;
      return undefined;
    }
    // An HTTP/2 connection carries the calls of many threads at once, and a gRPC library may write
    // one thread's call from another: links of HTTP/2 calls are inferred.
    const shared = t.phase === 'http2';
    const parent = (connected && this.parentFrom(connected, shared)) ?? (sent && this.parentFrom(sent, shared));
    if (!parent) this.stats.parents.notServing++;
    else this.stats.parents[parent.inferred ? 'inferred' : 'exact']++;
    return parent;
  }

  /** The request a thread was serving, from what it had read (see inProcessParent). */
  private parentFrom(ctx: ThreadContext, shared: boolean): InProcessParent | undefined {
    // Exact only where a thread serves one request at a time: not an event loop's main thread, not Go.
    const runtime = this.runtimes.of(ctx.pid);
    const inferred = shared || ctx.tid === ctx.pid || runtime === 'go';
    if (inferred && runtime === 'python') {
      // An asyncio loop reads several requests in one turn and runs their handlers after, in the
      // order read: the call belongs to the oldest request read that is still served and has
      // made no call yet (newest first in the list, so the last match wins).
      let oldest: Tracked | undefined;
      for (const sk of ctx.sockets) {
        const read = this.trackedBySocket(sk);
        if (read?.lastStart && !read.lastStart.called && !read.lastStart.ended && this.origin(read)?.role === 'server') oldest = read;
      }
      if (oldest) {
        oldest.lastStart!.called = true;
        return { connectionId: oldest.id, sequence: oldest.lastStart!.sequence, inferred };
      }
    }
    for (const sk of ctx.sockets) {
      const read = this.trackedBySocket(sk);
      if (!read?.lastStart) continue;
      let parent: InProcessParent | undefined;
      if (this.origin(read)?.role === 'server') {
        parent = { connectionId: read.id, sequence: read.lastStart.sequence, inferred };
        read.lastStart.called = true;
      } else if (read.lastStart.parent) parent = { ...read.lastStart.parent, inferred: read.lastStart.parent.inferred || inferred };
      if (parent) return parent;
    }
    return undefined;
  }

  /** The tracked connection of a live kernel socket address (one a thread read from). */
  private trackedBySocket(sk: bigint): Tracked | undefined {
    const conn = this.table.get(0n, sk);
    return conn ? this.tracked.get(conn.cookie) : undefined;
  }

  private emit(t: Tracked, exchanges: Exchange[]): void {
    this.collectStarts(t);
    if (exchanges.length === 0) return;
    const last = t.lastStart;
    if (last && exchanges.some((x) => x.sequence === last.sequence)) last.ended = true;
    if (!this.accepts(t)) return;
    const origin = this.origin(t);
    for (const exchange of exchanges) {
      if (t.phase === 'http1' && isH2cUpgrade(exchange)) continue; // reported as HTTP/2 stream 1
      this.stats.exchanges[exchange.protocol]++;
      if (origin) this.out.push({ exchange, origin });
    }
  }

  /** The connection's origin; the same object while nothing in it changes (downstream memoises per origin). */
  private origin(t: Tracked): ExchangeOrigin | undefined {
    const c = t.conn;
    let role: ConnectionRole = c.role;
    if (role === 'unknown') role = t.http1?.role ?? (t.http2?.clientDirection === 'ingress' ? 'server' : t.http2?.clientDirection === 'egress' ? 'client' : 'unknown');
    if (role === 'unknown') return undefined;
    const f = t.fallback;
    const pid = c.pid ?? 0;
    const localAddress = c.localAddr || f.localAddr;
    const localPort = c.localPort || f.localPort;
    const remoteAddress = c.remoteAddr || f.remoteAddr;
    const remotePort = c.remotePort || f.remotePort;
    const family = c.family;
    const o = t.origin;
    if (o && o.role === role && o.pid === pid && o.localAddress === localAddress && o.localPort === localPort
      && o.remoteAddress === remoteAddress && o.remotePort === remotePort && o.family === family) return o;
    t.origin = { role, pid, connectionId: t.id, localAddress, localPort, remoteAddress, remotePort, family };
    return t.origin;
  }

  /** Flushes held segments, closes the parser (pending requests end as 'closed') and forgets the connection. */
  private finish(t: Tracked, tsNs: bigint): void {
    this.tracked.delete(t.conn.cookie);
    if (t.endpointsKey !== undefined && this.clientsByEndpoints.get(t.endpointsKey) === t) this.clientsByEndpoints.delete(t.endpointsKey);
    if (t.phase === 'ignored') return;
    const held = this.streams.close(t.conn.cookie);
    for (const dir of ['ingress', 'egress'] as const) for (const seg of held[dir]) this.feed(t, dir, seg);
    if (t.http1) {
      this.emit(t, t.http1.close());
      this.stats.parseErrors.http1 += t.http1.stats.malformed;
    }
    if (t.http2) {
      this.emit(t, t.http2.close(tsNs));
      const s = t.http2.stats;
      this.stats.parseErrors.http2 += s.protocolErrors + s.hpackErrors;
      this.stats.undecodableStreams += s.undecodableStreams;
    }
  }
}
