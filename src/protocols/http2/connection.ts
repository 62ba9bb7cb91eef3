// One HTTP/2 connection, both directions: frames → streams → Exchanges (protocol 'http2' or
// 'grpc'). Pure: the caller feeds captured segments in stream order per direction and gets the
// exchanges that completed. See docs/http2-parser.md for the rules on holes and mid-stream joins.

import type { ConnectionRole, Direction, CapturedSegment } from '../segment.js';
import { concatBytes, readUint32 } from '../bytes.js';
import { NO_STARTS, type Exchange, type HeaderList, type RequestStart } from '../exchange.js';
import { HpackDecoder } from '../hpack/decoder.js';
import {
  ERROR_CANCEL, FLAG_ACK, FLAG_END_HEADERS, FLAG_END_STREAM, FLAG_PADDED, FLAG_PRIORITY, FrameType,
  MAX_ALLOWED_FRAME_SIZE, SETTINGS_HEADER_TABLE_SIZE, SETTINGS_MAX_FRAME_SIZE, type FrameHeader,
} from './frames.js';
import { FrameReader, type FrameSink } from './frame-reader.js';
import {
  GRPC_STATUS_CANCELLED, GrpcMessageCounter, decodeGrpcMessage, isGrpcContentType, parseGrpcPath, parseGrpcStatus,
} from '../grpc/grpc.js';

export interface Http2ConnectionOptions {
  /** Role of the process that owns the socket: 'server' means ingress carries requests. Default 'unknown'
   *  (inferred from the preface or from :method / :status). */
  role?: ConnectionRole;
  /** Offset 0 of each direction is the connection's first byte. false: joined mid-stream, the
   *  dynamic tables are unknown and frame boundaries are hunted for. Default true. */
  seenFromStart?: boolean;
  /** h2c via HTTP/1.1 Upgrade: the caller hands the connection over after the 101; stream 1 is
   *  this (already complete) request and its response arrives as HTTP/2. */
  upgradedRequest?: { method: string; target: string; headers: HeaderList; bodySize: number; startNs: bigint; endNs: bigint };
  /** Streams tracked at once; the oldest is dropped (counted) beyond this. Default 1000. */
  maxStreams?: number;
  /** Largest header block (HEADERS + CONTINUATION) or control frame buffered. Default 65536. */
  maxHeaderBlockBytes?: number;
}

export interface Http2ConnectionStats {
  bytes: number;
  skippedBytes: number;
  frames: number;
  framingLost: number;
  framingRecovered: number;
  huntDiscardedBytes: number;
  headerBlocks: number;
  headerBlocksLost: number;
  hpackUnresolvedFields: number;
  hpackErrors: number;
  hpackDesyncs: number;
  hpackResyncs: number;
  hpackEvictions: number;
  streamsOpened: number;
  streamsEvicted: number;
  /** Response HEADERS for a stream whose request was never seen (mid-stream join). */
  orphanHeaders: number;
  /** Streams whose :method or :path could not be decoded: no Exchange emitted for them. */
  undecodableStreams: number;
  exchanges: number;
  /** Streams reported as gRPC without a decodable content-type (mid-stream join), see looksLikeUnlabelledGrpc. */
  grpcInferred: number;
  protocolErrors: number;
  overlapBytes: number;
}

/**
 * A stream whose content-type was among the fields HPACK could not resolve (joined mid-stream) is
 * gRPC when everything that is known says so: POST to `/Service/Method`, and request DATA that is
 * exactly a sequence of length-prefixed messages (5-byte prefix + declared length, ending on a
 * message boundary). Random bodies essentially never frame exactly.
 */
function looksLikeUnlabelledGrpc(s: Http2Stream): boolean {
  if (!s.requestHeadersIncomplete || s.method !== 'POST' || parseGrpcPath(s.target ?? '') === undefined) return false;
  if (s.requestHeaders.some(([n]) => n === 'content-type')) return false; // a known, non-gRPC content-type
  const m = s.requestMessages;
  return m.exact && m.messages > 0 && m.atBoundary && s.requestBody === m.messageBytes + 5 * m.messages;
}

/** Request headers we keep (lowercase). Credentials are never in this list. */
const REQUEST_HEADERS_OF_INTEREST = new Set([
  'user-agent', 'content-type', 'content-length', 'traceparent', 'tracestate', 'baggage', 'grpc-timeout', 'grpc-encoding',
]);
const RESPONSE_HEADERS_OF_INTEREST = new Set(['content-type', 'content-length', 'grpc-encoding']);

interface Http2Stream {
  id: number;
  method?: string;
  target?: string;
  requestHeaders: HeaderList;
  requestSeen: boolean;
  requestBody: number;
  requestEnded: boolean;
  startNs: bigint;
  requestEndNs: bigint;
  grpc: boolean;
  /** Some request header fields could not be decoded (HPACK desynchronised): content-type may be among them. */
  requestHeadersIncomplete?: boolean;
  status?: number;
  responseHeaders: HeaderList;
  responseSeen: boolean;
  responseBody: number;
  responseStartNs: bigint;
  grpcStatus?: number;
  grpcMessage?: string;
  requestMessages: GrpcMessageCounter;
  responseMessages: GrpcMessageCounter;
}

interface PendingHeaderBlock {
  streamId: number;
  /** For PUSH_PROMISE: the promised stream. */
  promisedId: number;
  endStream: boolean;
  chunks: Uint8Array[];
  size: number;
  lost: boolean;
  startNs: bigint;
}

const other = (d: Direction): Direction => (d === 'ingress' ? 'egress' : 'ingress');

class DirectionState implements FrameSink {
  readonly reader: FrameReader;
  readonly hpack: HpackDecoder;
  expectedOffset = 0;
  pendingBlock: PendingHeaderBlock | undefined;
  private dataStream: Http2Stream | undefined;
  private dataIsRequest = false;

  constructor(private readonly conn: Http2Connection, readonly dir: Direction, seenFromStart: boolean, maxBuffer: number) {
    this.hpack = new HpackDecoder({ synchronised: seenFromStart });
    this.reader = new FrameReader(this, maxBuffer, { seenFromStart });
  }

  preface(): void { this.conn.setClientDirection(this.dir); }

  framingLost(): void {
    this.pendingBlock = undefined;
    this.dataStream = undefined;
    this.hpack.markDesynchronised();
    this.conn.markMessageCountsInexact(this.dir);
  }

  frame(h: FrameHeader, payload: Uint8Array | undefined, startNs: bigint, endNs: bigint): void {
    this.conn.onFrame(this, h, payload, startNs, endNs);
  }

  dataStart(h: FrameHeader): void {
    if (this.pendingBlock) this.conn.abandonHeaderBlock(this);
    const s = this.conn.streamFor(h.streamId);
    const client = this.conn.clientDirection;
    this.dataStream = s && client ? s : undefined;
    this.dataIsRequest = this.dir === client;
  }

  dataBytes(_streamId: number, buf: Uint8Array, start: number, end: number): void {
    const s = this.dataStream;
    if (!s) return;
    if (this.dataIsRequest) { s.requestBody += end - start; s.requestMessages.bytes(buf, start, end); }
    else { s.responseBody += end - start; s.responseMessages.bytes(buf, start, end); }
  }

  dataSkip(_streamId: number, n: number): void {
    const s = this.dataStream;
    if (!s) return;
    if (this.dataIsRequest) { s.requestBody += n; s.requestMessages.skip(n); }
    else { s.responseBody += n; s.responseMessages.skip(n); }
  }

  dataEnd(h: FrameHeader, endNs: bigint): void {
    const s = this.dataStream;
    this.dataStream = undefined;
    if (s && h.flags & FLAG_END_STREAM) this.conn.endStreamSide(s, this.dataIsRequest, endNs);
  }
}

export class Http2Connection {
  clientDirection: Direction | undefined;
  private readonly directions: Record<Direction, DirectionState>;
  private readonly streams = new Map<number, Http2Stream>();
  private readonly maxStreams: number;
  private readonly maxHeaderBlockBytes: number;
  private readonly out: Exchange[] = [];
  private readonly started: RequestStart[] = [];
  private counters = {
    headerBlocks: 0, headerBlocksLost: 0, streamsOpened: 0, streamsEvicted: 0, orphanHeaders: 0,
    undecodableStreams: 0, exchanges: 0, protocolErrors: 0, overlapBytes: 0, grpcInferred: 0,
  };

  constructor(options: Http2ConnectionOptions = {}) {
    const seenFromStart = options.seenFromStart ?? true;
    this.maxStreams = options.maxStreams ?? 1000;
    this.maxHeaderBlockBytes = options.maxHeaderBlockBytes ?? 64 * 1024;
    this.directions = {
      ingress: new DirectionState(this, 'ingress', seenFromStart, this.maxHeaderBlockBytes),
      egress: new DirectionState(this, 'egress', seenFromStart, this.maxHeaderBlockBytes),
    };
    if (options.role === 'server') this.clientDirection = 'ingress';
    else if (options.role === 'client') this.clientDirection = 'egress';
    const up = options.upgradedRequest;
    if (up) {
      const s = this.openStream(1, up.startNs);
      s.method = up.method;
      s.target = up.target;
      s.requestHeaders = up.headers;
      s.requestSeen = true;
      s.requestBody = up.bodySize;
      s.requestEnded = true;
      s.requestEndNs = up.endNs;
    }
  }

  /** Feeds one captured segment of `direction`; returns the exchanges that completed. */
  push(direction: Direction, seg: CapturedSegment): Exchange[] {
    const d = this.directions[direction];
    const ts = seg.timestampNs;
    const segEnd = seg.offset + seg.length;
    if (segEnd <= d.expectedOffset) {
      this.counters.overlapBytes += seg.length;
      return this.drain();
    }
    if (seg.offset > d.expectedOffset) d.reader.skip(seg.offset - d.expectedOffset, ts);
    // Pieces of this segment: head bytes, the uncaptured hole, tail bytes; cut what we already had.
    const from = Math.max(0, d.expectedOffset - seg.offset);
    if (from > 0) this.counters.overlapBytes += from;
    const headEnd = seg.head.length;
    const tailStart = seg.length - seg.tail.length;
    if (from < headEnd) d.reader.feed(seg.head, from, headEnd, ts);
    const holeFrom = Math.max(from, headEnd);
    if (tailStart > holeFrom) d.reader.skip(tailStart - holeFrom, ts);
    const tailFrom = Math.max(from, tailStart);
    if (seg.tail.length > 0 && tailFrom < seg.length) d.reader.feed(seg.tail, tailFrom - tailStart, seg.tail.length, ts);
    d.expectedOffset = segEnd;
    return this.drain();
  }

  /** The connection closed: streams still open become exchanges with error 'closed'. */
  close(ts: bigint): Exchange[] {
    for (const s of [...this.streams.values()]) this.finish(s, ts, 'closed');
    return this.drain();
  }

  get stats(): Http2ConnectionStats {
    const r = [this.directions.ingress.reader.stats, this.directions.egress.reader.stats];
    const h = [this.directions.ingress.hpack.stats, this.directions.egress.hpack.stats];
    return {
      ...this.counters,
      bytes: r[0]!.bytes + r[1]!.bytes,
      skippedBytes: r[0]!.skippedBytes + r[1]!.skippedBytes,
      frames: r[0]!.frames + r[1]!.frames,
      framingLost: r[0]!.framingLost + r[1]!.framingLost,
      framingRecovered: r[0]!.framingRecovered + r[1]!.framingRecovered,
      huntDiscardedBytes: r[0]!.huntDiscardedBytes + r[1]!.huntDiscardedBytes,
      hpackUnresolvedFields: h[0]!.unresolvedFields + h[1]!.unresolvedFields,
      hpackErrors: h[0]!.errors + h[1]!.errors,
      hpackDesyncs: h[0]!.desyncs + h[1]!.desyncs,
      hpackResyncs: h[0]!.resyncs + h[1]!.resyncs,
      hpackEvictions: h[0]!.evictions + h[1]!.evictions,
    };
  }

  /** Streams currently tracked. */
  get openStreams(): number { return this.streams.size; }

  // ---- called by DirectionState ----

  setClientDirection(dir: Direction): void { this.clientDirection ??= dir; }

  streamFor(id: number): Http2Stream | undefined { return this.streams.get(id); }

  markMessageCountsInexact(dir: Direction): void {
    for (const s of this.streams.values()) {
      const counter = dir === this.clientDirection ? s.requestMessages : s.responseMessages;
      counter.exact = false;
    }
  }

  /** A header block was cut short by a frame that may not interrupt it: its insertions are lost. */
  abandonHeaderBlock(d: DirectionState): void {
    this.counters.protocolErrors++;
    this.counters.headerBlocksLost++;
    d.pendingBlock = undefined;
    d.hpack.markDesynchronised();
  }

  onFrame(d: DirectionState, h: FrameHeader, payload: Uint8Array | undefined, startNs: bigint, endNs: bigint): void {
    if (d.pendingBlock && h.type !== FrameType.CONTINUATION) this.abandonHeaderBlock(d);
    switch (h.type) {
      case FrameType.HEADERS:
      case FrameType.PUSH_PROMISE:
        this.startHeaderBlock(d, h, payload, startNs, endNs);
        return;
      case FrameType.CONTINUATION: {
        const block = d.pendingBlock;
        if (!block || block.streamId !== h.streamId) {
          // The block's first frame was missed (we were hunting); its insertions are lost too.
          if (!block) d.hpack.markDesynchronised();
          else this.abandonHeaderBlock(d);
          return;
        }
        this.appendToBlock(block, payload);
        if (h.flags & FLAG_END_HEADERS) this.completeHeaderBlock(d, endNs);
        return;
      }
      case FrameType.RST_STREAM: {
        const s = this.streams.get(h.streamId);
        if (!s || !payload) return;
        const code = readUint32(payload, 0);
        if (code === ERROR_CANCEL) {
          if (s.grpc && s.grpcStatus === undefined && s.responseSeen) s.grpcStatus = GRPC_STATUS_CANCELLED;
          this.finish(s, endNs, 'cancelled');
        } else {
          this.finish(s, endNs, 'reset');
        }
        return;
      }
      case FrameType.SETTINGS: {
        if (h.flags & FLAG_ACK || !payload) return;
        // This side's settings bind what the peer sends: frames and header blocks in the other direction.
        const peer = this.directions[other(d.dir)];
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          const id = (payload[i]! << 8) | payload[i + 1]!;
          const value = readUint32(payload, i + 2);
          if (id === SETTINGS_HEADER_TABLE_SIZE) peer.hpack.setSettingsMaxSize(value);
          else if (id === SETTINGS_MAX_FRAME_SIZE && value >= 16384 && value <= MAX_ALLOWED_FRAME_SIZE) peer.reader.maxFrameSize = value;
        }
        return;
      }
      default:
        // DATA is streamed separately; PING, PRIORITY, WINDOW_UPDATE, GOAWAY and unknown types
        // carry nothing an Exchange needs.
        return;
    }
  }

  endStreamSide(s: Http2Stream, requestSide: boolean, ts: bigint): void {
    if (requestSide) {
      s.requestEnded = true;
      s.requestEndNs = ts;
    } else {
      // The server finished, but if its response HEADERS were not captured we cannot say how.
      this.finish(s, ts, s.responseSeen ? undefined : 'truncated');
    }
  }

  // ---- internals ----

  private startHeaderBlock(d: DirectionState, h: FrameHeader, payload: Uint8Array | undefined, startNs: bigint, endNs: bigint): void {
    const block: PendingHeaderBlock = {
      streamId: h.streamId, promisedId: 0, endStream: h.type === FrameType.HEADERS && (h.flags & FLAG_END_STREAM) !== 0,
      chunks: [], size: 0, lost: false, startNs,
    };
    if (payload) {
      let at = 0;
      let end = payload.length;
      if (h.flags & FLAG_PADDED) {
        end -= payload[0] ?? 0;
        at = 1;
      }
      if (h.type === FrameType.HEADERS && h.flags & FLAG_PRIORITY) at += 5;
      if (h.type === FrameType.PUSH_PROMISE) {
        block.promisedId = at + 4 <= end ? readUint32(payload, at) & 0x7fffffff : 0;
        at += 4;
      }
      if (at > end) {
        this.counters.protocolErrors++;
        block.lost = true;
      } else {
        this.appendToBlock(block, payload.subarray(at, end));
      }
    } else {
      block.lost = true;
    }
    d.pendingBlock = block;
    if (h.flags & FLAG_END_HEADERS) this.completeHeaderBlock(d, endNs);
  }

  private appendToBlock(block: PendingHeaderBlock, fragment: Uint8Array | undefined): void {
    if (block.lost) return;
    if (!fragment || block.size + fragment.length > this.maxHeaderBlockBytes) {
      block.lost = true;
      block.chunks = [];
      return;
    }
    block.chunks.push(fragment);
    block.size += fragment.length;
  }

  private completeHeaderBlock(d: DirectionState, endNs: bigint): void {
    const block = d.pendingBlock!;
    d.pendingBlock = undefined;
    this.counters.headerBlocks++;
    let fields: HeaderList = [];
    let incomplete = block.lost;
    if (block.lost) {
      this.counters.headerBlocksLost++;
      d.hpack.markDesynchronised();
    } else {
      const bytes = block.chunks.length === 1 ? block.chunks[0]! : concatBytes(block.chunks, block.size);
      const decoded = d.hpack.decode(bytes);
      fields = decoded.fields;
      incomplete = decoded.unresolved > 0;
    }
    if (block.promisedId !== 0) this.onPushPromise(block, fields);
    else this.onHeaders(d.dir, block, fields, endNs, incomplete);
  }

  private onHeaders(dir: Direction, block: PendingHeaderBlock, fields: HeaderList, endNs: bigint, incomplete = false): void {
    if (this.clientDirection === undefined) {
      if (fields.some(([n]) => n === ':method')) this.clientDirection = dir;
      else if (fields.some(([n]) => n === ':status')) this.clientDirection = other(dir);
    }
    if (this.clientDirection === undefined) {
      this.counters.orphanHeaders++;
      return;
    }
    const isRequest = dir === this.clientDirection;
    let s = this.streams.get(block.streamId);
    if (isRequest) {
      if (!s) s = this.openStream(block.streamId, block.startNs);
      if (!s.requestSeen) {
        this.applyRequestHeaders(s, fields);
        s.requestHeadersIncomplete = incomplete;
        this.started.push({ sequence: s.id, headers: s.requestHeaders, startNs: s.startNs });
      }
      if (block.endStream) this.endStreamSide(s, true, endNs);
      return;
    }
    if (!s) {
      this.counters.orphanHeaders++;
      return;
    }
    this.applyResponseHeaders(s, fields, block.startNs);
    if (block.endStream) this.endStreamSide(s, false, endNs);
  }

  private onPushPromise(block: PendingHeaderBlock, fields: HeaderList): void {
    // The promised request is complete as promised; its response comes on the promised stream.
    if (this.streams.has(block.promisedId)) return;
    const s = this.openStream(block.promisedId, block.startNs);
    this.applyRequestHeaders(s, fields);
    s.requestEnded = true;
    s.requestEndNs = block.startNs;
  }

  private applyRequestHeaders(s: Http2Stream, fields: HeaderList): void {
    s.requestSeen = true;
    let host: string | undefined;
    // Indexed loops: destructuring in for-of runs the iterator protocol, measurably slower per field.
    for (let i = 0; i < fields.length; i++) {
      const name = fields[i]![0];
      const value = fields[i]![1];
      if (name === ':method') s.method = value;
      else if (name === ':path') s.target = value;
      else if (name === ':authority') host = value;
      else if (name === 'host') host ??= value;
      else if (REQUEST_HEADERS_OF_INTEREST.has(name)) {
        s.requestHeaders.push([name, value]);
        if (name === 'content-type' && isGrpcContentType(value)) s.grpc = true;
      }
    }
    if (host !== undefined) s.requestHeaders.unshift(['host', host]);
  }

  private applyResponseHeaders(s: Http2Stream, fields: HeaderList, startNs: bigint): void {
    for (let i = 0; i < fields.length; i++) {
      const name = fields[i]![0];
      const value = fields[i]![1];
      if (name === ':status') {
        const status = Number(value);
        // 1xx are interim responses; the final status comes in a later block.
        if (Number.isInteger(status) && status >= 200) {
          s.status = status;
          s.responseSeen = true;
          s.responseStartNs = startNs;
        }
      } else if (name === 'grpc-status') {
        s.grpcStatus = parseGrpcStatus(value);
      } else if (name === 'grpc-message') {
        s.grpcMessage = decodeGrpcMessage(value);
      } else if (RESPONSE_HEADERS_OF_INTEREST.has(name) && s.status !== undefined && !s.responseHeaders.some(([n]) => n === name)) {
        s.responseHeaders.push([name, value]);
        if (name === 'content-type' && isGrpcContentType(value)) s.grpc = true;
      }
    }
  }

  private openStream(id: number, startNs: bigint): Http2Stream {
    if (this.streams.size >= this.maxStreams) {
      const oldest = this.streams.keys().next().value as number;
      this.streams.delete(oldest);
      this.counters.streamsEvicted++;
    }
    const s: Http2Stream = {
      id, requestHeaders: [], requestSeen: false, requestBody: 0, requestEnded: false, startNs, requestEndNs: 0n,
      grpc: false, responseHeaders: [], responseSeen: false, responseBody: 0, responseStartNs: 0n,
      requestMessages: new GrpcMessageCounter(), responseMessages: new GrpcMessageCounter(),
    };
    this.streams.set(id, s);
    this.counters.streamsOpened++;
    return s;
  }

  private finish(s: Http2Stream, endNs: bigint, error: string | undefined): void {
    this.streams.delete(s.id);
    if (s.method === undefined || s.target === undefined) {
      this.counters.undecodableStreams++;
      return;
    }
    if (!s.grpc && looksLikeUnlabelledGrpc(s)) {
      s.grpc = true;
      this.counters.grpcInferred++;
    }
    const exchange: Exchange = {
      protocol: s.grpc ? 'grpc' : 'http2',
      sequence: s.id,
      request: {
        method: s.method, target: s.target, version: '2', headers: s.requestHeaders, bodySize: s.requestBody,
        startNs: s.startNs, endNs: s.requestEnded ? s.requestEndNs : endNs,
      },
    };
    if (s.responseSeen && s.status !== undefined) {
      exchange.response = { status: s.status, headers: s.responseHeaders, bodySize: s.responseBody, startNs: s.responseStartNs, endNs };
      if (s.grpcStatus !== undefined) exchange.response.grpcStatus = s.grpcStatus;
      if (s.grpcMessage !== undefined) exchange.response.grpcMessage = s.grpcMessage;
    }
    if (s.grpc) exchange.messages = { sent: s.requestMessages.messages, received: s.responseMessages.messages };
    if (error) exchange.error = error;
    this.counters.exchanges++;
    this.out.push(exchange);
  }

  /** The requests whose header blocks were decoded since the last call, in order (each before its Exchange is returned). */
  takeStarts(): readonly RequestStart[] {
    return this.started.length === 0 ? NO_STARTS : this.started.splice(0);
  }

  /** Hands the completed exchanges to the caller (and forgets them). */
  private drain(): Exchange[] {
    return this.out.splice(0);
  }
}
