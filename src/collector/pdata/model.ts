// The one in-memory telemetry model, shaped like OTLP so that codecs are a straight walk and
// Collector users recognise every field. Every component works on these types only.
//
// Conventions:
// - trace and span ids are lowercase hex strings ('' when absent), as OTLP JSON writes them;
// - timestamps are nanoseconds since the Unix epoch as bigint (a double cannot hold them exactly);
// - attribute values: string, boolean, number (a JS number is an OTLP int when Number.isInteger,
//   a double otherwise, as the OpenTelemetry JS SDK does), bigint (an int64 outside the safe
//   range), Uint8Array (bytes), arrays, and { kvlist } for nested maps.

export type AnyValue = string | boolean | number | bigint | Uint8Array | AnyValue[] | KeyValueList | null;
export interface KeyValueList { kvlist: Attributes }
export type Attributes = Record<string, AnyValue>;

export interface Resource { attributes: Attributes; droppedAttributesCount: number }
export interface InstrumentationScope { name: string; version: string; attributes: Attributes; droppedAttributesCount: number }

// ── traces ──────────────────────────────────────────────────────────────────────────────────────
export enum SpanKind { UNSPECIFIED = 0, INTERNAL = 1, SERVER = 2, CLIENT = 3, PRODUCER = 4, CONSUMER = 5 }
export enum StatusCode { UNSET = 0, OK = 1, ERROR = 2 }

export interface SpanEvent { timeUnixNano: bigint; name: string; attributes: Attributes; droppedAttributesCount: number }
export interface SpanLink { traceId: string; spanId: string; traceState: string; attributes: Attributes; droppedAttributesCount: number; flags: number }
export interface Span {
  traceId: string;
  spanId: string;
  traceState: string;
  parentSpanId: string;
  flags: number;
  name: string;
  kind: SpanKind;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attributes;
  droppedAttributesCount: number;
  events: SpanEvent[];
  droppedEventsCount: number;
  links: SpanLink[];
  droppedLinksCount: number;
  status: { code: StatusCode; message: string };
}
export interface ScopeSpans { scope: InstrumentationScope; spans: Span[]; schemaUrl: string }
export interface ResourceSpans { resource: Resource; scopeSpans: ScopeSpans[]; schemaUrl: string }
export interface Traces { resourceSpans: ResourceSpans[] }

// ── metrics ─────────────────────────────────────────────────────────────────────────────────────
export enum AggregationTemporality { UNSPECIFIED = 0, DELTA = 1, CUMULATIVE = 2 }

export interface Exemplar {
  filteredAttributes: Attributes;
  timeUnixNano: bigint;
  value: number;
  valueType: 'int' | 'double';
  spanId: string;
  traceId: string;
}
interface DataPointBase { attributes: Attributes; startTimeUnixNano: bigint; timeUnixNano: bigint; flags: number }
export interface NumberDataPoint extends DataPointBase { value: number; valueType: 'int' | 'double'; exemplars: Exemplar[] }
export interface HistogramDataPoint extends DataPointBase {
  count: number;
  sum?: number;
  bucketCounts: number[];
  explicitBounds: number[];
  exemplars: Exemplar[];
  min?: number;
  max?: number;
}
export interface ExponentialHistogramBuckets { offset: number; bucketCounts: number[] }
export interface ExponentialHistogramDataPoint extends DataPointBase {
  count: number;
  sum?: number;
  scale: number;
  zeroCount: number;
  positive: ExponentialHistogramBuckets;
  negative: ExponentialHistogramBuckets;
  exemplars: Exemplar[];
  min?: number;
  max?: number;
  zeroThreshold: number;
}
export interface SummaryDataPoint extends DataPointBase { count: number; sum: number; quantileValues: { quantile: number; value: number }[] }

export type MetricData =
  | { type: 'gauge'; dataPoints: NumberDataPoint[] }
  | { type: 'sum'; dataPoints: NumberDataPoint[]; aggregationTemporality: AggregationTemporality; isMonotonic: boolean }
  | { type: 'histogram'; dataPoints: HistogramDataPoint[]; aggregationTemporality: AggregationTemporality }
  | { type: 'exponentialHistogram'; dataPoints: ExponentialHistogramDataPoint[]; aggregationTemporality: AggregationTemporality }
  | { type: 'summary'; dataPoints: SummaryDataPoint[] };

export interface Metric { name: string; description: string; unit: string; metadata: Attributes; data: MetricData }
export interface ScopeMetrics { scope: InstrumentationScope; metrics: Metric[]; schemaUrl: string }
export interface ResourceMetrics { resource: Resource; scopeMetrics: ScopeMetrics[]; schemaUrl: string }
export interface Metrics { resourceMetrics: ResourceMetrics[] }

// ── logs ────────────────────────────────────────────────────────────────────────────────────────
export interface LogRecord {
  timeUnixNano: bigint;
  observedTimeUnixNano: bigint;
  severityNumber: number;
  severityText: string;
  body: AnyValue;
  attributes: Attributes;
  droppedAttributesCount: number;
  flags: number;
  traceId: string;
  spanId: string;
  eventName: string;
}
export interface ScopeLogs { scope: InstrumentationScope; logRecords: LogRecord[]; schemaUrl: string }
export interface ResourceLogs { resource: Resource; scopeLogs: ScopeLogs[]; schemaUrl: string }
export interface Logs { resourceLogs: ResourceLogs[] }

export type Signal = 'traces' | 'metrics' | 'logs';
export interface SignalData { traces: Traces; metrics: Metrics; logs: Logs }
