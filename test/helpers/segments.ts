// Builds CapturedSegments from real byte strings the way the kernel capture would: the first
// `capture` bytes of each packet's payload, plus its last ≤16 bytes when the payload is longer.
import type { CapturedSegment } from '../../src/protocols/segment.js';

export const TAIL_BYTES = 16;

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** One packet of `stream` at [offset, offset + length), captured with a head of `capture` bytes. */
export function packet(stream: Uint8Array, offset: number, length: number, ts: bigint, capture = 256): CapturedSegment {
  const headLen = Math.min(length, capture);
  const tailLen = Math.min(TAIL_BYTES, length - headLen);
  return {
    offset, length, timestampNs: ts,
    head: stream.slice(offset, offset + headLen),
    tail: stream.slice(offset + length - tailLen, offset + length),
  };
}

/**
 * Cuts `stream` into packets at the given offsets (exclusive of 0 and stream.length); timestamps
 * are ts0 + index, offsets are shifted by `base`. `capture: Infinity` captures whole packets.
 */
export function packetsAt(stream: Uint8Array, cuts: number[], opts: { capture?: number; ts0?: bigint; base?: number } = {}): CapturedSegment[] {
  const bounds = [0, ...cuts.filter((c) => c > 0 && c < stream.length), stream.length];
  const out: CapturedSegment[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const s = packet(stream, bounds[i]!, bounds[i + 1]! - bounds[i]!, (opts.ts0 ?? 1000n) + BigInt(i), opts.capture);
    out.push({ ...s, offset: s.offset + (opts.base ?? 0) });
  }
  return out;
}

/** Cuts `stream` into packets of `size` bytes. */
export function packetsOf(stream: Uint8Array, size: number, opts: { capture?: number; ts0?: bigint } = {}): CapturedSegment[] {
  const cuts: number[] = [];
  for (let o = size; o < stream.length; o += size) cuts.push(o);
  return packetsAt(stream, cuts, opts);
}

/** `payload` as one packet at stream offset `offset`, captured with a head of `capture` bytes. */
export function packetAt(payload: Uint8Array, offset: number, ts: bigint, capture: number): CapturedSegment {
  return { ...packet(payload, 0, payload.length, ts, capture), offset };
}

/** Cuts `stream` into fully captured packets (no holes) at the given offsets; timestamps are ts0 + index. */
export function fullPacketsAt(stream: Uint8Array, cuts: number[], ts0 = 1000n): CapturedSegment[] {
  return packetsAt(stream, cuts, { capture: Infinity, ts0 });
}
