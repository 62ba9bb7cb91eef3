// JSON text of telemetry values for assertions on what they contain (times are bigint).

/** JSON.stringify with bigints written as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
}
