// HTTP/2 (RFC 9113) frame constants, the 9-byte frame header, and the plausibility checks used to
// find frame boundaries when the agent joins a connection mid-stream.
import { readUint32 } from '../bytes.js';

export const CONNECTION_PREFACE = new Uint8Array([
  0x50, 0x52, 0x49, 0x20, 0x2a, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x32, 0x2e, 0x30, 0x0d, 0x0a,
  0x0d, 0x0a, 0x53, 0x4d, 0x0d, 0x0a, 0x0d, 0x0a,
]); // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

export const FRAME_HEADER_LENGTH = 9;
export const DEFAULT_MAX_FRAME_SIZE = 16384;
/** RFC 9113 6.5.2: SETTINGS_MAX_FRAME_SIZE may not exceed 2^24 - 1. */
export const MAX_ALLOWED_FRAME_SIZE = 0xffffff;

export const enum FrameType {
  DATA = 0x0,
  HEADERS = 0x1,
  PRIORITY = 0x2,
  RST_STREAM = 0x3,
  SETTINGS = 0x4,
  PUSH_PROMISE = 0x5,
  PING = 0x6,
  GOAWAY = 0x7,
  WINDOW_UPDATE = 0x8,
  CONTINUATION = 0x9,
}

export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

export const SETTINGS_HEADER_TABLE_SIZE = 0x1;
export const SETTINGS_MAX_FRAME_SIZE = 0x5;

export const ERROR_CANCEL = 0x8;

export interface FrameHeader {
  length: number;
  type: number;
  flags: number;
  streamId: number;
}

export function readFrameHeader(buf: Uint8Array, at: number): FrameHeader {
  return {
    length: (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!,
    type: buf[at + 3]!,
    flags: buf[at + 4]!,
    streamId: readUint32(buf, at + 5) & 0x7fffffff, // the reserved bit cleared
  };
}

/** Flags each frame type defines (RFC 9113 section 6). */
const DEFINED_FLAGS: readonly number[] = [
  FLAG_END_STREAM | FLAG_PADDED, // DATA
  FLAG_END_STREAM | FLAG_END_HEADERS | FLAG_PADDED | FLAG_PRIORITY, // HEADERS
  0, // PRIORITY
  0, // RST_STREAM
  FLAG_ACK, // SETTINGS
  FLAG_END_HEADERS | FLAG_PADDED, // PUSH_PROMISE
  FLAG_ACK, // PING
  0, // GOAWAY
  0, // WINDOW_UPDATE
  FLAG_END_HEADERS, // CONTINUATION
];

/**
 * Whether 9 bytes at `at` are a believable frame header for a parser that has lost the frame
 * boundaries. Stricter than the RFC on purpose (undefined flags and the reserved bit are legal but
 * never sent by real stacks): a false boundary costs more than a missed one.
 */
export function isPlausibleFrameHeader(buf: Uint8Array, at: number, maxFrameSize = DEFAULT_MAX_FRAME_SIZE): boolean {
  const type = buf[at + 3]!;
  if (type > FrameType.CONTINUATION) return false;
  if ((buf[at + 5]! & 0x80) !== 0) return false; // reserved bit
  const h = readFrameHeader(buf, at);
  if (h.length > maxFrameSize) return false;
  if ((h.flags & ~DEFINED_FLAGS[type]!) !== 0) return false;
  switch (type) {
    case FrameType.SETTINGS:
      return h.streamId === 0 && h.length % 6 === 0 && (!(h.flags & FLAG_ACK) || h.length === 0);
    case FrameType.PING:
      return h.streamId === 0 && h.length === 8;
    case FrameType.GOAWAY:
      return h.streamId === 0 && h.length >= 8;
    case FrameType.WINDOW_UPDATE:
      return h.length === 4;
    case FrameType.RST_STREAM:
      return h.streamId !== 0 && h.length === 4;
    case FrameType.PRIORITY:
      return h.streamId !== 0 && h.length === 5;
    case FrameType.PUSH_PROMISE:
      return h.streamId !== 0 && h.length >= 4;
    default: // DATA, HEADERS, CONTINUATION
      return h.streamId !== 0;
  }
}

/**
 * Cheap protocol detection: `bytes` (the start of a direction's stream) begin with the connection
 * preface, or with a chain of plausible frame headers whose lengths line up. Returns false for
 * fewer than 9 bytes.
 */
export function looksLikeHttp2Frames(bytes: Uint8Array): boolean {
  if (detectHttp2Preface(bytes) === true) return true;
  let at = 0;
  let frames = 0;
  while (at + FRAME_HEADER_LENGTH <= bytes.length) {
    if (!isPlausibleFrameHeader(bytes, at)) return false;
    frames++;
    at += FRAME_HEADER_LENGTH + readFrameHeader(bytes, at).length;
  }
  return frames > 0;
}

/** true: starts with the preface; false: cannot be the preface; undefined: too short to tell yet. */
export function detectHttp2Preface(bytes: Uint8Array): boolean | undefined {
  const n = Math.min(bytes.length, CONNECTION_PREFACE.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== CONNECTION_PREFACE[i]) return false;
  return n === CONNECTION_PREFACE.length ? true : undefined;
}
