// Live TCP connections keyed by socket cookie, built from the probes' connection and payload
// events. The kernel knows the pid of a client (connect) and of a sender on task-owned egress; the
// cookie may not exist yet when a server socket is born, so events are also joined on the kernel
// socket address while the socket lives. Memory is bounded: closed entries are kept briefly, idle
// ones expire, and the table never holds more than maxEntries.
import type { CaptureEvent, ConnectionEvent, PayloadEvent, TcpState } from '../ebpf/index.js';
import type { ConnectionRole } from '../protocols/segment.js';
import { ProcessLookup } from './proc-lookup.js';

export type PidSource = 'connect' | 'egress' | 'listener';

export interface Connection {
  /** Socket cookie (0n until the kernel has made one). */
  cookie: bigint;
  /** Kernel socket address (valid while the socket lives). */
  sk: bigint;
  pid?: number;
  comm?: string;
  /** How the pid was learned: the connecting task, a task-owned send, or the listener's owner in /proc. */
  pidSource?: PidSource;
  role: ConnectionRole;
  family: 4 | 6;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  state: TcpState;
  /** Reached ESTABLISHED (false for refused/failed connects). */
  established: boolean;
  /** Kernel monotonic ns of connect/SYN (undefined for connections that predate the agent). */
  openTsNs?: bigint;
  closeTsNs?: bigint;
  lastSeenNs: bigint;
  /** Payload bytes received / sent: the kernel's counters at the last state change, or the captured payload lengths if larger (pre-existing connections). */
  bytesReceived: number;
  bytesSent: number;
  /** Client connections whose connect() the agent saw: the sockets the connecting thread had read from last (see PayloadEvent.contextSockets). */
  connectContext?: ThreadContext;
}

/** What a thread had read when it sent a request or opened a connection. */
export interface ThreadContext {
  /** Kernel socket addresses, most recently read first. */
  sockets: bigint[];
  pid: number;
  tid: number;
}

export type ConnectionChange = 'open' | 'close';

export interface ConnectionTableOptions {
  /** How long closed connections stay queryable (late payload events join them). Default 5 s. */
  closedRetentionMs?: number;
  /** Connections without any event for this long are dropped. Default 300 s. */
  idleTimeoutMs?: number;
  /** Hard bound on entries; the least recently seen go first. Default 65536. */
  maxEntries?: number;
  /** Fall back to /proc for server pids (listening port → pid). Default true. */
  procFallback?: boolean;
  /** Clock for expiry, kernel monotonic ns. Default process.hrtime.bigint (same clock as the probes). */
  nowNs?: () => bigint;
}

const MS = 1_000_000n;

export class ConnectionTable {
  private readonly byCookie = new Map<bigint, Connection>();
  /** Live sockets only: a closed socket's address may be reused by the next one. */
  private readonly bySk = new Map<bigint, Connection>();
  /** Entries whose cookie is still unknown (server sockets before their first packet). */
  private readonly pending = new Set<Connection>();
  private readonly listeners: ((conn: Connection, change: ConnectionChange) => void)[] = [];
  private readonly proc?: ProcessLookup;
  private readonly closedRetentionNs: bigint;
  private readonly idleTimeoutNs: bigint;
  private readonly maxEntries: number;
  private readonly nowNs: () => bigint;
  /** Entries evicted because the table was full (self-metric). */
  evicted = 0;

  constructor(opts: ConnectionTableOptions = {}) {
    this.closedRetentionNs = BigInt(opts.closedRetentionMs ?? 5000) * MS;
    this.idleTimeoutNs = BigInt(opts.idleTimeoutMs ?? 300_000) * MS;
    this.maxEntries = opts.maxEntries ?? 65536;
    this.nowNs = opts.nowNs ?? (() => process.hrtime.bigint());
    if (opts.procFallback ?? true) this.proc = new ProcessLookup();
  }

  /** Called when a connection is established (or first seen) and when it closes. */
  onChange(cb: (conn: Connection, change: ConnectionChange) => void): this {
    this.listeners.push(cb);
    return this;
  }

  get size(): number {
    return this.byCookie.size + this.pending.size;
  }

  /** The connection a payload or connection record belongs to. */
  get(cookie: bigint, sk = 0n): Connection | undefined {
    const c = cookie ? this.byCookie.get(cookie) : undefined;
    if (c) return c;
    const bySk = sk ? this.bySk.get(sk) : undefined;
    return bySk && (bySk.cookie === 0n || cookie === 0n || bySk.cookie === cookie) ? bySk : undefined;
  }

  /** Every connection currently held (live and recently closed). */
  connections(): Connection[] {
    return [...this.byCookie.values(), ...this.pending];
  }

  /** Applies records in ring order (CaptureProbes.onEvents). */
  apply(events: readonly CaptureEvent[]): void {
    for (const e of events) {
      if (e.kind === 'payload') this.applyPayloadEvent(e);
      else this.applyConnectionEvent(e);
    }
  }

  /** Applies one connection record; returns its connection (undefined: the close of one never seen). */
  applyConnectionEvent(e: ConnectionEvent): Connection | undefined {
    const starting = e.type === 'connect' || e.newState === 'SYN_SENT' || e.newState === 'SYN_RECV';
    let c = this.get(e.cookie, e.sk);
    if (c && starting && c.state === 'CLOSE') c = undefined; // socket address reused by a new connection
    if (!c) {
      if (!starting && e.newState === 'CLOSE') return undefined; // the end of something we never saw
      c = this.create(e.cookie, e.sk, e.family, e.tsNs);
      c.role = e.type === 'connect' || e.newState === 'SYN_SENT' ? 'client' : e.newState === 'SYN_RECV' ? 'server' : 'unknown';
      if (starting) c.openTsNs = e.tsNs;
    }
    this.adoptCookie(c, e.cookie);
    c.lastSeenNs = e.tsNs;
    if (e.pid !== undefined && c.pid === undefined) {
      c.pid = e.pid;
      c.comm = e.comm;
      c.pidSource = 'connect';
    }
    c.family = e.family;
    if (e.type === 'connect') {
      c.remoteAddr = e.remoteAddr;
      c.remotePort = e.remotePort;
      if (e.contextSockets && e.pid !== undefined) c.connectContext = { sockets: e.contextSockets, pid: e.pid, tid: e.tid ?? 0 };
      return c;
    }
    c.localAddr = e.localAddr;
    c.localPort = e.localPort || c.localPort;
    c.remoteAddr = e.remoteAddr;
    c.remotePort = e.remotePort;
    c.bytesReceived = Math.max(c.bytesReceived, Number(e.bytesReceived));
    c.bytesSent = Math.max(c.bytesSent, Number(e.bytesSent));
    const wasEstablished = c.established;
    c.state = e.newState;
    if (e.newState === 'ESTABLISHED') c.established = true;
    if (c.established && !wasEstablished) {
      this.resolvePid(c);
      this.emit(c, 'open');
    }
    if (e.newState === 'CLOSE') {
      c.closeTsNs = e.tsNs;
      if (c.sk) this.bySk.delete(c.sk);
      this.resolvePid(c);
      this.emit(c, 'close');
    }
    return c;
  }

  /** Applies one payload record; returns its connection (so callers need no second lookup). */
  applyPayloadEvent(e: PayloadEvent): Connection {
    let c = this.get(e.cookie, e.sk);
    if (!c) {
      // A connection that predates the agent (or whose start was lost): learn it from its packets.
      c = this.create(e.cookie, e.sk, e.family, e.tsNs);
      c.localAddr = e.localAddr;
      c.localPort = e.localPort;
      c.remoteAddr = e.remoteAddr;
      c.remotePort = e.remotePort;
      c.state = 'ESTABLISHED';
      c.established = true;
      this.resolvePid(c);
      this.emit(c, 'open');
    }
    this.adoptCookie(c, e.cookie);
    c.lastSeenNs = e.tsNs;
    if (e.direction === 'ingress') c.bytesReceived += e.length;
    else c.bytesSent += e.length;
    if (e.pid !== undefined && (c.pid === undefined || c.pidSource === 'listener')) {
      c.pid = e.pid;
      c.comm = this.proc?.comm(e.pid);
      c.pidSource = 'egress';
    }
    return c;
  }

  /** Drops closed entries past retention and idle ones; enforces maxEntries. Call periodically. */
  sweep(): void {
    const now = this.nowNs();
    for (const c of this.connections()) {
      const closedLongAgo = c.closeTsNs !== undefined && now - c.closeTsNs > this.closedRetentionNs;
      if (closedLongAgo || now - c.lastSeenNs > this.idleTimeoutNs) this.remove(c);
    }
  }

  private create(cookie: bigint, sk: bigint, family: 4 | 6, tsNs: bigint): Connection {
    if (this.size >= this.maxEntries) this.evictOne();
    const c: Connection = {
      cookie, sk, role: 'unknown', family, localAddr: '', localPort: 0, remoteAddr: '', remotePort: 0,
      state: 'UNKNOWN', established: false, lastSeenNs: tsNs, bytesReceived: 0, bytesSent: 0,
    };
    if (cookie) this.byCookie.set(cookie, c);
    else this.pending.add(c);
    if (sk) this.bySk.set(sk, c);
    return c;
  }

  private adoptCookie(c: Connection, cookie: bigint): void {
    if (c.cookie || !cookie) return;
    c.cookie = cookie;
    this.pending.delete(c);
    this.byCookie.set(cookie, c);
  }

  private remove(c: Connection): void {
    if (c.cookie) this.byCookie.delete(c.cookie);
    this.pending.delete(c);
    if (c.sk && this.bySk.get(c.sk) === c) this.bySk.delete(c.sk);
  }

  /** Evicts the oldest entry (Map/Set iteration order is insertion order: O(1)). */
  private evictOne(): void {
    const victim = this.pending.values().next().value ?? this.byCookie.values().next().value;
    if (!victim) return;
    this.remove(victim);
    this.evicted++;
  }

  private resolvePid(c: Connection): void {
    if (c.pid !== undefined || c.role === 'client' || !this.proc || !c.localPort) return;
    const pid = this.proc.pidForListeningPort(c.localPort);
    if (pid === undefined) return;
    c.pid = pid;
    c.comm = this.proc.comm(pid);
    c.pidSource = 'listener';
    if (c.role === 'unknown') c.role = 'server';
  }

  private emit(c: Connection, change: ConnectionChange): void {
    for (const cb of this.listeners) cb(c, change);
  }
}
