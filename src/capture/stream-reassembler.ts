// Turns one direction's payload records (one per TCP packet, keyed by sequence number) into the
// ordered, de-duplicated CapturedSegments the protocol parsers read. Offsets count from the first
// byte the agent saw. Sequence numbers wrap at 2^32; a segment is placed relative to the next
// expected byte (within ±2 GiB), so streams longer than 4 GiB keep growing offsets. Out-of-order
// packets wait in a bounded window; when it overflows or waits too long, the gap is skipped and the
// parser sees an offset jump (bytes it will never get). A framed HTTP/2 record becomes one segment
// per copied extent (its bytes, then the skipped ones up to the next extent as a hole), preceded by
// a segment without bytes when it starts with skipped ones; parsers cross both by frame lengths.
import type { CapturedSegment } from '../protocols/segment.js';
import type { PayloadEvent } from '../ebpf/index.js';

const SEQ_SPACE = 2 ** 32;

export interface ReassemblerOptions {
  /** Out-of-order segments held while waiting for a gap to fill. Default 64. */
  maxPending?: number;
  /** How long (kernel ns between packets) a gap may stay open before it is skipped. Default 200 ms. */
  maxGapWaitNs?: bigint;
}

export interface ReassemblerStats {
  /** Retransmitted or duplicated segments dropped (cgroup_skb sees both the original and the retransmit). */
  duplicates: number;
  /** Segments that arrived ahead of a gap and waited. */
  outOfOrder: number;
  /** Gaps given up on (bytes never seen). */
  gapsSkipped: number;
  /** Segments trimmed because they overlapped bytes already delivered. */
  overlapsTrimmed: number;
}

type SeqSegment = Pick<PayloadEvent, 'seq' | 'length' | 'head' | 'tail' | 'tsNs' | 'extents'>;

interface Pending {
  offset: number;
  seg: SeqSegment;
}

export class StreamReassembler {
  private baseSeq = -1;
  /** Offset of the next byte expected. */
  private next = 0;
  private pending: Pending[] = []; // sorted by offset
  private gapSinceNs = 0n;
  private readonly maxPending: number;
  private readonly maxGapWaitNs: bigint;
  readonly stats: ReassemblerStats = { duplicates: 0, outOfOrder: 0, gapsSkipped: 0, overlapsTrimmed: 0 };

  constructor(opts: ReassemblerOptions = {}) {
    this.maxPending = opts.maxPending ?? 64;
    this.maxGapWaitNs = opts.maxGapWaitNs ?? 200_000_000n;
  }

  /** Offset of the next byte the stream expects (= bytes delivered, counting skipped gaps). */
  get nextOffset(): number {
    return this.next;
  }

  /** Adds one packet's payload record; returns the segments that are now in order (maybe none). */
  push(seg: SeqSegment): CapturedSegment[] {
    const extents = seg.extents;
    if (!extents) return this.pushSegment(seg);
    const empty = seg.head.subarray(0, 0);
    const piece = (from: number, to: number, head: Uint8Array) =>
      this.pushSegment({ seq: (seg.seq + from) % SEQ_SPACE, length: to - from, head, tail: empty, tsNs: seg.tsNs });
    const first = extents[0]?.offset ?? seg.length;
    const out = first > 0 ? piece(0, first, empty) : [];
    let copied = 0;
    extents.forEach((x, i) => {
      out.push(...piece(x.offset, extents[i + 1]?.offset ?? seg.length, seg.head.subarray(copied, copied + x.length)));
      copied += x.length;
    });
    return out;
  }

  private pushSegment(seg: SeqSegment): CapturedSegment[] {
    if (seg.length <= 0) return [];
    if (this.baseSeq < 0) this.baseSeq = seg.seq;
    const expectedSeq = (this.baseSeq + this.next) % SEQ_SPACE;
    const offset = this.next + ((seg.seq - expectedSeq) | 0); // signed 32-bit distance: handles wraparound
    const out: CapturedSegment[] = [];
    if (offset + seg.length <= this.next) {
      this.stats.duplicates++;
      return out;
    }
    if (offset > this.next) {
      this.hold(offset, seg, out);
      return out;
    }
    this.deliver(offset, seg, out);
    this.drainPending(out);
    return out;
  }

  /** Delivers everything held, skipping the gaps (call when the connection closes or idles). */
  flush(): CapturedSegment[] {
    const out: CapturedSegment[] = [];
    while (this.pending.length) this.skipGap(out);
    return out;
  }

  private hold(offset: number, seg: SeqSegment, out: CapturedSegment[]): void {
    if (this.pending.some((p) => p.offset === offset)) {
      this.stats.duplicates++;
      return;
    }
    if (this.pending.length === 0) this.gapSinceNs = seg.tsNs;
    this.stats.outOfOrder++;
    const i = this.pending.findIndex((p) => p.offset > offset);
    this.pending.splice(i < 0 ? this.pending.length : i, 0, { offset, seg });
    if (this.pending.length > this.maxPending || seg.tsNs - this.gapSinceNs > this.maxGapWaitNs) this.skipGap(out);
  }

  /** Gives up on the bytes before the first held segment. */
  private skipGap(out: CapturedSegment[]): void {
    const first = this.pending.shift();
    if (!first) return;
    this.stats.gapsSkipped++;
    this.next = first.offset;
    this.deliver(first.offset, first.seg, out);
    this.drainPending(out);
  }

  private drainPending(out: CapturedSegment[]): void {
    while (this.pending.length && this.pending[0]!.offset <= this.next) {
      const p = this.pending.shift()!;
      if (p.offset + p.seg.length <= this.next) this.stats.duplicates++;
      else this.deliver(p.offset, p.seg, out);
    }
    if (this.pending.length) this.gapSinceNs = this.pending[0]!.seg.tsNs;
  }

  /** Emits seg (starting at or before `next`), trimming bytes already delivered. */
  private deliver(offset: number, seg: SeqSegment, out: CapturedSegment[]): void {
    const trim = this.next - offset;
    let head = seg.head;
    let tail = seg.tail;
    const length = seg.length - trim;
    if (trim > 0) {
      this.stats.overlapsTrimmed++;
      head = head.subarray(Math.min(trim, head.length));
      // The tail is the payload's last bytes: keep the part that is after the trimmed prefix.
      const tailStart = seg.length - tail.length;
      if (tailStart < trim) tail = tail.subarray(trim - tailStart);
      if (head.length === 0 && tail.length >= length) { head = tail.subarray(tail.length - length); tail = tail.subarray(0, 0); }
    }
    out.push({ offset: this.next, length, head, tail, timestampNs: seg.tsNs });
    this.next += length;
  }
}

/** The two directions of one connection. */
interface StreamPair {
  ingress?: StreamReassembler;
  egress?: StreamReassembler;
}

/**
 * Reassemblers per connection (cookie) and direction, bounded in number. Keyed by the cookie itself
 * with both directions in one entry: this runs once per captured packet, and building a string key
 * per packet was a visible share of the agent's CPU.
 */
export class ConnectionStreams {
  private readonly byCookie = new Map<bigint, StreamPair>();
  private count = 0;
  private readonly maxStreams: number;

  constructor(private readonly opts: ReassemblerOptions & { maxStreams?: number } = {}) {
    this.maxStreams = opts.maxStreams ?? 65536;
  }

  /** Feeds one payload record; returns the segments now in order for its connection and direction. */
  push(ev: PayloadEvent): CapturedSegment[] {
    let pair = this.byCookie.get(ev.cookie);
    let s = pair?.[ev.direction];
    if (!s) {
      if (this.count >= this.maxStreams) this.evictOldest(ev.cookie);
      if (!pair) {
        pair = {};
        this.byCookie.set(ev.cookie, pair);
      }
      s = new StreamReassembler(this.opts);
      pair[ev.direction] = s;
      this.count++;
    }
    return s.push(ev);
  }

  get(cookie: bigint, direction: PayloadEvent['direction']): StreamReassembler | undefined {
    return this.byCookie.get(cookie)?.[direction];
  }

  /** Forgets a closed connection; returns what was still held, per direction. */
  close(cookie: bigint): { ingress: CapturedSegment[]; egress: CapturedSegment[] } {
    const pair = this.byCookie.get(cookie);
    if (!pair) return { ingress: [], egress: [] };
    this.byCookie.delete(cookie);
    this.count -= (pair.ingress ? 1 : 0) + (pair.egress ? 1 : 0);
    return { ingress: pair.ingress?.flush() ?? [], egress: pair.egress?.flush() ?? [] };
  }

  /** Drops the oldest connection's streams (insertion order), never those of `keep`. */
  private evictOldest(keep: bigint): void {
    for (const [cookie, pair] of this.byCookie) {
      if (cookie === keep) continue;
      this.byCookie.delete(cookie);
      this.count -= (pair.ingress ? 1 : 0) + (pair.egress ? 1 : 0);
      return;
    }
  }

  /** Streams (connection directions) held. */
  get size(): number {
    return this.count;
  }
}
