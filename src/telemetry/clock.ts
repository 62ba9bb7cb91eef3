// Capture timestamps are kernel CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns). On Linux,
// process.hrtime.bigint() reads the same clock (libuv's uv_hrtime), so one measured offset turns
// any captured timestamp into Unix-epoch nanoseconds with two bigint additions.

export interface MonotonicClockOptions {
  /** Re-measure the offset when it is older than this (follows NTP slews and wall-clock steps). Default 60 000 ms. */
  recalibrateAfterMs?: number;
}

const NS_PER_MS = 1_000_000n;
/** Longest we spin waiting for Date.now() to tick (it ticks every millisecond). */
const MAX_SPIN_NS = 5_000_000n;

export class MonotonicClock {
  private offsetNs = 0n;
  private calibratedAtMonoNs = 0n;
  private readonly recalibrateAfterNs: bigint;

  constructor(options: MonotonicClockOptions = {}) {
    this.recalibrateAfterNs = BigInt(options.recalibrateAfterMs ?? 60_000) * NS_PER_MS;
    this.calibrate();
  }

  /**
   * Measures the offset between the wall clock and CLOCK_MONOTONIC. Date.now() has millisecond
   * resolution, so we wait for its next tick and read the monotonic clock right around that edge:
   * the uncertainty is the time between two reads (microseconds), not a millisecond.
   */
  calibrate(): void {
    const spinStart = process.hrtime.bigint();
    let before = process.hrtime.bigint();
    let wallMs = Date.now();
    const startMs = wallMs;
    let after = before;
    while (wallMs === startMs) {
      before = process.hrtime.bigint();
      wallMs = Date.now();
      after = process.hrtime.bigint();
      if (after - spinStart > MAX_SPIN_NS) break; // a frozen wall clock must not hang us
    }
    const monoAtEdge = (before + after) / 2n;
    this.offsetNs = BigInt(wallMs) * NS_PER_MS - monoAtEdge;
    this.calibratedAtMonoNs = after;
  }

  /** Converts a CLOCK_MONOTONIC ns timestamp into ns since the Unix epoch. */
  toUnixNs(monotonicNs: bigint): bigint {
    return monotonicNs + this.offsetNs;
  }

  /** Current time in Unix ns, on the same scale as toUnixNs. */
  nowUnixNs(): bigint {
    return this.toUnixNs(process.hrtime.bigint());
  }

  /** Re-measures the offset if the last measurement is older than `recalibrateAfterMs`. Cheap to call often. */
  maybeRecalibrate(): void {
    if (process.hrtime.bigint() - this.calibratedAtMonoNs > this.recalibrateAfterNs) this.calibrate();
  }

  /** The current offset (Unix ns − monotonic ns), for diagnostics. */
  get offset(): bigint {
    return this.offsetNs;
  }
}
