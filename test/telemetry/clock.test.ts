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
    // A VM's wall clock can be stepped by its host between two measurements: of three pairs, the
    // closest must agree within a millisecond.
    const drifts: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      const first = clock.offset;
      clock.calibrate();
      drifts.push(clock.offset > first ? clock.offset - first : first - clock.offset);
    }
    const drift = drifts.reduce((a, b) => (a < b ? a : b));
    assert.ok(drift < 1_000_000n, `pairs of calibrations differ by ${drifts.join(', ')} ns`);
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
