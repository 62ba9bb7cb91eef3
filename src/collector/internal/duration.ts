// The Collector's duration syntax (Go's time.ParseDuration): "200ms", "5s", "1m30s", "1.5h",
// "0"; units ns, us (µs), ms, s, m, h. A bare number is taken as nanoseconds, as the Collector's
// config decoder does for integer durations.

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration to milliseconds. Throws an Error naming the input and the accepted syntax. */
export function parseDuration(value: unknown, what = 'duration'): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value / 1e6;
  if (typeof value !== 'string') throw new Error(`${what}: expected a duration like "200ms", "5s" or "1m30s", got ${JSON.stringify(value)}`);
  const s = value.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while (pos < s.length && (m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = re.lastIndex;
  }
  if (s.length === 0 || pos !== s.length) {
    throw new Error(`${what}: invalid duration "${value}" (use a number with a unit: ns, us, ms, s, m, h, e.g. "200ms", "5s", "1m30s")`);
  }
  return total;
}
