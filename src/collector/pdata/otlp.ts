// OTLP codecs, the public entry points: ExportXxxServiceRequest as protobuf (the direct
// Reader/Writer codec in otlp-proto.ts, the hot path) or as OTLP JSON (the walkers below), and the
// responses and google.rpc.Status bodies (protobufjs reflection over the opentelemetry-proto v1
// files in ./proto).
//
// OTLP JSON per the spec: lowerCamelCase keys, hex ids (any case on input), integer enums, 64-bit
// integers as strings (numbers accepted), bytes as base64, unknown fields ignored.
import protobuf from 'protobufjs';
import type {
  AnyValue, Attributes, Exemplar, ExponentialHistogramBuckets, InstrumentationScope, LogRecord, Metric,
  MetricData, NumberDataPoint, Resource, Signal, SignalData, Span,
} from './model.js';
import { decodeProtoRequest, encodeProtoRequest, encodeProtoRequestAsync, MAX_VALUE_DEPTH } from './otlp-proto.js';
import { SIGNAL_LAYOUT } from './util.js';
import { otlpRoot } from './proto/load.js';

export type OtlpEncoding = 'proto' | 'json';

/** Thrown for undecodable input; receivers answer 400 with its message. */
export class OtlpDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OtlpDecodeError';
  }
}

const root = otlpRoot();
const RESPONSE_TYPES: Record<Signal, protobuf.Type> = {
  traces: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
  metrics: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse'),
  logs: root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse'),
};
const STATUS_TYPE = root.lookupType('google.rpc.Status');
/** The field holding the rejected count in each signal's partial_success. */
const REJECTED_FIELD: Record<Signal, string> = { traces: 'rejectedSpans', metrics: 'rejectedDataPoints', logs: 'rejectedLogRecords' };
/** gRPC full service names, for servers and clients. */
export const OTLP_GRPC_SERVICES: Record<Signal, string> = {
  traces: 'opentelemetry.proto.collector.trace.v1.TraceService',
  metrics: 'opentelemetry.proto.collector.metrics.v1.MetricsService',
  logs: 'opentelemetry.proto.collector.logs.v1.LogsService',
};
/** Default HTTP paths. */
export const OTLP_HTTP_PATHS: Record<Signal, string> = { traces: '/v1/traces', metrics: '/v1/metrics', logs: '/v1/logs' };

// ── JSON scalar readers ─────────────────────────────────────────────────────────────────────────

function readU64Big(v: unknown, what: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'string') {
    if (!/^\d+$/.test(v)) throw new OtlpDecodeError(`${what}: "${v}" is not an unsigned 64-bit integer`);
    return BigInt(v);
  }
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return BigInt(v);
  throw new OtlpDecodeError(`${what}: ${JSON.stringify(v)} is not an unsigned 64-bit integer`);
}

/** A 64-bit integer as a JS number when safe, a bigint otherwise. */
function readI64(v: unknown, what: string): number | bigint {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : BigInt(v);
  }
  throw new OtlpDecodeError(`${what}: ${JSON.stringify(v)} is not a 64-bit integer`);
}

function readCount(v: unknown, what: string): number {
  const n = readI64(v, what);
  return typeof n === 'bigint' ? Number(n) : n;
}

function readDouble(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    // proto3 JSON writes non-finite doubles as strings; numbers may also be quoted.
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = Number(v);
    if (v.trim() !== '' && !Number.isNaN(n)) return n;
  }
  throw new OtlpDecodeError(`${what}: ${JSON.stringify(v)} is not a number`);
}

function readU32(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v >>> 0;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v) >>> 0;
  throw new OtlpDecodeError(`${what}: ${JSON.stringify(v)} is not an unsigned 32-bit integer`);
}

function readEnum(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw new OtlpDecodeError(`${what}: ${JSON.stringify(v)} is not an integer enum value`);
}

function readString(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  throw new OtlpDecodeError(`${what}: ${JSON.stringify(v)} is not a string`);
}

const HEX = /^[0-9a-fA-F]*$/;
/** Ids are hex in OTLP JSON (any case); empty means absent. */
function readId(v: unknown, len: number, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') {
    if (v === '') return '';
    if (v.length !== len * 2 || !HEX.test(v)) throw new OtlpDecodeError(`${what}: "${v}" is not ${len * 2} hex digits`);
    return v.toLowerCase();
  }
  throw new OtlpDecodeError(`${what}: ${JSON.stringify(v)} is not an id`);
}

function readBytes(v: unknown, what: string): Uint8Array {
  if (typeof v === 'string') return new Uint8Array(Buffer.from(v, 'base64'));
  throw new OtlpDecodeError(`${what}: ${JSON.stringify(v)} is not base64 bytes`);
}

function asList(v: unknown, what: string): any[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v;
  throw new OtlpDecodeError(`${what}: expected an array`);
}

const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

// ── structure readers ───────────────────────────────────────────────────────────────────────────
type Raw = any;

function readAnyValue(v: Raw, depth = 1): AnyValue {
  if (v === undefined || v === null) return null;
  if (depth > MAX_VALUE_DEPTH) throw new OtlpDecodeError(`an attribute value nests arrays or kvlists deeper than ${MAX_VALUE_DEPTH} levels`);
  if (own(v, 'stringValue')) return readString(v.stringValue, 'stringValue');
  if (own(v, 'boolValue')) return Boolean(v.boolValue);
  if (own(v, 'intValue')) return readI64(v.intValue, 'intValue');
  if (own(v, 'doubleValue')) {
    const d = readDouble(v.doubleValue, 'doubleValue');
    // The model types an integral JS number as an int; keep doubles distinguishable is not possible
    // for integral doubles, which is also how the OpenTelemetry JS SDK treats them.
    return d;
  }
  if (own(v, 'arrayValue')) return asList(v.arrayValue?.values, 'arrayValue.values').map((x) => readAnyValue(x, depth + 1));
  if (own(v, 'kvlistValue')) return { kvlist: readAttributes(v.kvlistValue?.values, depth + 1) };
  if (own(v, 'bytesValue')) return readBytes(v.bytesValue, 'bytesValue');
  return null;
}

function readAttributes(list: unknown, depth = 1): Attributes {
  const out: Attributes = {};
  if (list === undefined || list === null) return out;
  for (const kv of asList(list, 'attributes')) {
    if (!kv || typeof kv !== 'object') throw new OtlpDecodeError('attributes: each entry must be an object with key and value');
    out[readString(kv.key, 'attribute key')] = readAnyValue(kv.value, depth);
  }
  return out;
}

function readResource(r: Raw): Resource {
  return { attributes: readAttributes(r?.attributes), droppedAttributesCount: readU32(r?.droppedAttributesCount, 'droppedAttributesCount') };
}

function readScope(s: Raw): InstrumentationScope {
  return {
    name: readString(s?.name, 'scope.name'),
    version: readString(s?.version, 'scope.version'),
    attributes: readAttributes(s?.attributes),
    droppedAttributesCount: readU32(s?.droppedAttributesCount, 'scope.droppedAttributesCount'),
  };
}

function readSpan(s: Raw): Span {
  return {
    traceId: readId(s.traceId, 16, 'span.traceId'),
    spanId: readId(s.spanId, 8, 'span.spanId'),
    traceState: readString(s.traceState, 'span.traceState'),
    parentSpanId: readId(s.parentSpanId, 8, 'span.parentSpanId'),
    flags: readU32(s.flags, 'span.flags'),
    name: readString(s.name, 'span.name'),
    kind: readEnum(s.kind, 'span.kind'),
    startTimeUnixNano: readU64Big(s.startTimeUnixNano, 'span.startTimeUnixNano'),
    endTimeUnixNano: readU64Big(s.endTimeUnixNano, 'span.endTimeUnixNano'),
    attributes: readAttributes(s.attributes),
    droppedAttributesCount: readU32(s.droppedAttributesCount, 'span.droppedAttributesCount'),
    events: asList(s.events, 'span.events').map((e: Raw) => ({
      timeUnixNano: readU64Big(e.timeUnixNano, 'event.timeUnixNano'),
      name: readString(e.name, 'event.name'),
      attributes: readAttributes(e.attributes),
      droppedAttributesCount: readU32(e.droppedAttributesCount, 'event.droppedAttributesCount'),
    })),
    droppedEventsCount: readU32(s.droppedEventsCount, 'span.droppedEventsCount'),
    links: asList(s.links, 'span.links').map((l: Raw) => ({
      traceId: readId(l.traceId, 16, 'link.traceId'),
      spanId: readId(l.spanId, 8, 'link.spanId'),
      traceState: readString(l.traceState, 'link.traceState'),
      attributes: readAttributes(l.attributes),
      droppedAttributesCount: readU32(l.droppedAttributesCount, 'link.droppedAttributesCount'),
      flags: readU32(l.flags, 'link.flags'),
    })),
    droppedLinksCount: readU32(s.droppedLinksCount, 'span.droppedLinksCount'),
    status: { code: readEnum(s.status?.code, 'status.code'), message: readString(s.status?.message, 'status.message') },
  };
}

function readExemplar(e: Raw): Exemplar {
  const isInt = own(e, 'asInt');
  return {
    filteredAttributes: readAttributes(e.filteredAttributes),
    timeUnixNano: readU64Big(e.timeUnixNano, 'exemplar.timeUnixNano'),
    value: isInt ? readCount(e.asInt, 'exemplar.asInt') : readDouble(e.asDouble, 'exemplar.asDouble'),
    valueType: isInt ? 'int' : 'double',
    spanId: readId(e.spanId, 8, 'exemplar.spanId'),
    traceId: readId(e.traceId, 16, 'exemplar.traceId'),
  };
}

function readPointBase(p: Raw) {
  return {
    attributes: readAttributes(p.attributes),
    startTimeUnixNano: readU64Big(p.startTimeUnixNano, 'startTimeUnixNano'),
    timeUnixNano: readU64Big(p.timeUnixNano, 'timeUnixNano'),
    flags: readU32(p.flags, 'flags'),
  };
}

function readNumberPoint(p: Raw): NumberDataPoint {
  const isInt = own(p, 'asInt');
  return {
    ...readPointBase(p),
    value: isInt ? readCount(p.asInt, 'asInt') : readDouble(p.asDouble, 'asDouble'),
    valueType: isInt ? 'int' : 'double',
    exemplars: asList(p.exemplars, 'exemplars').map(readExemplar),
  };
}

const optDouble = (p: Raw, k: string): number | undefined => (own(p, k) && p[k] !== null ? readDouble(p[k], k) : undefined);

function readBuckets(b: Raw): ExponentialHistogramBuckets {
  return { offset: b?.offset ?? 0, bucketCounts: asList(b?.bucketCounts, 'bucketCounts').map((c) => readCount(c, 'bucketCounts')) };
}

function readMetricData(m: Raw, name: string): MetricData {
  if (m.gauge) return { type: 'gauge', dataPoints: asList(m.gauge.dataPoints, 'gauge.dataPoints').map(readNumberPoint) };
  if (m.sum) {
    return {
      type: 'sum',
      dataPoints: asList(m.sum.dataPoints, 'sum.dataPoints').map(readNumberPoint),
      aggregationTemporality: readEnum(m.sum.aggregationTemporality, 'aggregationTemporality'),
      isMonotonic: Boolean(m.sum.isMonotonic),
    };
  }
  if (m.histogram) {
    return {
      type: 'histogram',
      aggregationTemporality: readEnum(m.histogram.aggregationTemporality, 'aggregationTemporality'),
      dataPoints: asList(m.histogram.dataPoints, 'histogram.dataPoints').map((p: Raw) => ({
        ...readPointBase(p),
        count: readCount(p.count, 'count'),
        sum: optDouble(p, 'sum'),
        bucketCounts: asList(p.bucketCounts, 'bucketCounts').map((c) => readCount(c, 'bucketCounts')),
        explicitBounds: asList(p.explicitBounds, 'explicitBounds').map((b) => readDouble(b, 'explicitBounds')),
        exemplars: asList(p.exemplars, 'exemplars').map(readExemplar),
        min: optDouble(p, 'min'),
        max: optDouble(p, 'max'),
      })),
    };
  }
  if (m.exponentialHistogram) {
    return {
      type: 'exponentialHistogram',
      aggregationTemporality: readEnum(m.exponentialHistogram.aggregationTemporality, 'aggregationTemporality'),
      dataPoints: asList(m.exponentialHistogram.dataPoints, 'exponentialHistogram.dataPoints').map((p: Raw) => ({
        ...readPointBase(p),
        count: readCount(p.count, 'count'),
        sum: optDouble(p, 'sum'),
        scale: p.scale ?? 0,
        zeroCount: readCount(p.zeroCount, 'zeroCount'),
        positive: readBuckets(p.positive),
        negative: readBuckets(p.negative),
        exemplars: asList(p.exemplars, 'exemplars').map(readExemplar),
        min: optDouble(p, 'min'),
        max: optDouble(p, 'max'),
        zeroThreshold: readDouble(p.zeroThreshold, 'zeroThreshold'),
      })),
    };
  }
  if (m.summary) {
    return {
      type: 'summary',
      dataPoints: asList(m.summary.dataPoints, 'summary.dataPoints').map((p: Raw) => ({
        ...readPointBase(p),
        count: readCount(p.count, 'count'),
        sum: readDouble(p.sum, 'sum'),
        quantileValues: asList(p.quantileValues, 'quantileValues').map((q: Raw) => ({
          quantile: readDouble(q.quantile, 'quantile'),
          value: readDouble(q.value, 'value'),
        })),
      })),
    };
  }
  throw new OtlpDecodeError(`metric "${name}" has no data (one of gauge, sum, histogram, exponentialHistogram, summary is required)`);
}

function readMetric(m: Raw): Metric {
  const name = readString(m.name, 'metric.name');
  return {
    name,
    description: readString(m.description, 'metric.description'),
    unit: readString(m.unit, 'metric.unit'),
    metadata: readAttributes(m.metadata),
    data: readMetricData(m, name),
  };
}

function readLogRecord(l: Raw): LogRecord {
  return {
    timeUnixNano: readU64Big(l.timeUnixNano, 'log.timeUnixNano'),
    observedTimeUnixNano: readU64Big(l.observedTimeUnixNano, 'log.observedTimeUnixNano'),
    severityNumber: readEnum(l.severityNumber, 'log.severityNumber'),
    severityText: readString(l.severityText, 'log.severityText'),
    body: readAnyValue(l.body),
    attributes: readAttributes(l.attributes),
    droppedAttributesCount: readU32(l.droppedAttributesCount, 'log.droppedAttributesCount'),
    flags: readU32(l.flags, 'log.flags'),
    traceId: readId(l.traceId, 16, 'log.traceId'),
    spanId: readId(l.spanId, 8, 'log.spanId'),
    eventName: readString(l.eventName, 'log.eventName'),
  };
}

const READ_ITEM: Record<Signal, (raw: Raw) => unknown> = { traces: readSpan, metrics: readMetric, logs: readLogRecord };

function readSignal<S extends Signal>(signal: S, req: Raw): SignalData[S] {
  const { resources, scopes, items } = SIGNAL_LAYOUT[signal];
  const item = READ_ITEM[signal];
  return {
    [resources]: asList(req[resources], resources).map((r: Raw) => ({
      resource: readResource(r.resource),
      schemaUrl: readString(r.schemaUrl, 'schemaUrl'),
      [scopes]: asList(r[scopes], scopes).map((sc: Raw) => ({
        scope: readScope(sc.scope),
        schemaUrl: readString(sc.schemaUrl, 'schemaUrl'),
        [items]: asList(sc[items], items).map(item),
      })),
    })),
  } as unknown as SignalData[S];
}

// ── writers ─────────────────────────────────────────────────────────────────────────────────────
/** How OTLP JSON writes scalars: hex ids, 64-bit integers as strings, bytes as base64. */
const f = {
  id: (hex: string) => (hex === '' ? undefined : hex),
  u64: (v: bigint | number) => v.toString(),
  i64: (v: bigint | number) => v.toString(),
  bytes: (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'),
  // proto3 JSON: non-finite doubles are strings.
  double: (v: number): number | string => (Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'),
};

function writeAnyValue(v: AnyValue): Raw {
  switch (typeof v) {
    case 'string': return { stringValue: v };
    case 'boolean': return { boolValue: v };
    case 'number': return Number.isInteger(v) ? { intValue: f.i64(v) } : { doubleValue: f.double(v) };
    case 'bigint': return { intValue: f.i64(v) };
    default:
      if (v === null || v === undefined) return {};
      if (v instanceof Uint8Array) return { bytesValue: f.bytes(v) };
      if (Array.isArray(v)) return { arrayValue: { values: v.map((x) => writeAnyValue(x)) } };
      return { kvlistValue: { values: writeAttributes(v.kvlist) } };
  }
}

function writeAttributes(a: Attributes): Raw[] {
  const out: Raw[] = [];
  for (const key in a) out.push({ key, value: writeAnyValue(a[key]!) });
  return out;
}

const writeResource = (r: Resource) => ({ attributes: writeAttributes(r.attributes), droppedAttributesCount: r.droppedAttributesCount });
const writeScope = (s: InstrumentationScope) => ({
  name: s.name, version: s.version, attributes: writeAttributes(s.attributes), droppedAttributesCount: s.droppedAttributesCount,
});

function writeSpan(s: Span): Raw {
  return {
    traceId: f.id(s.traceId),
    spanId: f.id(s.spanId),
    traceState: s.traceState,
    parentSpanId: f.id(s.parentSpanId),
    flags: s.flags,
    name: s.name,
    kind: s.kind,
    startTimeUnixNano: f.u64(s.startTimeUnixNano),
    endTimeUnixNano: f.u64(s.endTimeUnixNano),
    attributes: writeAttributes(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount,
    events: s.events.map((e) => ({
      timeUnixNano: f.u64(e.timeUnixNano), name: e.name, attributes: writeAttributes(e.attributes), droppedAttributesCount: e.droppedAttributesCount,
    })),
    droppedEventsCount: s.droppedEventsCount,
    links: s.links.map((l) => ({
      traceId: f.id(l.traceId), spanId: f.id(l.spanId), traceState: l.traceState,
      attributes: writeAttributes(l.attributes), droppedAttributesCount: l.droppedAttributesCount, flags: l.flags,
    })),
    droppedLinksCount: s.droppedLinksCount,
    status: { code: s.status.code, message: s.status.message },
  };
}

function writeExemplar(e: Exemplar): Raw {
  return {
    filteredAttributes: writeAttributes(e.filteredAttributes),
    timeUnixNano: f.u64(e.timeUnixNano),
    ...(e.valueType === 'int' ? { asInt: f.i64(e.value) } : { asDouble: f.double(e.value) }),
    spanId: f.id(e.spanId),
    traceId: f.id(e.traceId),
  };
}

function writePointBase(p: { attributes: Attributes; startTimeUnixNano: bigint; timeUnixNano: bigint; flags: number }) {
  return { attributes: writeAttributes(p.attributes), startTimeUnixNano: f.u64(p.startTimeUnixNano), timeUnixNano: f.u64(p.timeUnixNano), flags: p.flags };
}

function writeNumberPoint(p: NumberDataPoint): Raw {
  return {
    ...writePointBase(p),
    ...(p.valueType === 'int' ? { asInt: f.i64(p.value) } : { asDouble: f.double(p.value) }),
    exemplars: p.exemplars.map((e) => writeExemplar(e)),
  };
}

const withOptional = (o: Raw, k: string, v: number | undefined) => {
  if (v !== undefined) o[k] = f.double(v);
  return o;
};

function writeMetric(m: Metric): Raw {
  const out: Raw = { name: m.name, description: m.description, unit: m.unit, metadata: writeAttributes(m.metadata) };
  const d = m.data;
  switch (d.type) {
    case 'gauge': out.gauge = { dataPoints: d.dataPoints.map((p) => writeNumberPoint(p)) }; break;
    case 'sum':
      out.sum = { dataPoints: d.dataPoints.map((p) => writeNumberPoint(p)), aggregationTemporality: d.aggregationTemporality, isMonotonic: d.isMonotonic };
      break;
    case 'histogram':
      out.histogram = {
        aggregationTemporality: d.aggregationTemporality,
        dataPoints: d.dataPoints.map((p) => {
          const o: Raw = {
            ...writePointBase(p),
            count: f.u64(p.count),
            bucketCounts: p.bucketCounts.map((c) => f.u64(c)),
            explicitBounds: p.explicitBounds.map((b) => f.double(b)),
            exemplars: p.exemplars.map((e) => writeExemplar(e)),
          };
          withOptional(o, 'sum', p.sum);
          withOptional(o, 'min', p.min);
          return withOptional(o, 'max', p.max);
        }),
      };
      break;
    case 'exponentialHistogram':
      out.exponentialHistogram = {
        aggregationTemporality: d.aggregationTemporality,
        dataPoints: d.dataPoints.map((p) => {
          const o: Raw = {
            ...writePointBase(p),
            count: f.u64(p.count),
            scale: p.scale,
            zeroCount: f.u64(p.zeroCount),
            positive: { offset: p.positive.offset, bucketCounts: p.positive.bucketCounts.map((c) => f.u64(c)) },
            negative: { offset: p.negative.offset, bucketCounts: p.negative.bucketCounts.map((c) => f.u64(c)) },
            exemplars: p.exemplars.map((e) => writeExemplar(e)),
            zeroThreshold: f.double(p.zeroThreshold),
          };
          withOptional(o, 'sum', p.sum);
          withOptional(o, 'min', p.min);
          return withOptional(o, 'max', p.max);
        }),
      };
      break;
    case 'summary':
      out.summary = {
        dataPoints: d.dataPoints.map((p) => ({
          ...writePointBase(p),
          count: f.u64(p.count),
          sum: f.double(p.sum),
          quantileValues: p.quantileValues.map((q) => ({ quantile: f.double(q.quantile), value: f.double(q.value) })),
        })),
      };
      break;
  }
  return out;
}

function writeLogRecord(l: LogRecord): Raw {
  return {
    timeUnixNano: f.u64(l.timeUnixNano),
    observedTimeUnixNano: f.u64(l.observedTimeUnixNano),
    severityNumber: l.severityNumber,
    severityText: l.severityText,
    body: l.body === null ? undefined : writeAnyValue(l.body),
    attributes: writeAttributes(l.attributes),
    droppedAttributesCount: l.droppedAttributesCount,
    flags: l.flags,
    traceId: f.id(l.traceId),
    spanId: f.id(l.spanId),
    eventName: l.eventName,
  };
}

const WRITE_ITEM: Record<Signal, (x: any) => Raw> = { traces: writeSpan, metrics: writeMetric, logs: writeLogRecord };

/** A request as its OTLP JSON object (what `encodeRequest(…, 'json')` serialises). */
export function writeSignal<S extends Signal>(signal: S, data: SignalData[S]): Raw {
  const { resources, scopes, items } = SIGNAL_LAYOUT[signal];
  const item = WRITE_ITEM[signal];
  return {
    [resources]: ((data as Raw)[resources] as Raw[]).map((r) => ({
      resource: writeResource(r.resource),
      schemaUrl: r.schemaUrl,
      [scopes]: (r[scopes] as Raw[]).map((sc) => ({ scope: writeScope(sc.scope), schemaUrl: sc.schemaUrl, [items]: (sc[items] as unknown[]).map(item) })),
    })),
  };
}

// ── public API ──────────────────────────────────────────────────────────────────────────────────

/** Decodes an ExportXxxServiceRequest (protobuf bytes, or OTLP JSON text/bytes). Throws OtlpDecodeError. */
export function decodeRequest<S extends Signal>(signal: S, body: Uint8Array | string, encoding: OtlpEncoding): SignalData[S] {
  if (encoding === 'proto') {
    if (typeof body === 'string') throw new OtlpDecodeError('protobuf body must be bytes');
    try {
      return decodeProtoRequest(signal, body);
    } catch (err) {
      throw new OtlpDecodeError(`invalid OTLP protobuf ${signal} request: ${(err as Error).message}`, { cause: err });
    }
  }
  const text = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  let raw: Raw;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new OtlpDecodeError(`invalid OTLP JSON ${signal} request: ${(err as Error).message}`, { cause: err });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new OtlpDecodeError(`invalid OTLP JSON ${signal} request: top level must be an object`);
  try {
    return readSignal(signal, raw);
  } catch (err) {
    if (err instanceof OtlpDecodeError) throw new OtlpDecodeError(`invalid OTLP JSON ${signal} request: ${err.message}`);
    throw new OtlpDecodeError(`invalid OTLP ${signal} request: ${(err as Error).message}`, { cause: err });
  }
}

/** Encodes an ExportXxxServiceRequest as protobuf bytes. */
export function encodeRequest<S extends Signal>(signal: S, data: SignalData[S], encoding: 'proto'): Uint8Array;
/** Encodes an ExportXxxServiceRequest as OTLP JSON text. */
export function encodeRequest<S extends Signal>(signal: S, data: SignalData[S], encoding: 'json'): string;
export function encodeRequest<S extends Signal>(signal: S, data: SignalData[S], encoding: OtlpEncoding): Uint8Array | string;
export function encodeRequest<S extends Signal>(signal: S, data: SignalData[S], encoding: OtlpEncoding): Uint8Array | string {
  if (encoding === 'json') return JSON.stringify(writeSignal(signal, data));
  return encodeProtoRequest(signal, data);
}

/**
 * encodeRequest as exporters should call it: protobuf is encoded in slices that yield the event
 * loop between them (encodeProtoRequestAsync); the returned Buffer is the request's own.
 */
export async function encodeRequestAsync<S extends Signal>(signal: S, data: SignalData[S], encoding: OtlpEncoding): Promise<Buffer> {
  if (encoding === 'json') return Buffer.from(JSON.stringify(writeSignal(signal, data)));
  return encodeProtoRequestAsync(signal, data);
}

export interface PartialSuccess { rejected: number; errorMessage: string }

/** Encodes an ExportXxxServiceResponse; `partial` only when something was rejected. */
export function encodeResponse(signal: Signal, encoding: OtlpEncoding, partial?: PartialSuccess): Uint8Array | string {
  const body: Raw = partial ? { partialSuccess: { [REJECTED_FIELD[signal]]: partial.rejected, errorMessage: partial.errorMessage } } : {};
  if (encoding === 'json') {
    if (partial) body.partialSuccess[REJECTED_FIELD[signal]] = String(partial.rejected);
    return JSON.stringify(body);
  }
  return RESPONSE_TYPES[signal].encode(body).finish();
}

/** Decodes an ExportXxxServiceResponse; returns the partial success if the server reported one. */
export function decodeResponse(signal: Signal, body: Uint8Array | string, encoding: OtlpEncoding): PartialSuccess | undefined {
  let raw: Raw;
  try {
    raw = encoding === 'json'
      ? JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8') || '{}')
      : RESPONSE_TYPES[signal].toObject(RESPONSE_TYPES[signal].decode(body as Uint8Array), { longs: String });
  } catch (err) {
    throw new OtlpDecodeError(`invalid OTLP ${signal} response: ${(err as Error).message}`, { cause: err });
  }
  const ps = raw?.partialSuccess;
  if (!ps) return undefined;
  const rejected = readCount(ps[REJECTED_FIELD[signal]], 'partialSuccess');
  const errorMessage = readString(ps.errorMessage, 'errorMessage');
  if (rejected === 0 && errorMessage === '') return undefined;
  return { rejected, errorMessage };
}

/** A google.rpc.Status body (HTTP error responses of OTLP/HTTP). */
export function encodeStatus(code: number, message: string, encoding: OtlpEncoding): Uint8Array | string {
  if (encoding === 'json') return JSON.stringify({ code, message, details: [] });
  return STATUS_TYPE.encode({ code, message }).finish();
}

export function decodeStatus(body: Uint8Array | string, encoding: OtlpEncoding): { code: number; message: string } {
  const raw: Raw = encoding === 'json'
    ? JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'))
    : STATUS_TYPE.decode(body as Uint8Array);
  return { code: raw.code ?? 0, message: raw.message ?? '' };
}
