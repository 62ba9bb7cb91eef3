// Kernel → user record layouts of bpf/sonde.h, decoded with DataView at fixed offsets.
// test/ebpf/layout.test.ts compiles these tables into static asserts against the C header, so a
// change on either side that the other does not follow fails the build.

/** C struct name → { field: [offset, size] } plus the struct's sizeof. */
export interface StructLayout {
  readonly name: string;
  readonly size: number;
  readonly fields: Readonly<Record<string, readonly [offset: number, size: number]>>;
}

export const CONN_EVENT: StructLayout = {
  name: 'sonde_conn_event',
  size: 144,
  fields: {
    kind: [0, 4], event: [4, 1], family: [5, 1], oldstate: [6, 1], newstate: [7, 1], ts_ns: [8, 8], cookie: [16, 8],
    sk: [24, 8], pid: [32, 4], tid: [36, 4], comm: [40, 16], lport: [56, 2], rport: [58, 2], flags: [60, 4],
    laddr: [64, 16], raddr: [80, 16], bytes_received: [96, 8], bytes_sent: [104, 8], ctx_sk: [112, 32],
  },
};

export const PAYLOAD_EVENT: StructLayout = {
  name: 'sonde_payload_event',
  size: 144,
  fields: {
    kind: [0, 4], direction: [4, 1], family: [5, 1], head_len: [6, 2], ts_ns: [8, 8], cookie: [16, 8], sk: [24, 8],
    pid: [32, 4], tid: [36, 4], seq: [40, 4], len: [44, 4], lport: [48, 2], rport: [50, 2], tail_len: [52, 2],
    flags: [54, 2], laddr: [56, 16], raddr: [72, 16], tail: [88, 16], extents: [104, 4], _pad: [108, 4], ctx_sk: [112, 32],
    head: [144, 0],
  },
};

export const CONFIG: StructLayout = {
  name: 'sonde_config',
  size: 56,
  fields: { capture_bytes: [0, 4], flags: [4, 4], cgroup_id: [8, 8], nports: [16, 4], ports: [20, 32], _pad: [52, 4] },
};

export const STATS: StructLayout = {
  name: 'sonde_stats',
  size: 64,
  fields: {
    payload_events: [0, 8], conn_events: [8, 8], dropped: [16, 8], filtered: [24, 8],
    h2_packets: [32, 8], h2_skipped: [40, 8], h2_desyncs: [48, 8], h2_anchors: [56, 8],
  },
};

export const H2_EXTENT: StructLayout = {
  name: 'sonde_h2_extent',
  size: 8,
  fields: { off: [0, 4], len: [4, 4] },
};

/** #defines and enum values of sonde.h that the agent relies on. */
export const CONSTANTS = {
  SONDE_MAX_CAPTURE: 1024,
  SONDE_TAIL_BYTES: 16,
  SONDE_MAX_PORTS: 16,
  SONDE_CTX_SOCKS: 4,
  SONDE_REC_CONN: 1,
  SONDE_REC_PAYLOAD: 2,
  SONDE_CONN_CONNECT: 1,
  SONDE_CONN_STATE: 2,
  SONDE_F_PID_KNOWN: 1,
  SONDE_F_H2_FRAMED: 2,
  SONDE_DIR_INGRESS: 0,
  SONDE_DIR_EGRESS: 1,
  SONDE_CFG_MESSAGE_START_ONLY: 1,
  SONDE_CFG_NO_PAYLOAD: 2,
  SONDE_CFG_HTTP2: 4,
  SONDE_H2_MAX_RECORD: 8192,
  SONDE_H2_MAX_EXTENTS: 32,
  SONDE_H2_MAX_FRAMES: 128,
  SONDE_H2_MIN_SKIP: 32,
  SONDE_H2_DATA_PREFIX: 5,
  SONDE_H2_PREFACE_PACKETS: 4,
  SONDE_H2_MARKS_MAX: 4096,
  SONDE_H2_MARKS_MADE: 0,
  SONDE_H2_MARKS_USED: 1,
  SONDE_H2_SOCKS: 2,
} as const;

export const LAYOUTS = [CONN_EVENT, PAYLOAD_EVENT, CONFIG, STATS, H2_EXTENT] as const;

/** Linux TCP states (include/net/tcp_states.h). */
export const TCP_STATES = [
  'UNKNOWN', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT',
  'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV',
] as const;
export type TcpState = (typeof TCP_STATES)[number];

export interface ConnectionEvent {
  kind: 'connection';
  type: 'connect' | 'state';
  tsNs: bigint;
  /** Socket cookie; 0n when the kernel had not made one yet (join on `sk`). */
  cookie: bigint;
  /** Kernel socket address: stable while the socket lives, reused after. */
  sk: bigint;
  /** The task that made the event, when known (connect, and the move to SYN_SENT). */
  pid?: number;
  tid?: number;
  comm?: string;
  family: 4 | 6;
  oldState: TcpState;
  newState: TcpState;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
  /** Payload bytes received / sent so far (kernel counters; sent excludes retransmits). */
  bytesReceived: bigint;
  bytesSent: bigint;
  /** connect: the TCP sockets (kernel addresses) the connecting thread read from last, newest first. */
  contextSockets?: bigint[];
}

export interface PayloadEvent {
  kind: 'payload';
  direction: 'ingress' | 'egress';
  tsNs: bigint;
  cookie: bigint;
  sk: bigint;
  /** Sender pid/tid: known on egress from a task-owned socket, never on ingress. */
  pid?: number;
  tid?: number;
  /**
   * Egress packets that start an HTTP/1 request, sent by a known thread: the TCP sockets (kernel
   * addresses) that thread read from last, newest first. Absent when it read none.
   */
  contextSockets?: bigint[];
  /** TCP sequence number of the first payload byte. */
  seq: number;
  /** Real payload length on the wire. */
  length: number;
  /** The first captured bytes (<= the configured capture size). */
  head: Uint8Array;
  /** The last bytes of the payload when length > head.length (up to 16), else empty. */
  tail: Uint8Array;
  /**
   * HTTP/2 framing (CaptureOptions.http2): the kernel walked this connection's frames. The record
   * covers the stream bytes [seq, seq + length) (usually its packet; it may reach back over earlier
   * packets that held only skipped DATA), `head` holds the copied bytes of `extents` back to back,
   * every byte outside the extents was skipped on purpose, and `tail` is empty. StreamReassembler
   * turns it into CapturedSegments. Absent or false for ordinary records.
   */
  framed?: boolean;
  /** Framed records: the copied extents in stream order (offset relative to seq); otherwise absent. */
  extents?: PayloadExtent[];
  family: 4 | 6;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
}

export interface PayloadExtent {
  /** Stream position relative to the record's seq. */
  offset: number;
  /** Bytes copied; they follow the previous extent's in `head`. */
  length: number;
}

const hex4 = (b: Uint8Array, i: number) => ((b[i]! << 8) | b[i + 1]!).toString(16);

/** Formats 16 address bytes: ::ffff:a.b.c.d as a.b.c.d, IPv6 in RFC 5952 short form. */
export function formatAddress(b: Uint8Array): string {
  let v4mapped = b[10] === 0xff && b[11] === 0xff;
  for (let i = 0; i < 10 && v4mapped; i++) if (b[i] !== 0) v4mapped = false;
  if (v4mapped) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(hex4(b, i));
  // Longest run (>= 2) of zero words becomes "::".
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

const decoder = new TextDecoder();
function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return decoder.decode(end < 0 ? b : b.subarray(0, end));
}

// Field offsets resolved once: the decoders run per record on the hot path.
const C = Object.fromEntries(Object.entries(CONN_EVENT.fields).map(([k, [o]]) => [k, o])) as Record<string, number>;
const P = Object.fromEntries(Object.entries(PAYLOAD_EVENT.fields).map(([k, [o]]) => [k, o])) as Record<string, number>;
const [cFlags, cEvent, cTs, cCookie, cSk, cPid, cTid, cComm, cFamily, cOld, cNew, cLaddr, cLport, cRaddr, cRport, cRx, cTx, cCtx] =
  ['flags', 'event', 'ts_ns', 'cookie', 'sk', 'pid', 'tid', 'comm', 'family', 'oldstate', 'newstate', 'laddr', 'lport', 'raddr', 'rport', 'bytes_received', 'bytes_sent', 'ctx_sk'].map((k) => C[k]!) as number[];
const [pFlags, pHeadLen, pTailLen, pDir, pTs, pCookie, pSk, pPid, pTid, pSeq, pLen, pHead, pTail, pFamily, pLaddr, pLport, pRaddr, pRport, pExtents, pCtx] =
  ['flags', 'head_len', 'tail_len', 'direction', 'ts_ns', 'cookie', 'sk', 'pid', 'tid', 'seq', 'len', 'head', 'tail', 'family', 'laddr', 'lport', 'raddr', 'rport', 'extents', 'ctx_sk'].map((k) => P[k]!) as number[];

/** The non-zero entries of a ctx_sk array at `at` (they are filled from the front), or undefined. */
function contextSocketsAt(view: DataView, at: number): bigint[] | undefined {
  // Most records carry none: test the first slot without allocating a BigInt.
  if (view.getUint32(at, true) === 0 && view.getUint32(at + 4, true) === 0) return undefined;
  const out: bigint[] = [];
  for (let i = 0; i < CONSTANTS.SONDE_CTX_SOCKS; i++) {
    const sk = view.getBigUint64(at + i * 8, true);
    if (sk === 0n) break;
    out.push(sk);
  }
  return out;
}

/** IPv4 strings by address: a host talks to few addresses, and formatting dominated decode time. */
const v4Cache = new Map<number, string>();

/** formatAddress for 16 bytes at `off` of `buf`, with a cache for v4-mapped addresses. */
function addressAt(buf: Uint8Array, view: DataView, off: number): string {
  if (view.getUint32(off, true) === 0 && view.getUint32(off + 4, true) === 0 && view.getUint32(off + 8, true) === 0xffff0000) {
    const key = view.getUint32(off + 12, true);
    let s = v4Cache.get(key);
    if (s === undefined) {
      s = `${buf[off + 12]}.${buf[off + 13]}.${buf[off + 14]}.${buf[off + 15]}`;
      if (v4Cache.size > 4096) v4Cache.clear();
      v4Cache.set(key, s);
    }
    return s;
  }
  return formatAddress(buf.subarray(off, off + 16));
}

/** Decodes a SONDE_REC_CONN record at `off` of `buf`. */
export function decodeConnectionEvent(buf: Uint8Array, view: DataView, off: number): ConnectionEvent {
  const pidKnown = (view.getUint32(off + cFlags!, true) & CONSTANTS.SONDE_F_PID_KNOWN) !== 0;
  return {
    kind: 'connection',
    type: view.getUint8(off + cEvent!) === CONSTANTS.SONDE_CONN_CONNECT ? 'connect' : 'state',
    tsNs: view.getBigUint64(off + cTs!, true),
    cookie: view.getBigUint64(off + cCookie!, true),
    sk: view.getBigUint64(off + cSk!, true),
    pid: pidKnown ? view.getUint32(off + cPid!, true) : undefined,
    tid: pidKnown ? view.getUint32(off + cTid!, true) : undefined,
    comm: pidKnown ? cString(buf.subarray(off + cComm!, off + cComm! + 16)) : undefined,
    family: view.getUint8(off + cFamily!) === 4 ? 4 : 6,
    oldState: TCP_STATES[view.getUint8(off + cOld!)] ?? 'UNKNOWN',
    newState: TCP_STATES[view.getUint8(off + cNew!)] ?? 'UNKNOWN',
    localAddr: addressAt(buf, view, off + cLaddr!),
    localPort: view.getUint16(off + cLport!, true),
    remoteAddr: addressAt(buf, view, off + cRaddr!),
    remotePort: view.getUint16(off + cRport!, true),
    bytesReceived: view.getBigUint64(off + cRx!, true),
    bytesSent: view.getBigUint64(off + cTx!, true),
    contextSockets: contextSocketsAt(view, off + cCtx!),
  };
}

/**
 * The extent table of a framed record (at `at`, ending before `end`). A table that does not fit, or
 * whose extents overlap, leave the record or do not add up to the copied bytes, is treated as
 * empty: the whole range becomes a hole rather than misplaced bytes.
 */
function decodeExtents(view: DataView, at: number, end: number, count: number, copied: number, length: number): PayloadExtent[] {
  const extents: PayloadExtent[] = [];
  if (at + count * H2_EXTENT.size > end) return extents;
  let pos = 0, total = 0;
  for (let i = 0; i < count; i++) {
    const offset = view.getUint32(at + i * H2_EXTENT.size, true);
    const len = view.getUint32(at + i * H2_EXTENT.size + 4, true);
    if (offset < pos || offset + len > length) return [];
    extents.push({ offset, length: len });
    pos = offset + len;
    total += len;
  }
  return total === copied ? extents : [];
}

/** Decodes a SONDE_REC_PAYLOAD record of `recLen` bytes at `off`; head/tail are views into `buf`. */
export function decodePayloadEvent(buf: Uint8Array, view: DataView, off: number, recLen: number): PayloadEvent {
  const flags = view.getUint16(off + pFlags!, true);
  const pidKnown = (flags & CONSTANTS.SONDE_F_PID_KNOWN) !== 0;
  const framed = (flags & CONSTANTS.SONDE_F_H2_FRAMED) !== 0;
  const headLen = Math.min(view.getUint16(off + pHeadLen!, true), recLen - PAYLOAD_EVENT.size);
  const tailLen = Math.min(view.getUint16(off + pTailLen!, true), CONSTANTS.SONDE_TAIL_BYTES);
  return {
    kind: 'payload',
    direction: view.getUint8(off + pDir!) === CONSTANTS.SONDE_DIR_EGRESS ? 'egress' : 'ingress',
    tsNs: view.getBigUint64(off + pTs!, true),
    cookie: view.getBigUint64(off + pCookie!, true),
    sk: view.getBigUint64(off + pSk!, true),
    pid: pidKnown ? view.getUint32(off + pPid!, true) : undefined,
    tid: pidKnown ? view.getUint32(off + pTid!, true) : undefined,
    contextSockets: pidKnown ? contextSocketsAt(view, off + pCtx!) : undefined,
    seq: view.getUint32(off + pSeq!, true),
    length: view.getUint32(off + pLen!, true),
    head: buf.subarray(off + pHead!, off + pHead! + headLen),
    tail: buf.subarray(off + pTail!, off + pTail! + (framed ? 0 : tailLen)),
    framed,
    extents: framed ? decodeExtents(view, off + pHead! + headLen, off + recLen, view.getUint32(off + pExtents!, true), headLen, view.getUint32(off + pLen!, true)) : undefined,
    family: view.getUint8(off + pFamily!) === 4 ? 4 : 6,
    localAddr: addressAt(buf, view, off + pLaddr!),
    localPort: view.getUint16(off + pLport!, true),
    remoteAddr: addressAt(buf, view, off + pRaddr!),
    remotePort: view.getUint16(off + pRport!, true),
  };
}

/** Either record, as delivered in ring order by CaptureProbes.onEvents. */
export type CaptureEvent = ConnectionEvent | PayloadEvent;

export interface ProbeConfig {
  /** Head bytes captured per payload packet, 1..1024 (default 256). */
  captureBytes: number;
  /** Only packets whose local or remote port is listed; empty = all (at most 16). */
  ports: readonly number[];
  /** Only sockets created in this cgroup v2 (by id); 0n = all. */
  cgroupId: bigint;
  /** Only payloads that start an HTTP/1 message or the HTTP/2 preface. */
  messageStartOnly: boolean;
  /** Payload capture on (false = connection events only). */
  payload: boolean;
  /** Walk the frames of HTTP/2 connections (copy headers, skip DATA beyond the gRPC prefix). */
  http2: boolean;
}

/** Encodes struct sonde_config for .rodata. */
export function encodeConfig(c: ProbeConfig): Uint8Array {
  const buf = new Uint8Array(CONFIG.size);
  const v = new DataView(buf.buffer);
  const f = CONFIG.fields;
  v.setUint32(f.capture_bytes![0], c.captureBytes, true);
  v.setUint32(f.flags![0], (c.messageStartOnly ? CONSTANTS.SONDE_CFG_MESSAGE_START_ONLY : 0) |
    (c.payload ? 0 : CONSTANTS.SONDE_CFG_NO_PAYLOAD) | (c.http2 ? CONSTANTS.SONDE_CFG_HTTP2 : 0), true);
  v.setBigUint64(f.cgroup_id![0], c.cgroupId, true);
  v.setUint32(f.nports![0], c.ports.length, true);
  c.ports.forEach((p, i) => v.setUint16(f.ports![0] + 2 * i, p, true));
  return buf;
}
