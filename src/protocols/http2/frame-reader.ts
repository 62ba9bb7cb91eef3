// Splits one direction of an HTTP/2 connection into frames, across segment boundaries and capture
// holes. Frame lengths carry us over holes inside payloads; a hole inside a frame header (or a
// header we cannot believe) loses the boundaries, and we hunt for them again: a plausible frame
// header whose successor, `length` bytes later, is plausible too.

import {
  CONNECTION_PREFACE, DEFAULT_MAX_FRAME_SIZE, FLAG_PADDED, FRAME_HEADER_LENGTH, FrameType, type FrameHeader,
  detectHttp2Preface, isPlausibleFrameHeader, readFrameHeader,
} from './frames.js';

export interface FrameSink {
  /** A complete non-DATA frame; payload undefined when (part of) it fell in a hole or exceeded the buffer cap. */
  frame(header: FrameHeader, payload: Uint8Array | undefined, startNs: bigint, endNs: bigint): void;
  dataStart(header: FrameHeader, startNs: bigint): void;
  /** Bytes of a DATA frame's data (padding excluded). */
  dataBytes(streamId: number, buf: Uint8Array, start: number, end: number): void;
  /** Data bytes that were not captured. */
  dataSkip(streamId: number, n: number): void;
  dataEnd(header: FrameHeader, endNs: bigint): void;
  /** The connection preface was seen: this direction is the client's. */
  preface(): void;
  /** Frame boundaries were lost (or never known): header blocks may have been missed. */
  framingLost(): void;
}

export interface FrameReaderStats {
  frames: number;
  bytes: number;
  skippedBytes: number;
  framingLost: number;
  framingRecovered: number;
  huntDiscardedBytes: number;
  oversizedPayloads: number;
  lostPayloads: number;
}

const enum ReaderState { Start, Header, Payload, Hunt }

/** Most bytes kept while hunting for a frame boundary (per direction). */
const MAX_HUNT_WINDOW = 128 * 1024;

export class FrameReader {
  maxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  readonly stats: FrameReaderStats = {
    frames: 0, bytes: 0, skippedBytes: 0, framingLost: 0, framingRecovered: 0, huntDiscardedBytes: 0,
    oversizedPayloads: 0, lostPayloads: 0,
  };
  private state: ReaderState;
  private startBuf = new Uint8Array(CONNECTION_PREFACE.length);
  private startFilled = 0;
  private headerBuf = new Uint8Array(FRAME_HEADER_LENGTH);
  private headerFilled = 0;
  private header: FrameHeader = { length: 0, type: 0, flags: 0, streamId: 0 };
  private frameStartNs = 0n;
  private remaining = 0;
  // Buffered (non-DATA) payload.
  private payload: Uint8Array | undefined;
  private payloadFilled = 0;
  private payloadLost = false;
  // DATA padding.
  private needPadLength = false;
  private dataRemaining = 0;
  // Hunting.
  private huntBuf = new Uint8Array(0);
  private huntLen = 0;
  private scanPos = 0;

  constructor(private readonly sink: FrameSink, private readonly maxPayloadBuffer: number,
    options: { seenFromStart: boolean }) {
    this.state = options.seenFromStart ? ReaderState.Start : ReaderState.Hunt;
  }

  /** Whether frame boundaries are currently known. */
  get framed(): boolean { return this.state === ReaderState.Header || this.state === ReaderState.Payload; }

  feed(buf: Uint8Array, start: number, end: number, ts: bigint): void {
    this.stats.bytes += end - start;
    let i = start;
    while (i < end) {
      switch (this.state) {
        case ReaderState.Start:
          i = this.feedStart(buf, i, end, ts);
          break;
        case ReaderState.Header: {
          const n = Math.min(FRAME_HEADER_LENGTH - this.headerFilled, end - i);
          this.headerBuf.set(buf.subarray(i, i + n), this.headerFilled);
          this.headerFilled += n;
          i += n;
          if (this.headerFilled === FRAME_HEADER_LENGTH) this.beginFrame(ts);
          break;
        }
        case ReaderState.Payload:
          i = this.feedPayload(buf, i, end, ts);
          break;
        case ReaderState.Hunt:
          this.hunt(buf, i, end, ts);
          i = end;
          break;
      }
    }
  }

  /** n bytes of the stream were not captured. */
  skip(n: number, ts: bigint): void {
    if (n <= 0) return;
    this.stats.skippedBytes += n;
    switch (this.state) {
      case ReaderState.Start:
      case ReaderState.Header:
        this.loseFraming();
        this.huntLen = 0;
        this.scanPos = 0;
        return;
      case ReaderState.Hunt:
        this.stats.huntDiscardedBytes += this.huntLen;
        this.huntLen = 0;
        this.scanPos = 0;
        return;
      case ReaderState.Payload: {
        if (n > this.remaining) {
          // The hole runs past this frame into the next header: boundaries are lost.
          this.skipPayload(this.remaining);
          this.finishFrame(ts);
          this.loseFraming();
          return;
        }
        this.skipPayload(n);
        if (this.remaining === 0) this.finishFrame(ts);
      }
    }
  }

  private feedStart(buf: Uint8Array, i: number, end: number, ts: bigint): number {
    const n = Math.min(CONNECTION_PREFACE.length - this.startFilled, end - i);
    this.startBuf.set(buf.subarray(i, i + n), this.startFilled);
    this.startFilled += n;
    const sofar = this.startBuf.subarray(0, this.startFilled);
    const preface = detectHttp2Preface(sofar);
    if (preface === true) {
      this.state = ReaderState.Header;
      this.sink.preface();
      return i + n;
    }
    if (preface === undefined) return i + n;
    // Not a preface: the server's side starts directly with its SETTINGS frame.
    const pending = sofar.slice();
    this.startFilled = 0;
    const startsWithSettings = pending.length < FRAME_HEADER_LENGTH
      ? pending[3] === undefined || pending[3] === FrameType.SETTINGS
      : pending[3] === FrameType.SETTINGS && isPlausibleFrameHeader(pending, 0, this.maxFrameSize);
    if (startsWithSettings) this.state = ReaderState.Header;
    else this.loseFraming();
    this.stats.bytes -= pending.length; // re-fed below
    this.feed(pending, 0, pending.length, ts);
    return i + n;
  }

  private beginFrame(ts: bigint): void {
    this.headerFilled = 0;
    const h = readFrameHeader(this.headerBuf, 0);
    if (h.length > this.maxFrameSize) {
      this.loseFraming();
      return;
    }
    this.header = h;
    this.frameStartNs = ts;
    this.remaining = h.length;
    this.state = ReaderState.Payload;
    this.stats.frames++;
    if (h.type === FrameType.DATA) {
      this.needPadLength = (h.flags & FLAG_PADDED) !== 0;
      this.dataRemaining = this.needPadLength ? 0 : h.length;
      this.sink.dataStart(h, ts);
    } else {
      this.payloadLost = h.length > this.maxPayloadBuffer;
      if (this.payloadLost) this.stats.oversizedPayloads++;
      this.payload = this.payloadLost ? undefined : new Uint8Array(h.length);
      this.payloadFilled = 0;
    }
    if (h.length === 0) this.finishFrame(ts);
  }

  private feedPayload(buf: Uint8Array, i: number, end: number, ts: bigint): number {
    const n = Math.min(this.remaining, end - i);
    if (this.header.type === FrameType.DATA) {
      let at = i;
      if (this.needPadLength && n > 0) {
        this.needPadLength = false;
        const padLength = buf[at]!;
        this.dataRemaining = Math.max(0, this.header.length - 1 - padLength);
        at++;
      }
      const data = Math.min(this.dataRemaining, i + n - at);
      if (data > 0) {
        this.sink.dataBytes(this.header.streamId, buf, at, at + data);
        this.dataRemaining -= data;
      }
    } else if (this.payload) {
      this.payload.set(buf.subarray(i, i + n), this.payloadFilled);
      this.payloadFilled += n;
    }
    this.remaining -= n;
    if (this.remaining === 0) this.finishFrame(ts);
    return i + n;
  }

  private skipPayload(n: number): void {
    this.remaining -= n;
    if (this.header.type === FrameType.DATA) {
      if (this.needPadLength) {
        // Pad length unknown: count everything as data (an over-estimate by at most 256 bytes).
        this.needPadLength = false;
        this.dataRemaining = this.header.length - 1;
        n -= 1;
      }
      const data = Math.min(this.dataRemaining, n);
      if (data > 0) {
        this.sink.dataSkip(this.header.streamId, data);
        this.dataRemaining -= data;
      }
    } else if (!this.payloadLost) {
      this.payloadLost = true;
      this.payload = undefined;
      this.stats.lostPayloads++;
    }
  }

  private finishFrame(ts: bigint): void {
    this.state = ReaderState.Header;
    if (this.header.type === FrameType.DATA) {
      this.sink.dataEnd(this.header, ts);
    } else {
      const payload = this.payload;
      this.payload = undefined;
      this.sink.frame(this.header, this.payloadLost ? undefined : payload, this.frameStartNs, ts);
    }
  }

  private loseFraming(): void {
    this.stats.framingLost++;
    this.state = ReaderState.Hunt;
    this.headerFilled = 0;
    this.sink.framingLost();
  }

  private hunt(buf: Uint8Array, start: number, end: number, ts: bigint): void {
    const window = Math.min(MAX_HUNT_WINDOW, 2 * (this.maxFrameSize + FRAME_HEADER_LENGTH) + FRAME_HEADER_LENGTH);
    const incoming = end - start;
    if (this.huntLen + incoming > window) {
      // Keep the newest bytes; candidates in dropped bytes could not be validated anyway.
      const keep = Math.max(0, Math.min(this.huntLen, window - incoming));
      const drop = this.huntLen - keep;
      this.stats.huntDiscardedBytes += drop;
      this.huntBuf.copyWithin(0, drop, this.huntLen);
      this.huntLen = keep;
      this.scanPos = Math.max(0, this.scanPos - drop);
      if (incoming > window) {
        this.stats.huntDiscardedBytes += incoming - window;
        start = end - window;
      }
    }
    const needed = this.huntLen + (end - start);
    if (this.huntBuf.length < needed) {
      const grown = new Uint8Array(Math.min(window, Math.max(needed, this.huntBuf.length * 2, 1024)));
      grown.set(this.huntBuf.subarray(0, this.huntLen));
      this.huntBuf = grown;
    }
    this.huntBuf.set(buf.subarray(start, end), this.huntLen);
    this.huntLen += end - start;
    this.scan(ts, window);
  }

  private scan(ts: bigint, window: number): void {
    const b = this.huntBuf;
    while (this.scanPos + FRAME_HEADER_LENGTH <= this.huntLen) {
      const i = this.scanPos;
      if (b[i + 3] === FrameType.CONTINUATION || !isPlausibleFrameHeader(b, i, this.maxFrameSize)) {
        this.scanPos++;
        continue;
      }
      const next = i + FRAME_HEADER_LENGTH + readFrameHeader(b, i).length;
      if (next + FRAME_HEADER_LENGTH > this.huntLen) {
        if (next + FRAME_HEADER_LENGTH - i > window) { this.scanPos++; continue; }
        return; // wait for the bytes that confirm or refute this candidate
      }
      if (!isPlausibleFrameHeader(b, next, this.maxFrameSize)) { this.scanPos++; continue; }
      this.stats.huntDiscardedBytes += i;
      this.stats.framingRecovered++;
      const rest = b.slice(i, this.huntLen);
      this.huntLen = 0;
      this.scanPos = 0;
      this.state = ReaderState.Header;
      this.stats.bytes -= rest.length; // re-fed below
      this.feed(rest, 0, rest.length, ts);
      return;
    }
  }
}
