import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MonotonicClock } from '../../src/telemetry/clock.js';

describe('MonotonicClock', () => {
  it('converts a fresh CLOCK_MONOTONIC reading to within a few ms of Date.now()', () => {
    const clock = new MonotonicClock();
    for (let i = 0; i < 5; i++) {
      const before = BigInt(Date.now()) * 1_000_000n;
      const unix = clock.toUnixNs(process.hrtime.bigint());
      const after = BigInt(Date.now() + 1) * 1_000_000n; // Date.now() truncates to the ms
      assert.ok(unix >= before - 2_000_000n && unix <= after + 2_000_000n, `converted ${unix} not within [${before}, ${after}] ± 2 ms`);
    }
  });

  it('measures the same offset twice within a millisecond and recalibrates only when due', () => {
    const clock = new MonotonicClock({ recalibrateAfterMs: 60_000 });
    const first = clock.offset;
    clock.calibrate();
    const drift = clock.offset > first ? clock.offset - first : first - clock.offset;
    assert.ok(drift < 1_000_000n, `two calibrations differ by ${drift} ns`);
    const before = clock.offset;
    clock.maybeRecalibrate();
    assert.equal(clock.offset, before, 'not due yet: the offset is untouched');
  });

  it('keeps durations exact (a constant offset)', () => {
    const clock = new MonotonicClock();
    const t = process.hrtime.bigint();
    assert.equal(clock.toUnixNs(t + 30_000_000n) - clock.toUnixNs(t), 30_000_000n);
  });
});
