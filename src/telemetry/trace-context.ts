// W3C Trace Context level 1 (https://www.w3.org/TR/trace-context/): parsing of `traceparent` and
// `tracestate` as seen in captured request headers, and fast random trace/span ids.
import { randomFillSync } from 'node:crypto';
import type { HeaderList } from '../protocols/exchange.js';

/** The sampled bit of the trace flags. */
export const TRACE_FLAG_SAMPLED = 0x01;

export interface TraceParent {
  /** Two lowercase hex digits; '00' is the only version defined today. */
  version: string;
  /** 32 lowercase hex digits, never all zero. */
  traceId: string;
  /** The caller's span id (the header's `parent-id`): 16 lowercase hex digits, never all zero. */
  spanId: string;
  /** Trace flags byte (bit 0 = sampled). */
  flags: number;
  sampled: boolean;
}

export interface TraceContext extends TraceParent {
  /** The `tracestate` header as received (several headers joined with ','), or '' when absent or invalid. */
  traceState: string;
}

const HEX = /^[0-9a-f]+$/;
const ALL_ZERO = /^0+$/;
const V00_LENGTH = 55;

function isHexField(s: string, length: number): boolean {
  return s.length === length && HEX.test(s);
}

/**
 * Parses one `traceparent` value. Returns undefined when the value is invalid, in which case the
 * spec says to ignore it (and `tracestate`) and start a new trace.
 * Version 00 must be exactly `00-<32 hex>-<16 hex>-<2 hex>`. A higher version (not `ff`) may be
 * longer: only the first four fields are read, and what follows must start with '-'.
 */
export function parseTraceParent(value: string): TraceParent | undefined {
  const v = value.trim();
  if (v.length < V00_LENGTH) return undefined;
  const version = v.slice(0, 2);
  if (!isHexField(version, 2) || version === 'ff') return undefined;
  if (version === '00' ? v.length !== V00_LENGTH : v.length > V00_LENGTH && v[V00_LENGTH] !== '-') return undefined;
  if (v[2] !== '-' || v[35] !== '-' || v[52] !== '-') return undefined;
  const traceId = v.slice(3, 35);
  const spanId = v.slice(36, 52);
  const flagsHex = v.slice(53, 55);
  if (!isHexField(traceId, 32) || ALL_ZERO.test(traceId)) return undefined;
  if (!isHexField(spanId, 16) || ALL_ZERO.test(spanId)) return undefined;
  if (!isHexField(flagsHex, 2)) return undefined;
  // Future versions: only the sampled bit is defined for us to interpret; keep the byte as sent for 00.
  const raw = Number.parseInt(flagsHex, 16);
  const flags = version === '00' ? raw : raw & TRACE_FLAG_SAMPLED;
  return { version, traceId, spanId, flags, sampled: (flags & TRACE_FLAG_SAMPLED) !== 0 };
}

/** The spec's recommended propagation limits: at most 32 list members and 512 characters. */
export const TRACESTATE_MAX_MEMBERS = 32;
export const TRACESTATE_MAX_LENGTH = 512;
// key = simple-key / tenant-id "@" system-id; value = printable ASCII except ',' and '=', no trailing space.
const TRACESTATE_KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
const TRACESTATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Validates a `tracestate` value and returns it unchanged (trimmed), or '' when it is malformed or
 * beyond the limits above: a vendor that cannot keep the whole header must not forward a mangled one.
 */
export function parseTraceState(value: string): string {
  const v = value.trim();
  if (v.length === 0 || v.length > TRACESTATE_MAX_LENGTH) return '';
  let members = 0;
  for (const rawMember of v.split(',')) {
    const member = rawMember.trim();
    if (member.length === 0) continue; // empty list members are allowed
    const eq = member.indexOf('=');
    if (eq <= 0) return '';
    if (!TRACESTATE_KEY.test(member.slice(0, eq)) || !TRACESTATE_VALUE.test(member.slice(eq + 1))) return '';
    if (++members > TRACESTATE_MAX_MEMBERS) return '';
  }
  return v;
}

/**
 * Extracts the trace context from captured request headers (lowercased names). Several
 * `traceparent` headers make the context invalid (the spec leaves no way to choose one).
 * Returns undefined when there is no valid context.
 */
export function extractTraceContext(headers: HeaderList): TraceContext | undefined {
  let traceparent: string | undefined;
  let tracestate: string | undefined;
  for (let i = 0; i < headers.length; i++) {
    const name = headers[i]![0];
    const value = headers[i]![1];
    if (name === 'traceparent') {
      if (traceparent !== undefined) return undefined;
      traceparent = value;
    } else if (name === 'tracestate') {
      tracestate = tracestate === undefined ? value : `${tracestate},${value}`;
    }
  }
  if (traceparent === undefined) return undefined;
  const parent = parseTraceParent(traceparent);
  if (!parent) return undefined;
  return { ...parent, traceState: tracestate === undefined ? '' : parseTraceState(tracestate) };
}

/**
 * Random trace and span ids from a pooled buffer refilled with one `randomFillSync` call every
 * few hundred ids, instead of one syscall per id.
 */
export class IdGenerator {
  private readonly pool: Buffer;
  private offset: number;

  constructor(poolSize = 4096) {
    this.pool = Buffer.allocUnsafe(poolSize);
    this.offset = poolSize;
  }

  traceId(): string { return this.take(16); }
  spanId(): string { return this.take(8); }

  private take(bytes: number): string {
    for (;;) {
      if (this.offset + bytes > this.pool.length) {
        randomFillSync(this.pool);
        this.offset = 0;
      }
      const start = this.offset;
      this.offset += bytes;
      // An all-zero id is invalid; with 64+ random bits this retries essentially never.
      for (let i = start; i < start + bytes; i++) {
        if (this.pool[i] !== 0) return this.pool.toString('hex', start, start + bytes);
      }
    }
  }
}
