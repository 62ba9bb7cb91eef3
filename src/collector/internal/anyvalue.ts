// The string form of an attribute value, as the Collector's pcommon.Value.AsString() writes it:
// strings as-is, numbers and booleans in decimal, bytes as base64, arrays and maps as JSON.
// Used wherever a value becomes a label or a map key (Prometheus labels, spanmetrics dimensions).
import type { AnyValue } from '../pdata/model.js';

function toJson(v: AnyValue): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(toJson);
  return Object.fromEntries(Object.entries(v.kvlist).map(([k, x]) => [k, toJson(x)]));
}

export function anyValueToString(v: AnyValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return JSON.stringify(toJson(v));
}
