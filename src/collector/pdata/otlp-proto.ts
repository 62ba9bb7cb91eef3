// The protobuf hot path: ExportXxxServiceRequest bytes straight to and from the model with
// protobufjs' Reader/Writer (what its static code generator emits), without the intermediate
// message objects, Long instances and hex conversions a reflection decode costs. Field numbers
// are those of the opentelemetry-proto v1 files in ./proto (which the reflection codec in
// otlp.ts loads, and which the tests compare against an independent decoder).
import protobuf from 'protobufjs';
import type {
  AnyValue, Attributes, Exemplar, ExponentialHistogramBuckets, InstrumentationScope, LogRecord, Metric,
  MetricData, NumberDataPoint, Resource, Signal, SignalData, Span,
} from './model.js';
import { ProtoWriter } from './proto-writer.js';
import { SIGNAL_LAYOUT } from './util.js';

type Reader = protobuf.Reader & { buf: Buffer };
type Writer = ProtoWriter;

const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_I32 = 5;
const TWO32 = 4294967296;

// ── reading ─────────────────────────────────────────────────────────────────────────────────────
function fixed64Big(r: Reader): bigint {
  const b = r.buf;
  const p = r.pos;
  if (p + 8 > r.len) throw new RangeError(`index out of range: ${p} + 8 > ${r.len}`);
  const lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  const hi = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0;
  r.pos = p + 8;
  return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/** fixed64/sfixed64 as a JS number (counts, int values); exact below 2^53. */
function fixed64Num(r: Reader, signed: boolean): number {
  const b = r.buf;
  const p = r.pos;
  if (p + 8 > r.len) throw new RangeError(`index out of range: ${p} + 8 > ${r.len}`);
  const lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  const hi = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
  r.pos = p + 8;
  return (signed ? hi : hi >>> 0) * TWO32 + lo;
}

/** int64 varint → number when safe, bigint otherwise. */
function int64Value(r: Reader): number | bigint {
  const l = r.int64() as unknown as { low: number; high: number };
  const n = l.high * TWO32 + (l.low >>> 0);
  if (Number.isSafeInteger(n)) return n;
  return BigInt.asIntN(64, (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0));
}

function uint64Num(r: Reader): number {
  const l = r.uint64() as unknown as { low: number; high: number };
  return (l.high >>> 0) * TWO32 + (l.low >>> 0);
}

function hexId(r: Reader, len: number, what: string): string {
  const n = r.uint32();
  const p = r.pos;
  if (p + n > r.len) throw new RangeError(`index out of range: ${p} + ${n} > ${r.len}`);
  r.pos = p + n;
  if (n === 0) return '';
  if (n !== len) throw new RangeError(`${what}: expected ${len} bytes, got ${n}`);
  return r.buf.toString('hex', p, p + n);
}

/** Runs `field` for every field of the length-delimited message at the reader's position. */
function message(r: Reader, field: (tag: number, wt: number) => boolean): void {
  readUntil(r, messageEnd(r), field);
}

function readUntil(r: Reader, end: number, field: (tag: number, wt: number) => boolean): void {
  while (r.pos < end) {
    const key = r.uint32();
    const tag = key >>> 3;
    const wt = key & 7;
    if (!field(tag, wt)) r.skipType(wt);
  }
  if (r.pos !== end) throw new RangeError(`message overran its length (${r.pos} > ${end})`);
}

/** Repeated numeric field: packed (LEN) or one value per occurrence. */
function repeated(r: Reader, wt: number, out: number[], one: () => number): void {
  if (wt === WT_LEN) {
    const end = r.uint32() + r.pos;
    while (r.pos < end) out.push(one());
  } else {
    out.push(one());
  }
}

/** Reads a length prefix; returns where the message ends. */
function messageEnd(r: Reader): number {
  const end = r.uint32() + r.pos;
  if (end > r.len) throw new RangeError(`index out of range: message ends at ${end} > ${r.len}`);
  return end;
}

/**
 * Deepest nesting of array and kvlist values accepted (the top value is level 1). Real attributes
 * nest a few levels; a request nesting thousands would overflow the stack of whatever walks it
 * later (an exporter's encoder, JSON.stringify), so it is refused here, with the reason.
 */
export const MAX_VALUE_DEPTH = 100;

function tooDeep(): RangeError {
  return new RangeError(`an attribute value nests arrays or kvlists deeper than ${MAX_VALUE_DEPTH} levels`);
}

// KeyValue and AnyValue are most of every request: read them without callbacks.
function anyValue(r: Reader, depth: number): AnyValue {
  if (depth > MAX_VALUE_DEPTH) throw tooDeep();
  const end = messageEnd(r);
  let v: AnyValue = null;
  while (r.pos < end) {
    const k = r.uint32();
    switch (k >>> 3) {
      case 1: v = r.string(); break;
      case 2: v = r.bool(); break;
      case 3: v = int64Value(r); break;
      case 4: v = r.double(); break;
      case 5: {
        const arr: AnyValue[] = [];
        const e = messageEnd(r);
        while (r.pos < e) {
          const t = r.uint32();
          if (t >>> 3 === 1) arr.push(anyValue(r, depth + 1)); else r.skipType(t & 7);
        }
        v = arr;
        break;
      }
      case 6: {
        const kv: Attributes = {};
        const e = messageEnd(r);
        while (r.pos < e) {
          const t = r.uint32();
          if (t >>> 3 === 1) keyValue(r, kv, depth + 1); else r.skipType(t & 7);
        }
        v = { kvlist: kv };
        break;
      }
      case 7: v = new Uint8Array(r.bytes()); break;
      default: r.skipType(k & 7);
    }
  }
  return v;
}

function keyValue(r: Reader, into: Attributes, depth = 1): void {
  const end = messageEnd(r);
  let key = '';
  let value: AnyValue = null;
  while (r.pos < end) {
    const k = r.uint32();
    const tag = k >>> 3;
    if (tag === 1) key = r.string();
    else if (tag === 2) value = anyValue(r, depth);
    else r.skipType(k & 7);
  }
  into[key] = value;
}

function resource(r: Reader): Resource {
  const res: Resource = { attributes: {}, droppedAttributesCount: 0 };
  message(r, (tag) => {
    if (tag === 1) { keyValue(r, res.attributes); return true; }
    if (tag === 2) { res.droppedAttributesCount = r.uint32(); return true; }
    return false;
  });
  return res;
}

function scope(r: Reader): InstrumentationScope {
  const s: InstrumentationScope = { name: '', version: '', attributes: {}, droppedAttributesCount: 0 };
  message(r, (tag) => {
    switch (tag) {
      case 1: s.name = r.string(); return true;
      case 2: s.version = r.string(); return true;
      case 3: keyValue(r, s.attributes); return true;
      case 4: s.droppedAttributesCount = r.uint32(); return true;
      default: return false;
    }
  });
  return s;
}

function span(r: Reader): Span {
  const s: Span = {
    traceId: '', spanId: '', traceState: '', parentSpanId: '', flags: 0, name: '', kind: 0, startTimeUnixNano: 0n, endTimeUnixNano: 0n,
    attributes: {}, droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0, status: { code: 0, message: '' },
  };
  message(r, (tag) => {
    switch (tag) {
      case 1: s.traceId = hexId(r, 16, 'span.traceId'); return true;
      case 2: s.spanId = hexId(r, 8, 'span.spanId'); return true;
      case 3: s.traceState = r.string(); return true;
      case 4: s.parentSpanId = hexId(r, 8, 'span.parentSpanId'); return true;
      case 16: s.flags = r.fixed32(); return true;
      case 5: s.name = r.string(); return true;
      case 6: s.kind = r.int32(); return true;
      case 7: s.startTimeUnixNano = fixed64Big(r); return true;
      case 8: s.endTimeUnixNano = fixed64Big(r); return true;
      case 9: keyValue(r, s.attributes); return true;
      case 10: s.droppedAttributesCount = r.uint32(); return true;
      case 11: {
        const e = { timeUnixNano: 0n, name: '', attributes: {} as Attributes, droppedAttributesCount: 0 };
        message(r, (t) => {
          switch (t) {
            case 1: e.timeUnixNano = fixed64Big(r); return true;
            case 2: e.name = r.string(); return true;
            case 3: keyValue(r, e.attributes); return true;
            case 4: e.droppedAttributesCount = r.uint32(); return true;
            default: return false;
          }
        });
        s.events.push(e);
        return true;
      }
      case 12: s.droppedEventsCount = r.uint32(); return true;
      case 13: {
        const l = { traceId: '', spanId: '', traceState: '', attributes: {} as Attributes, droppedAttributesCount: 0, flags: 0 };
        message(r, (t) => {
          switch (t) {
            case 1: l.traceId = hexId(r, 16, 'link.traceId'); return true;
            case 2: l.spanId = hexId(r, 8, 'link.spanId'); return true;
            case 3: l.traceState = r.string(); return true;
            case 4: keyValue(r, l.attributes); return true;
            case 5: l.droppedAttributesCount = r.uint32(); return true;
            case 6: l.flags = r.fixed32(); return true;
            default: return false;
          }
        });
        s.links.push(l);
        return true;
      }
      case 14: s.droppedLinksCount = r.uint32(); return true;
      case 15:
        message(r, (t) => {
          if (t === 2) { s.status.message = r.string(); return true; }
          if (t === 3) { s.status.code = r.int32(); return true; }
          return false;
        });
        return true;
      default: return false;
    }
  });
  return s;
}

function exemplar(r: Reader): Exemplar {
  const e: Exemplar = { filteredAttributes: {}, timeUnixNano: 0n, value: 0, valueType: 'double', spanId: '', traceId: '' };
  message(r, (tag) => {
    switch (tag) {
      case 7: keyValue(r, e.filteredAttributes); return true;
      case 2: e.timeUnixNano = fixed64Big(r); return true;
      case 3: e.value = r.double(); e.valueType = 'double'; return true;
      case 6: e.value = fixed64Num(r, true); e.valueType = 'int'; return true;
      case 4: e.spanId = hexId(r, 8, 'exemplar.spanId'); return true;
      case 5: e.traceId = hexId(r, 16, 'exemplar.traceId'); return true;
      default: return false;
    }
  });
  return e;
}

/** Fields common to every data point; `attrTag` differs by point type. */
function pointBase(r: Reader, tag: number, attrTag: number, p: { attributes: Attributes; startTimeUnixNano: bigint; timeUnixNano: bigint }): boolean {
  if (tag === attrTag) { keyValue(r, p.attributes); return true; }
  if (tag === 2) { p.startTimeUnixNano = fixed64Big(r); return true; }
  if (tag === 3) { p.timeUnixNano = fixed64Big(r); return true; }
  return false;
}

function numberPoint(r: Reader): NumberDataPoint {
  const p: NumberDataPoint = { attributes: {}, startTimeUnixNano: 0n, timeUnixNano: 0n, flags: 0, value: 0, valueType: 'double', exemplars: [] };
  message(r, (tag) => {
    switch (tag) {
      case 4: p.value = r.double(); p.valueType = 'double'; return true;
      case 6: p.value = fixed64Num(r, true); p.valueType = 'int'; return true;
      case 5: p.exemplars.push(exemplar(r)); return true;
      case 8: p.flags = r.uint32(); return true;
      default: return pointBase(r, tag, 7, p);
    }
  });
  return p;
}

function buckets(r: Reader): ExponentialHistogramBuckets {
  const b: ExponentialHistogramBuckets = { offset: 0, bucketCounts: [] };
  message(r, (tag, wt) => {
    if (tag === 1) { b.offset = r.sint32(); return true; }
    if (tag === 2) { repeated(r, wt, b.bucketCounts, () => uint64Num(r)); return true; }
    return false;
  });
  return b;
}

function metricData(r: Reader, tag: number): MetricData | undefined {
  switch (tag) {
    case 5: {
      const d: MetricData = { type: 'gauge', dataPoints: [] };
      message(r, (t) => (t === 1 ? (d.dataPoints.push(numberPoint(r)), true) : false));
      return d;
    }
    case 7: {
      const d: Extract<MetricData, { type: 'sum' }> = { type: 'sum', dataPoints: [], aggregationTemporality: 0, isMonotonic: false };
      message(r, (t) => {
        if (t === 1) { d.dataPoints.push(numberPoint(r)); return true; }
        if (t === 2) { d.aggregationTemporality = r.int32(); return true; }
        if (t === 3) { d.isMonotonic = r.bool(); return true; }
        return false;
      });
      return d;
    }
    case 9: {
      const d: Extract<MetricData, { type: 'histogram' }> = { type: 'histogram', dataPoints: [], aggregationTemporality: 0 };
      message(r, (t) => {
        if (t === 2) { d.aggregationTemporality = r.int32(); return true; }
        if (t !== 1) return false;
        const p: (typeof d.dataPoints)[number] = { attributes: {}, startTimeUnixNano: 0n, timeUnixNano: 0n, flags: 0, count: 0, sum: undefined, bucketCounts: [], explicitBounds: [], exemplars: [], min: undefined, max: undefined };
        message(r, (f, wt) => {
          switch (f) {
            case 4: p.count = fixed64Num(r, false); return true;
            case 5: p.sum = r.double(); return true;
            case 6: repeated(r, wt, p.bucketCounts, () => fixed64Num(r, false)); return true;
            case 7: repeated(r, wt, p.explicitBounds, () => r.double()); return true;
            case 8: p.exemplars.push(exemplar(r)); return true;
            case 10: p.flags = r.uint32(); return true;
            case 11: p.min = r.double(); return true;
            case 12: p.max = r.double(); return true;
            default: return pointBase(r, f, 9, p);
          }
        });
        d.dataPoints.push(p);
        return true;
      });
      return d;
    }
    case 10: {
      const d: Extract<MetricData, { type: 'exponentialHistogram' }> = { type: 'exponentialHistogram', dataPoints: [], aggregationTemporality: 0 };
      message(r, (t) => {
        if (t === 2) { d.aggregationTemporality = r.int32(); return true; }
        if (t !== 1) return false;
        const p: (typeof d.dataPoints)[number] = {
          attributes: {}, startTimeUnixNano: 0n, timeUnixNano: 0n, flags: 0, count: 0, sum: undefined, scale: 0, zeroCount: 0,
          positive: { offset: 0, bucketCounts: [] }, negative: { offset: 0, bucketCounts: [] }, exemplars: [], min: undefined, max: undefined, zeroThreshold: 0,
        };
        message(r, (f) => {
          switch (f) {
            case 4: p.count = fixed64Num(r, false); return true;
            case 5: p.sum = r.double(); return true;
            case 6: p.scale = r.sint32(); return true;
            case 7: p.zeroCount = fixed64Num(r, false); return true;
            case 8: p.positive = buckets(r); return true;
            case 9: p.negative = buckets(r); return true;
            case 10: p.flags = r.uint32(); return true;
            case 11: p.exemplars.push(exemplar(r)); return true;
            case 12: p.min = r.double(); return true;
            case 13: p.max = r.double(); return true;
            case 14: p.zeroThreshold = r.double(); return true;
            default: return pointBase(r, f, 1, p);
          }
        });
        d.dataPoints.push(p);
        return true;
      });
      return d;
    }
    case 11: {
      const d: Extract<MetricData, { type: 'summary' }> = { type: 'summary', dataPoints: [] };
      message(r, (t) => {
        if (t !== 1) return false;
        const p: (typeof d.dataPoints)[number] = { attributes: {}, startTimeUnixNano: 0n, timeUnixNano: 0n, flags: 0, count: 0, sum: 0, quantileValues: [] };
        message(r, (f) => {
          switch (f) {
            case 4: p.count = fixed64Num(r, false); return true;
            case 5: p.sum = r.double(); return true;
            case 6: {
              const q = { quantile: 0, value: 0 };
              message(r, (g) => {
                if (g === 1) { q.quantile = r.double(); return true; }
                if (g === 2) { q.value = r.double(); return true; }
                return false;
              });
              p.quantileValues.push(q);
              return true;
            }
            case 8: p.flags = r.uint32(); return true;
            default: return pointBase(r, f, 7, p);
          }
        });
        d.dataPoints.push(p);
        return true;
      });
      return d;
    }
    default: return undefined;
  }
}

function metric(r: Reader): Metric {
  const m = { name: '', description: '', unit: '', metadata: {} as Attributes, data: undefined as MetricData | undefined };
  message(r, (tag) => {
    switch (tag) {
      case 1: m.name = r.string(); return true;
      case 2: m.description = r.string(); return true;
      case 3: m.unit = r.string(); return true;
      case 12: keyValue(r, m.metadata); return true;
      default: {
        const d = metricData(r, tag);
        if (!d) return false;
        m.data = d;
        return true;
      }
    }
  });
  if (!m.data) throw new RangeError(`metric "${m.name}" has no data (one of gauge, sum, histogram, exponentialHistogram, summary is required)`);
  return m as Metric;
}

function logRecord(r: Reader): LogRecord {
  const l: LogRecord = {
    timeUnixNano: 0n, observedTimeUnixNano: 0n, severityNumber: 0, severityText: '', body: null, attributes: {},
    droppedAttributesCount: 0, flags: 0, traceId: '', spanId: '', eventName: '',
  };
  message(r, (tag) => {
    switch (tag) {
      case 1: l.timeUnixNano = fixed64Big(r); return true;
      case 11: l.observedTimeUnixNano = fixed64Big(r); return true;
      case 2: l.severityNumber = r.int32(); return true;
      case 3: l.severityText = r.string(); return true;
      case 5: l.body = anyValue(r, 1); return true;
      case 6: keyValue(r, l.attributes); return true;
      case 7: l.droppedAttributesCount = r.uint32(); return true;
      case 8: l.flags = r.fixed32(); return true;
      case 9: l.traceId = hexId(r, 16, 'log.traceId'); return true;
      case 10: l.spanId = hexId(r, 8, 'log.spanId'); return true;
      case 12: l.eventName = r.string(); return true;
      default: return false;
    }
  });
  return l;
}

/** ResourceX { resource = 1; repeated ScopeX = 2; schema_url = 3 } with ScopeX { scope = 1; repeated item = 2; schema_url = 3 }. */
function resourceGroup<T>(r: Reader, item: (r: Reader) => T) {
  const g = { resource: { attributes: {}, droppedAttributesCount: 0 } as Resource, scopes: [] as Array<{ scope: InstrumentationScope; items: T[]; schemaUrl: string }>, schemaUrl: '' };
  message(r, (tag) => {
    switch (tag) {
      case 1: g.resource = resource(r); return true;
      case 3: g.schemaUrl = r.string(); return true;
      case 2: {
        const s = { scope: { name: '', version: '', attributes: {}, droppedAttributesCount: 0 } as InstrumentationScope, items: [] as T[], schemaUrl: '' };
        message(r, (t) => {
          switch (t) {
            case 1: s.scope = scope(r); return true;
            case 2: s.items.push(item(r)); return true;
            case 3: s.schemaUrl = r.string(); return true;
            default: return false;
          }
        });
        g.scopes.push(s);
        return true;
      }
      default: return false;
    }
  });
  return g;
}

function readRequest<T>(body: Uint8Array, item: (r: Reader) => T) {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const r = protobuf.Reader.create(buf) as Reader;
  const groups: Array<ReturnType<typeof resourceGroup<T>>> = [];
  readUntil(r, r.len, (tag) => (tag === 1 ? (groups.push(resourceGroup(r, item)), true) : false));
  return groups;
}

const READ_ITEM: Record<Signal, (r: Reader) => unknown> = { traces: span, metrics: metric, logs: logRecord };

/** Decodes protobuf ExportXxxServiceRequest bytes. Throws RangeError/Error on malformed input. */
export function decodeProtoRequest<S extends Signal>(signal: S, body: Uint8Array): SignalData[S] {
  const { resources, scopes, items } = SIGNAL_LAYOUT[signal];
  return {
    [resources]: readRequest(body, READ_ITEM[signal]).map((g) => ({
      resource: g.resource, schemaUrl: g.schemaUrl, [scopes]: g.scopes.map((s) => ({ scope: s.scope, [items]: s.items, schemaUrl: s.schemaUrl })),
    })),
  } as unknown as SignalData[S];
}

// ── writing ─────────────────────────────────────────────────────────────────────────────────────
const key = (tag: number, wt: number) => ((tag << 3) | wt) >>> 0;

function writeFixed64(w: Writer, tag: number, v: bigint): void {
  if (v === 0n) return;
  w.uint32(key(tag, WT_I64)).fixed64(v);
}

/** sfixed64 / fixed64 from a JS number (int point values, counts). Always written (oneof members). */
function writeFixed64Num(w: Writer, tag: number, n: number): void {
  w.uint32(key(tag, WT_I64));
  if (n >= 0 && n < TWO32 * TWO32) {
    w.fixed32(n % TWO32).fixed32(Math.floor(n / TWO32));
  } else {
    w.fixed64(BigInt.asUintN(64, BigInt(Math.trunc(n))));
  }
}

function writeId(w: Writer, tag: number, hex: string): void {
  if (hex === '') return;
  w.uint32(key(tag, WT_LEN)).hexBytes(hex);
}

function writeString(w: Writer, tag: number, s: string): void {
  if (s !== '') w.uint32(key(tag, WT_LEN)).string(s);
}

function writeVarint(w: Writer, tag: number, n: number): void {
  if (n !== 0) w.uint32(key(tag, WT_VARINT)).uint32(n);
}

function writeEnum(w: Writer, tag: number, n: number): void {
  if (n !== 0) w.uint32(key(tag, WT_VARINT)).int32(n);
}

function writeFixed32(w: Writer, tag: number, n: number): void {
  if (n !== 0) w.uint32(key(tag, WT_I32)).fixed32(n);
}

function writeDouble(w: Writer, tag: number, v: number): void {
  w.uint32(key(tag, WT_I64)).double(v);
}

function writeAnyValue(w: Writer, v: AnyValue): void {
  switch (typeof v) {
    case 'string': w.uint32(key(1, WT_LEN)).string(v); return;
    case 'boolean': w.uint32(key(2, WT_VARINT)).bool(v); return;
    case 'number':
      if (Number.isInteger(v)) w.uint32(key(3, WT_VARINT)).int64(v);
      else writeDouble(w, 4, v);
      return;
    case 'bigint': w.uint32(key(3, WT_VARINT)).int64(v); return;
    default:
      if (v === null || v === undefined) return;
      if (v instanceof Uint8Array) { w.uint32(key(7, WT_LEN)).bytes(v); return; }
      if (Array.isArray(v)) {
        w.uint32(key(5, WT_LEN)).fork();
        for (const x of v) { w.uint32(key(1, WT_LEN)).fork(); writeAnyValue(w, x); w.ldelim(); }
        w.ldelim();
        return;
      }
      w.uint32(key(6, WT_LEN)).fork();
      writeAttributes(w, 1, v.kvlist);
      w.ldelim();
  }
}

/**
 * The encoded KeyValue.key field (tag, length, UTF-8) of attribute keys seen before. The same few
 * dozen keys repeat on every span, and copying their bytes is cheaper than encoding the string.
 * Bounded: keys beyond the first KEY_CACHE_MAX (or ≥ 128 bytes long) are encoded each time.
 */
const keyFields = new Map<string, Buffer | null>(); // null: too long to cache, encode it each time
const KEY_CACHE_MAX = 2048;

function keyField(k: string): Buffer | undefined {
  let field = keyFields.get(k);
  if (field === undefined && keyFields.size < KEY_CACHE_MAX) {
    const utf8 = Buffer.from(k, 'utf8');
    field = utf8.length >= 0x80 ? null : utf8.length === 0 ? utf8 : Buffer.concat([Buffer.from([key(1, WT_LEN), utf8.length]), utf8]);
    keyFields.set(k, field);
  }
  return field ?? undefined;
}

function writeAttributes(w: Writer, tag: number, a: Attributes): void {
  for (const k in a) {
    const v = a[k]!;
    const field = keyField(k);
    if (field !== undefined && typeof v === 'string' && w.stringKeyValue(key(tag, WT_LEN), field, v)) continue;
    w.uint32(key(tag, WT_LEN)).fork();
    if (field !== undefined) w.raw(field);
    else writeString(w, 1, k);
    w.uint32(key(2, WT_LEN)).fork();
    writeAnyValue(w, v);
    w.ldelim();
    w.ldelim();
  }
}

function writeResource(w: Writer, r: Resource): void {
  w.uint32(key(1, WT_LEN)).fork();
  writeAttributes(w, 1, r.attributes);
  writeVarint(w, 2, r.droppedAttributesCount);
  w.ldelim();
}

function writeScope(w: Writer, s: InstrumentationScope): void {
  w.uint32(key(1, WT_LEN)).fork();
  writeString(w, 1, s.name);
  writeString(w, 2, s.version);
  writeAttributes(w, 3, s.attributes);
  writeVarint(w, 4, s.droppedAttributesCount);
  w.ldelim();
}

function writeSpan(w: Writer, s: Span): void {
  writeId(w, 1, s.traceId);
  writeId(w, 2, s.spanId);
  writeString(w, 3, s.traceState);
  writeId(w, 4, s.parentSpanId);
  writeString(w, 5, s.name);
  writeEnum(w, 6, s.kind);
  writeFixed64(w, 7, s.startTimeUnixNano);
  writeFixed64(w, 8, s.endTimeUnixNano);
  writeAttributes(w, 9, s.attributes);
  writeVarint(w, 10, s.droppedAttributesCount);
  for (const e of s.events) {
    w.uint32(key(11, WT_LEN)).fork();
    writeFixed64(w, 1, e.timeUnixNano);
    writeString(w, 2, e.name);
    writeAttributes(w, 3, e.attributes);
    writeVarint(w, 4, e.droppedAttributesCount);
    w.ldelim();
  }
  writeVarint(w, 12, s.droppedEventsCount);
  for (const l of s.links) {
    w.uint32(key(13, WT_LEN)).fork();
    writeId(w, 1, l.traceId);
    writeId(w, 2, l.spanId);
    writeString(w, 3, l.traceState);
    writeAttributes(w, 4, l.attributes);
    writeVarint(w, 5, l.droppedAttributesCount);
    writeFixed32(w, 6, l.flags);
    w.ldelim();
  }
  writeVarint(w, 14, s.droppedLinksCount);
  if (s.status.code !== 0 || s.status.message !== '') {
    w.uint32(key(15, WT_LEN)).fork();
    writeString(w, 2, s.status.message);
    writeEnum(w, 3, s.status.code);
    w.ldelim();
  }
  writeFixed32(w, 16, s.flags);
}

function writeExemplars(w: Writer, tag: number, list: Exemplar[]): void {
  for (const e of list) {
    w.uint32(key(tag, WT_LEN)).fork();
    writeFixed64(w, 2, e.timeUnixNano);
    if (e.valueType === 'int') writeFixed64Num(w, 6, e.value);
    else writeDouble(w, 3, e.value);
    writeId(w, 4, e.spanId);
    writeId(w, 5, e.traceId);
    writeAttributes(w, 7, e.filteredAttributes);
    w.ldelim();
  }
}

function writePointTimes(w: Writer, p: { startTimeUnixNano: bigint; timeUnixNano: bigint }): void {
  writeFixed64(w, 2, p.startTimeUnixNano);
  writeFixed64(w, 3, p.timeUnixNano);
}

function writeOptionalDouble(w: Writer, tag: number, v: number | undefined): void {
  if (v !== undefined) writeDouble(w, tag, v);
}

function writePackedFixed64(w: Writer, tag: number, list: number[]): void {
  if (list.length === 0) return;
  w.uint32(key(tag, WT_LEN)).uint32(list.length * 8);
  for (const n of list) w.fixed32(n % TWO32).fixed32(Math.floor(n / TWO32));
}

function writeBuckets(w: Writer, tag: number, b: ExponentialHistogramBuckets): void {
  w.uint32(key(tag, WT_LEN)).fork();
  if (b.offset !== 0) w.uint32(key(1, WT_VARINT)).sint32(b.offset);
  if (b.bucketCounts.length) {
    w.uint32(key(2, WT_LEN)).fork();
    for (const c of b.bucketCounts) w.uint64(c);
    w.ldelim();
  }
  w.ldelim();
}

function writeMetric(w: Writer, m: Metric): void {
  writeString(w, 1, m.name);
  writeString(w, 2, m.description);
  writeString(w, 3, m.unit);
  const d = m.data;
  const numberPoints = (points: NumberDataPoint[]) => {
    for (const p of points) {
      w.uint32(key(1, WT_LEN)).fork();
      writePointTimes(w, p);
      if (p.valueType === 'int') writeFixed64Num(w, 6, p.value);
      else writeDouble(w, 4, p.value);
      writeExemplars(w, 5, p.exemplars);
      writeAttributes(w, 7, p.attributes);
      writeVarint(w, 8, p.flags);
      w.ldelim();
    }
  };
  switch (d.type) {
    case 'gauge':
      w.uint32(key(5, WT_LEN)).fork();
      numberPoints(d.dataPoints);
      w.ldelim();
      break;
    case 'sum':
      w.uint32(key(7, WT_LEN)).fork();
      numberPoints(d.dataPoints);
      writeEnum(w, 2, d.aggregationTemporality);
      if (d.isMonotonic) w.uint32(key(3, WT_VARINT)).bool(true);
      w.ldelim();
      break;
    case 'histogram':
      w.uint32(key(9, WT_LEN)).fork();
      for (const p of d.dataPoints) {
        w.uint32(key(1, WT_LEN)).fork();
        writePointTimes(w, p);
        if (p.count !== 0) writeFixed64Num(w, 4, p.count);
        writeOptionalDouble(w, 5, p.sum);
        writePackedFixed64(w, 6, p.bucketCounts);
        if (p.explicitBounds.length) {
          w.uint32(key(7, WT_LEN)).uint32(p.explicitBounds.length * 8);
          for (const b of p.explicitBounds) w.double(b);
        }
        writeExemplars(w, 8, p.exemplars);
        writeAttributes(w, 9, p.attributes);
        writeVarint(w, 10, p.flags);
        writeOptionalDouble(w, 11, p.min);
        writeOptionalDouble(w, 12, p.max);
        w.ldelim();
      }
      writeEnum(w, 2, d.aggregationTemporality);
      w.ldelim();
      break;
    case 'exponentialHistogram':
      w.uint32(key(10, WT_LEN)).fork();
      for (const p of d.dataPoints) {
        w.uint32(key(1, WT_LEN)).fork();
        writeAttributes(w, 1, p.attributes);
        writePointTimes(w, p);
        if (p.count !== 0) writeFixed64Num(w, 4, p.count);
        writeOptionalDouble(w, 5, p.sum);
        if (p.scale !== 0) w.uint32(key(6, WT_VARINT)).sint32(p.scale);
        if (p.zeroCount !== 0) writeFixed64Num(w, 7, p.zeroCount);
        writeBuckets(w, 8, p.positive);
        writeBuckets(w, 9, p.negative);
        writeVarint(w, 10, p.flags);
        writeExemplars(w, 11, p.exemplars);
        writeOptionalDouble(w, 12, p.min);
        writeOptionalDouble(w, 13, p.max);
        if (p.zeroThreshold !== 0) writeDouble(w, 14, p.zeroThreshold);
        w.ldelim();
      }
      writeEnum(w, 2, d.aggregationTemporality);
      w.ldelim();
      break;
    case 'summary':
      w.uint32(key(11, WT_LEN)).fork();
      for (const p of d.dataPoints) {
        w.uint32(key(1, WT_LEN)).fork();
        writePointTimes(w, p);
        if (p.count !== 0) writeFixed64Num(w, 4, p.count);
        if (p.sum !== 0) writeDouble(w, 5, p.sum);
        for (const q of p.quantileValues) {
          w.uint32(key(6, WT_LEN)).fork();
          if (q.quantile !== 0) writeDouble(w, 1, q.quantile);
          if (q.value !== 0) writeDouble(w, 2, q.value);
          w.ldelim();
        }
        writeAttributes(w, 7, p.attributes);
        writeVarint(w, 8, p.flags);
        w.ldelim();
      }
      w.ldelim();
      break;
  }
  writeAttributes(w, 12, m.metadata);
}

function writeLogRecord(w: Writer, l: LogRecord): void {
  writeFixed64(w, 1, l.timeUnixNano);
  writeEnum(w, 2, l.severityNumber);
  writeString(w, 3, l.severityText);
  if (l.body !== null) {
    w.uint32(key(5, WT_LEN)).fork();
    writeAnyValue(w, l.body);
    w.ldelim();
  }
  writeAttributes(w, 6, l.attributes);
  writeVarint(w, 7, l.droppedAttributesCount);
  writeFixed32(w, 8, l.flags);
  writeId(w, 9, l.traceId);
  writeId(w, 10, l.spanId);
  writeFixed64(w, 11, l.observedTimeUnixNano);
  writeString(w, 12, l.eventName);
}

type Groups<T> = Array<{ resource: Resource; schemaUrl: string; scopes: Array<{ scope: InstrumentationScope; schemaUrl: string; items: T[] }> }>;

/** Items (spans, metrics, log records) encoded between two yields of encodeProtoRequestAsync. */
export const ENCODE_SLICE_ITEMS = 1024;

/**
 * Writes the request into `w`, pausing (yield) after every `ENCODE_SLICE_ITEMS` items. The writer
 * keeps the open nested messages itself, so a pause may fall anywhere, even inside a scope.
 */
function* writeGroups<T>(w: Writer, groups: Groups<T>, item: (w: Writer, x: T) => void): Generator<void, Buffer> {
  let untilPause = ENCODE_SLICE_ITEMS;
  for (const g of groups) {
    w.uint32(key(1, WT_LEN)).fork();
    writeResource(w, g.resource);
    for (const s of g.scopes) {
      w.uint32(key(2, WT_LEN)).fork();
      writeScope(w, s.scope);
      for (const x of s.items) {
        w.uint32(key(2, WT_LEN)).fork();
        item(w, x);
        w.ldelim();
        if (--untilPause === 0) {
          yield;
          untilPause = ENCODE_SLICE_ITEMS;
        }
      }
      writeString(w, 3, s.schemaUrl);
      w.ldelim();
    }
    writeString(w, 3, g.schemaUrl);
    w.ldelim();
  }
  return w.finish();
}

const WRITE_ITEM: Record<Signal, (w: Writer, x: any) => void> = { traces: writeSpan, metrics: writeMetric, logs: writeLogRecord };

/** The request's steps, on a writer of its own (finish() gives its buffer away or copies out of it). */
function requestSteps<S extends Signal>(signal: S, data: SignalData[S]): Generator<void, Buffer> {
  const { resources, scopes, items } = SIGNAL_LAYOUT[signal];
  type Group = { resource: Resource; schemaUrl: string } & Record<string, any>;
  const groups = ((data as unknown as Record<string, Group[]>)[resources]!).map((g) => ({
    resource: g.resource, schemaUrl: g.schemaUrl, scopes: (g[scopes] as Group[]).map((s) => ({ scope: s.scope as InstrumentationScope, schemaUrl: s.schemaUrl, items: s[items] as unknown[] })),
  }));
  return writeGroups(new ProtoWriter(), groups, WRITE_ITEM[signal]);
}

/** Encodes an ExportXxxServiceRequest as protobuf bytes, in one go. */
export function encodeProtoRequest<S extends Signal>(signal: S, data: SignalData[S]): Buffer {
  const steps = requestSteps(signal, data);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Encodes an ExportXxxServiceRequest as protobuf bytes, yielding the event loop (setImmediate)
 * every ENCODE_SLICE_ITEMS items: an 8192-span batch would otherwise hold the loop for tens of
 * milliseconds, while the ebpf receiver needs it to drain the kernel's ring buffer. `data` must
 * not change until the promise settles.
 */
export async function encodeProtoRequestAsync<S extends Signal>(signal: S, data: SignalData[S]): Promise<Buffer> {
  const steps = requestSteps(signal, data);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
