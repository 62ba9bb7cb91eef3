// One direction of an HTTP/1.x connection: captured segments in, message heads and ends out.
//
// The stream is seen through segments that may have a hole in the middle (only the head and a
// short tail of each packet are captured) and gaps between them (lost packets, or the agent
// started mid-connection). The parser works on three kinds of input: visible bytes, a count of
// unseen bytes, and segment boundaries (the only places where it resynchronises). Bodies are
// skipped by count, so holes inside bodies cost nothing; only the bytes that frame a message
// (start line, headers, chunk-size lines) must be visible.

import { indexOfByte } from '../bytes.js';
import type { CapturedSegment } from '../segment.js';
import { CR, LF, LineScan, scanRequestLine, scanStatusLine } from './start-line.js';
import { parseHead, type HeaderSelector, type Http1Head } from './head.js';

/** Which kind of message a direction carries. Either: not yet known (role inference). */
export const Expect = { Either: 0, Request: 1, Response: 2 } as const;
export type Expect = (typeof Expect)[keyof typeof Expect];

/** How the connection wants the body of a message whose head was just parsed to be handled. */
export const BodyDecision = {
  /** Frame it from Content-Length / Transfer-Encoding (or until close, for responses). */
  FromHeaders: 0,
  /** No body whatever the headers say (HEAD response, 1xx, 204, 304). */
  None: 1,
  /** Stop parsing this direction: the connection left HTTP/1.x (101 Switching Protocols, CONNECT tunnel). */
  Stop: 2,
} as const;
export type BodyDecision = (typeof BodyDecision)[keyof typeof BodyDecision];

/** One message as it is being parsed; updated in place until it ends. */
export interface Http1Message {
  head: Http1Head;
  /** Requests: 1, 2, … in the order their heads were parsed on the connection (0 for responses). */
  sequence: number;
  /** Timestamp of the segment holding the message's first byte. */
  startNs: bigint;
  /** Timestamp of the segment holding the last byte seen so far (the last byte once ended). */
  endNs: bigint;
  /** Stream offset just after the head's empty line; -1 when the head was not fully captured. */
  headEndOffset: number;
  /** Body bytes as framed (Content-Length, sum of chunk sizes, or bytes until close); an estimate when framing was lost. */
  bodySize: number;
  ended: boolean;
  /** Framing was lost (head or chunk sizes not captured): the end and body size are estimates. */
  estimated: boolean;
  /** The connection closed before the message was complete. */
  truncated: boolean;
}

export interface Http1MessageSink {
  onHead(parser: Http1MessageParser, msg: Http1Message): BodyDecision;
  onEnd(parser: Http1MessageParser, msg: Http1Message): void;
}

/** Counters shared by both directions of a connection. */
export interface Http1Stats {
  /** Message heads parsed. */
  messages: number;
  /** Start lines, header lines (ignored) or chunk framing that broke the HTTP/1.x grammar. */
  malformed: number;
  /** Bytes skipped while searching for a message start. */
  skippedBytes: number;
  /** Times the parser lost the message boundary and had to search for the next message start. */
  resyncs: number;
  /** Messages whose framing could not be read (header section or chunk-size lines not captured, or header section over maxHeaderBytes); their end and body size are estimated. */
  unparseable: number;
  /** Bytes in holes and gaps (sent but not captured). */
  unseenBytes: number;
  /** Final responses with no request to pair with (the request was not seen). */
  orphanResponses: number;
  /** Pipelined requests dropped because more than maxPendingRequests awaited a response. */
  droppedRequests: number;
  /** Exchanges produced. */
  exchanges: number;
}

export function newHttp1Stats(): Http1Stats {
  return { messages: 0, malformed: 0, skippedBytes: 0, resyncs: 0, unparseable: 0, unseenBytes: 0, orphanResponses: 0, droppedRequests: 0, exchanges: 0 };
}

const SEEK = 0;
const START = 1;
const HEAD = 2;
const BODY_LENGTH = 3;
const BODY_CLOSE = 4;
const CHUNK_SIZE = 5;
const CHUNK_DATA = 6;
const CHUNK_DATA_END = 7;
const CHUNK_TRAILER = 8;
/** Framing unknown: the message ends at a heuristic boundary (see openMode). */
const OPEN = 9;
const STOPPED = 10;

/** OPEN ends only at the next start line at a segment start (or close). */
const OPEN_UNTIL_NEXT_START = 0;
/** OPEN also ends at a segment that ends with CRLFCRLF (a head without body, whose end was not captured). */
const OPEN_UNTIL_EMPTY_LINE = 1;
/** OPEN also ends after the captured last-chunk `CRLF 0 CRLF CRLF`. */
const OPEN_UNTIL_LAST_CHUNK = 2;

const LAST_CHUNK = [CR, LF, 0x30, CR, LF, CR, LF];
const LAST_CHUNK_FAILURE = [0, 0, 0, 1, 2, 1, 2]; // KMP failure function of LAST_CHUNK
const MAX_CHUNK_LINE = 1024;
const MAX_TRAILER_LINE = 8192;
const MAX_CHUNK_SIZE_DIGITS = 13;
/** A header buffer grown beyond this is released after use, so idle connections stay small. */
const RETAINED_HEADER_BUFFER = 4096;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** Index just after the empty line ending a header section in b[s, e), or -1. */
function findHeadEnd(b: Uint8Array, s: number, e: number): number {
  let i = s;
  for (;;) {
    const lf = indexOfByte(b, LF, i, e);
    if (lf < 0) return -1;
    const n = lf + 1;
    if (n < e && b[n] === LF) return n + 1;
    if (n + 1 < e && b[n] === CR && b[n + 1] === LF) return n + 2;
    i = n;
  }
}

export class Http1MessageParser {
  /** What this direction carries; set by the connection once the role is known. */
  expect: Expect;
  /** Bytes skipped looking for a message start since the last message (not counting quiet skips after CONNECT/Upgrade). */
  skippedSinceMessage = 0;
  /** The first segment pushed did not start with a start line. */
  firstSegmentRejected = false;

  private state: number = SEEK;
  /** Stream offset of the next byte to process; -1 before the first segment. */
  private pos = -1;
  private lastTs = 0n;
  private msg: Http1Message | undefined;
  private msgStartNs = 0n;
  private headBuf: Uint8Array | undefined;
  private headLen = 0;
  private firstLineChecked = false;
  /** Body bytes (BODY_LENGTH) or chunk-data bytes (CHUNK_DATA) still to come. */
  private remaining = 0;
  private chunkSub = 0;
  private chunkLineLen = 0;
  private chunkSize = 0;
  private chunkDigits = 0;
  private openMode: number = OPEN_UNTIL_NEXT_START;
  private openBytes = 0;
  private lastChunkMatch = 0;
  /** Skipping is expected (after a CONNECT or Upgrade request), so it is not counted as a resync or as non-HTTP. */
  private quiet = false;

  constructor(
    expect: Expect,
    private readonly sink: Http1MessageSink,
    private readonly selector: HeaderSelector,
    private readonly maxHeaderBytes: number,
    private readonly stats: Http1Stats,
  ) {
    this.expect = expect;
  }

  /** Bytes this parser holds for a message head that spans segments. */
  get bufferedBytes(): number {
    return this.headLen;
  }

  /**
   * Ends a message whose framing was lost, at the last segment seen, because the peer showed it
   * is complete (the client sent its next request). The parser then looks for the next start line.
   */
  endEstimated(): void {
    if (this.state !== OPEN) return;
    this.endMessage(this.lastTs);
    if ((this.state as number) === START) this.state = SEEK;
  }

  /** Feeds the next segment of this direction (in stream order; duplicates and overlaps are trimmed). */
  push(seg: CapturedSegment): void {
    if (this.state === STOPPED) return;
    const end = seg.offset + seg.length;
    const first = this.pos < 0;
    if (first) this.pos = seg.offset;
    if (end <= this.pos) return;
    const ts = seg.timestampNs;
    if (seg.offset > this.pos) {
      this.unseen(seg.offset - this.pos, ts);
      this.pos = seg.offset;
    }
    const head = seg.head;
    const tail = seg.tail;
    if (seg.offset === this.pos && head.length > 0 && (this.state === SEEK || this.state === OPEN)) {
      const accepted = this.startsMessage(head, head.length === seg.length);
      if (first && !accepted) this.firstSegmentRejected = true;
      if (accepted) {
        if (this.state === OPEN) this.endMessage(this.lastTs);
        this.quiet = false;
        this.state = START;
      }
    }
    const headEnd = seg.offset + head.length;
    const tailStart = end - tail.length;
    let p = this.pos;
    if (p < headEnd) {
      this.visible(head, seg.offset, p - seg.offset, head.length, ts);
      p = headEnd;
    }
    if (p < tailStart) {
      this.unseen(tailStart - p, ts);
      p = tailStart;
    }
    if (p < end) this.visible(tail, tailStart, p - tailStart, tail.length, ts);
    this.pos = end;
    if (this.state === OPEN && this.openMode === OPEN_UNTIL_EMPTY_LINE && endsWithEmptyLine(seg)) this.endMessage(ts);
    this.lastTs = ts;
  }

  /** The connection closed: a message delimited by close ends; one cut short ends truncated. */
  finish(): void {
    switch (this.state) {
      case BODY_CLOSE:
      case OPEN:
        this.endMessage(this.lastTs);
        break;
      case HEAD:
        this.headLost(this.lastTs);
        if ((this.state as number) === OPEN) this.endMessage(this.lastTs, true);
        break;
      case BODY_LENGTH:
        this.msg!.bodySize -= this.remaining;
        this.endMessage(this.lastTs, true);
        break;
      case CHUNK_SIZE:
      case CHUNK_DATA:
      case CHUNK_DATA_END:
      case CHUNK_TRAILER:
        this.endMessage(this.lastTs, true);
        break;
    }
    this.stop();
  }

  stop(): void {
    this.state = STOPPED;
    this.msg = undefined;
    this.headBuf = undefined;
    this.headLen = 0;
  }

  /** Does a segment whose captured head is `head` start with a message of the expected kind? */
  private startsMessage(head: Uint8Array, wholeSegment: boolean): boolean {
    const e = head.length;
    // A start line cut by the capture is accepted when what is visible is unambiguous. A packet
    // that holds only the beginning of a start line ("G", "HTTP/1.") is accepted tentatively:
    // the head state rejects it as soon as the next bytes break the grammar.
    const ok = (r: LineScan) => r === LineScan.Complete || r === LineScan.ConfidentPrefix || (r === LineScan.Prefix && wholeSegment);
    if (this.expect !== Expect.Response && ok(scanRequestLine(head, 0, e))) return true;
    return this.expect !== Expect.Request && ok(scanStatusLine(head, 0, e));
  }

  /** Feeds b[from, to); b[0] is at stream offset `base`. */
  private visible(b: Uint8Array, base: number, from: number, to: number, ts: bigint): void {
    while (from < to) {
      switch (this.state) {
        case STOPPED:
          return;
        case SEEK:
          this.skip(to - from);
          return;
        case START:
          while (from < to && (b[from] === CR || b[from] === LF)) from++;
          if (from < to) {
            this.state = HEAD;
            this.msgStartNs = ts;
            this.headLen = 0;
            this.firstLineChecked = false;
          }
          break;
        case HEAD:
          from = this.feedHead(b, base, from, to, ts);
          break;
        case BODY_LENGTH: {
          const n = Math.min(this.remaining, to - from);
          this.remaining -= n;
          from += n;
          if (this.remaining === 0) this.endMessage(ts);
          break;
        }
        case BODY_CLOSE:
          this.msg!.bodySize += to - from;
          return;
        case OPEN:
          from = this.feedOpen(b, from, to, ts);
          break;
        default:
          from = this.feedChunked(b, from, to, ts);
      }
    }
  }

  /** n bytes were sent but not captured (a hole in a segment or a gap between segments). */
  private unseen(n: number, ts: bigint): void {
    this.stats.unseenBytes += n;
    this.lastChunkMatch = 0;
    this.crossUnseen(n, ts);
  }

  private crossUnseen(n: number, ts: bigint): void {
    switch (this.state) {
      case SEEK:
        this.skip(n);
        break;
      case START:
        this.lostSync();
        this.skip(n);
        break;
      case HEAD:
        this.headLost(ts);
        this.crossUnseen(n, ts);
        break;
      case BODY_LENGTH:
        if (n < this.remaining) {
          this.remaining -= n;
        } else {
          const rest = n - this.remaining;
          this.remaining = 0;
          this.endMessage(ts);
          // The next message starts inside the unseen bytes: its start cannot be found here.
          if (rest > 0) {
            this.lostSync();
            this.skip(rest);
          }
        }
        break;
      case BODY_CLOSE:
        this.msg!.bodySize += n;
        break;
      case CHUNK_DATA:
        if (n <= this.remaining) {
          this.remaining -= n;
          if (this.remaining === 0) this.state = CHUNK_DATA_END;
          this.chunkSub = 0;
        } else {
          this.openBytes = -this.remaining;
          this.chunkFramingLost();
          this.openBytes += n;
        }
        break;
      case CHUNK_SIZE:
      case CHUNK_DATA_END:
      case CHUNK_TRAILER:
        this.chunkFramingLost();
        this.openBytes += n;
        break;
      case OPEN:
        this.openBytes += n;
        break;
    }
  }

  private skip(n: number): void {
    this.stats.skippedBytes += n;
    if (!this.quiet) this.skippedSinceMessage += n;
  }

  private lostSync(): void {
    this.state = SEEK;
    if (!this.quiet) this.stats.resyncs++;
  }

  private malformed(): void {
    this.stats.malformed++;
    this.msg = undefined;
    this.headLen = 0;
    this.lostSync();
  }

  /** Is the first line in b[s, e) (complete or not) still a possible start line? */
  private firstLineValid(b: Uint8Array, s: number, e: number): boolean {
    const lf = indexOfByte(b, LF, s, e);
    const complete = lf >= 0;
    const lineEnd = complete ? lf + 1 : e;
    if (complete) this.firstLineChecked = true;
    if (this.expect !== Expect.Response && scanRequestLine(b, s, lineEnd) !== LineScan.Invalid) return true;
    return this.expect !== Expect.Request && scanStatusLine(b, s, lineEnd) !== LineScan.Invalid;
  }

  private feedHead(b: Uint8Array, base: number, from: number, to: number, ts: bigint): number {
    if (this.headLen === 0) {
      const endIdx = findHeadEnd(b, from, to);
      if (endIdx >= 0) {
        this.headParsed(b, from, endIdx, base + endIdx, ts);
        return endIdx;
      }
      if (!this.firstLineValid(b, from, to)) {
        this.malformed();
        return from;
      }
    }
    const old = this.headLen;
    const n = Math.min(to - from, this.maxHeaderBytes - old);
    let buf = this.headBuf;
    if (buf === undefined || buf.length < old + n) {
      const grown = new Uint8Array(Math.min(this.maxHeaderBytes, Math.max(1024, (old + n) * 2)));
      if (buf !== undefined) grown.set(buf.subarray(0, old));
      buf = this.headBuf = grown;
    }
    buf.set(b.subarray(from, from + n), old);
    this.headLen = old + n;
    if (old > 0 && !this.firstLineChecked && !this.firstLineValid(buf, 0, this.headLen)) {
      this.malformed();
      return from + n;
    }
    // (when old is 0, b[from, to) was just searched: no end in it)
    const endIdx = old === 0 ? -1 : findHeadEnd(buf, Math.max(0, old - 2), this.headLen);
    if (endIdx >= 0) {
      this.headParsed(buf, 0, endIdx, base + from + (endIdx - old), ts);
      return from + (endIdx - old);
    }
    if (this.headLen >= this.maxHeaderBytes) this.headLost(ts); // over the cap: treated like a head not captured
    return from + n;
  }

  /** The header section was not (fully) captured: produce the message from what was seen. */
  private headLost(ts: bigint): void {
    const len = this.headLen;
    if (len === 0 || this.headBuf === undefined) {
      this.lostSync();
      return;
    }
    this.headParsed(this.headBuf, 0, len, -1, ts);
  }

  /** Parses the head in b[s, e); `endOffset` is the stream offset after it, -1 when the head was cut. */
  private headParsed(b: Uint8Array, s: number, e: number, endOffset: number, ts: bigint): void {
    const complete = endOffset >= 0;
    const head = parseHead(b, s, e, complete, this.expect, this.selector);
    this.headLen = 0;
    if (this.headBuf !== undefined && this.headBuf.length > RETAINED_HEADER_BUFFER) this.headBuf = undefined;
    if (head === undefined) {
      this.malformed();
      return;
    }
    this.stats.messages++;
    this.stats.malformed += head.invalidHeaderLines;
    this.skippedSinceMessage = 0;
    const msg: Http1Message = { head, sequence: 0, startNs: this.msgStartNs, endNs: ts, headEndOffset: endOffset, bodySize: 0, ended: false, estimated: false, truncated: false };
    this.msg = msg;
    const decision = this.sink.onHead(this, msg);
    if (decision === BodyDecision.Stop) {
      this.stop();
      return;
    }
    if (!complete || head.badFraming || (head.isRequest && head.otherTransferCoding)) {
      this.stats.unparseable++;
      if (decision === BodyDecision.None) {
        this.open(OPEN_UNTIL_EMPTY_LINE);
      } else {
        if (head.contentLength > 0 && !head.badFraming) msg.bodySize = head.contentLength;
        if (head.chunked) this.open(OPEN_UNTIL_LAST_CHUNK);
        else this.open(head.isRequest && head.contentLength <= 0 ? OPEN_UNTIL_EMPTY_LINE : OPEN_UNTIL_NEXT_START);
      }
      return;
    }
    if (decision === BodyDecision.None) {
      this.endMessage(ts);
    } else if (head.chunked) {
      this.state = CHUNK_SIZE;
      this.chunkSub = 0;
      this.chunkLineLen = 0;
      this.chunkSize = 0;
      this.chunkDigits = 0;
    } else if (head.contentLength > 0) {
      msg.bodySize = head.contentLength;
      this.remaining = head.contentLength;
      this.state = BODY_LENGTH;
    } else if (head.contentLength === 0 || head.isRequest) {
      this.endMessage(ts);
    } else {
      this.state = BODY_CLOSE;
    }
  }

  private open(mode: number): void {
    if (this.msg !== undefined) this.msg.estimated = true;
    this.state = OPEN;
    this.openMode = mode;
    this.openBytes = 0;
    this.lastChunkMatch = 0;
  }

  private chunkFramingLost(): void {
    this.stats.unparseable++;
    const bytes = this.openBytes;
    this.open(this.state === CHUNK_TRAILER ? OPEN_UNTIL_EMPTY_LINE : OPEN_UNTIL_LAST_CHUNK);
    this.openBytes = bytes;
  }

  private feedOpen(b: Uint8Array, from: number, to: number, ts: bigint): number {
    if (this.openMode !== OPEN_UNTIL_LAST_CHUNK) {
      this.openBytes += to - from;
      return to;
    }
    let m = this.lastChunkMatch;
    for (let i = from; i < to; i++) {
      const c = b[i]!;
      while (m > 0 && c !== LAST_CHUNK[m]) m = LAST_CHUNK_FAILURE[m - 1]!;
      if (c === LAST_CHUNK[m]) m++;
      if (m === LAST_CHUNK.length) {
        this.openBytes += i + 1 - from;
        this.endMessage(ts);
        return i + 1;
      }
    }
    this.lastChunkMatch = m;
    this.openBytes += to - from;
    return to;
  }

  private feedChunked(b: Uint8Array, from: number, to: number, ts: bigint): number {
    const msg = this.msg!;
    while (from < to) {
      switch (this.state) {
        case CHUNK_SIZE: {
          const c = b[from++]!;
          if (++this.chunkLineLen > MAX_CHUNK_LINE) return this.badChunk(from);
          if (this.chunkSub === 0) {
            const v = hexValue(c);
            if (v >= 0) {
              if (++this.chunkDigits > MAX_CHUNK_SIZE_DIGITS) return this.badChunk(from);
              this.chunkSize = this.chunkSize * 16 + v;
              continue;
            }
            if (this.chunkDigits === 0) return this.badChunk(from);
            if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) { this.chunkSub = 1; continue; }
          } else if (this.chunkSub === 1 && c !== CR && c !== LF) {
            continue; // chunk extension, ignored
          }
          if (c === CR && this.chunkSub !== 2) { this.chunkSub = 2; continue; }
          if (c !== LF) return this.badChunk(from);
          if (this.chunkSize === 0) {
            this.state = CHUNK_TRAILER;
            this.chunkLineLen = 0;
          } else {
            msg.bodySize += this.chunkSize;
            this.remaining = this.chunkSize;
            this.state = CHUNK_DATA;
          }
          this.chunkSub = 0;
          this.chunkSize = 0;
          this.chunkDigits = 0;
          break;
        }
        case CHUNK_DATA: {
          const n = Math.min(this.remaining, to - from);
          this.remaining -= n;
          from += n;
          if (this.remaining === 0) {
            this.state = CHUNK_DATA_END;
            this.chunkSub = 0;
          }
          break;
        }
        case CHUNK_DATA_END: {
          const c = b[from++]!;
          if (c === CR && this.chunkSub === 0) { this.chunkSub = 1; continue; }
          if (c !== LF) return this.badChunk(from);
          this.state = CHUNK_SIZE;
          this.chunkSub = 0;
          this.chunkLineLen = 0;
          break;
        }
        case CHUNK_TRAILER: {
          const c = b[from++]!;
          if (c === LF) {
            if (this.chunkLineLen === 0) {
              this.endMessage(ts);
              return from;
            }
            this.chunkLineLen = 0;
          } else if (c !== CR && ++this.chunkLineLen > MAX_TRAILER_LINE) {
            return this.badChunk(from);
          }
          break;
        }
        default:
          return from;
      }
    }
    return from;
  }

  private badChunk(from: number): number {
    this.stats.malformed++;
    this.openBytes = 0;
    this.chunkFramingLost();
    return from;
  }

  private endMessage(ts: bigint, truncated = false): void {
    const msg = this.msg;
    this.state = START;
    if (msg === undefined) return;
    this.msg = undefined;
    if (this.openBytes > 0 && this.openMode === OPEN_UNTIL_LAST_CHUNK && msg.head.chunked) {
      // Chunks crossed while framing was lost: count their bytes minus the last-chunk marker
      // (an overestimate by the size lines and CRLFs of the chunks that were not seen).
      msg.bodySize += Math.max(0, this.openBytes - LAST_CHUNK.length);
    }
    this.openBytes = 0;
    msg.endNs = ts;
    msg.ended = true;
    msg.truncated = truncated;
    if (msg.head.isRequest && (msg.head.method === 'CONNECT' || msg.head.upgrade)) {
      // What follows may be another protocol if the server agrees: skip quietly until a request line.
      this.state = SEEK;
      this.quiet = true;
    }
    this.sink.onEnd(this, msg);
  }
}

/** Do the captured bytes show that the segment ends with an empty line (CRLF CRLF)? */
function endsWithEmptyLine(seg: CapturedSegment): boolean {
  let b: Uint8Array;
  if (seg.tail.length >= 4) b = seg.tail;
  else if (seg.tail.length === 0 && seg.head.length === seg.length && seg.length >= 4) b = seg.head;
  else return false;
  const n = b.length;
  return b[n - 4] === CR && b[n - 3] === LF && b[n - 2] === CR && b[n - 1] === LF;
}
