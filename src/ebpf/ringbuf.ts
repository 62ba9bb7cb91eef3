// Batch reader of a BPF ring buffer through the native consumer: one FFI call copies many records
// into one reused Buffer. The caller drains on a timer (never per event, never a tight loop).
import { BpfError, errnoName } from './errors.js';
import { getNativeRingbuf, type NativeRingbuf } from './libbpf.js';

/** Upper bound of one framed record (payload header + 1024-byte head + framing). */
const MAX_RECORD_BYTES = 2048;

export class RingBufferReader {
  private handle: number;
  private readonly native: NativeRingbuf;
  private readonly out: Buffer;

  /** Maps ring-buffer map `mapFd` whose data area is `size` bytes; `batchBytes` bounds one drain call. */
  constructor(mapFd: number, size: number, batchBytes = 1 << 20) {
    this.native = getNativeRingbuf();
    const h = this.native.sonde_rb_open([mapFd, size]) as number;
    if (h < 0) {
      throw new BpfError(`mapping the ring buffer (map fd ${mapFd}, ${size} bytes) failed: ${errnoName(h)}`,
        'check that the map is a BPF_MAP_TYPE_RINGBUF and that memory is available (ulimit -l, cgroup memory limit)', { errno: -h });
    }
    this.handle = h;
    this.out = Buffer.alloc(batchBytes);
  }

  /**
   * Copies pending records into the reused buffer and calls `onBatch(buf, used)` for each filled
   * batch (records are `{u32 len, u32 0, data padded to 8}`). `buf` is only valid during the call.
   * Returns the number of bytes delivered. At most `maxBatches` calls, so a flood cannot starve the
   * event loop; what is left stays in the ring for the next tick.
   */
  drain(onBatch: (buf: Buffer, used: number) => void, maxBatches = 16): number {
    if (!this.handle) return 0;
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const used = this.native.sonde_rb_drain([this.handle, this.out, this.out.length]) as number;
      if (used <= 0) break;
      total += used;
      onBatch(this.out, used);
      // The consumer stops early only when the ring is empty or the next record is still being
      // written: a batch with room left for the largest record means we are caught up.
      if (used < this.out.length - MAX_RECORD_BYTES) break;
    }
    return total;
  }

  /** Bytes committed by the kernel and not yet drained. */
  pending(): number {
    return this.handle ? (this.native.sonde_rb_pending([this.handle]) as number) : 0;
  }

  close(): void {
    if (!this.handle) return;
    this.native.sonde_rb_close([this.handle]);
    this.handle = 0;
  }
}
