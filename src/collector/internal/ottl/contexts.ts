// OTTL contexts: which record a condition runs against and how its paths resolve. A condition in
// the `span` context may also read `resource.*` and `instrumentation_scope.*`; a `datapoint`
// condition may read `metric.*`; and so on, as in the Collector's ottlspan/ottldatapoint/... contexts.
import type {
  InstrumentationScope, LogRecord, Metric, Resource, Span, SpanEvent,
} from '../../pdata/model.js';
import { OttlSyntaxError } from './lexer.js';
import type { PathSegment } from './parser.js';
import { fromAnyValue, index, type OttlValue } from './values.js';

export type OttlContextKind = 'resource' | 'scope' | 'span' | 'spanevent' | 'metric' | 'datapoint' | 'log';
export type DataPoint = Metric['data']['dataPoints'][number];

/** The record one condition evaluation sees. Fields below the context's level are absent. */
export interface OttlRecord {
  resource: Resource;
  scope: InstrumentationScope;
  span?: Span;
  spanEvent?: SpanEvent;
  metric?: Metric;
  dataPoint?: DataPoint;
  log?: LogRecord;
}

export type Getter = (r: OttlRecord) => OttlValue;

/** Path prefixes and the context each one names. `scope` is accepted for `instrumentation_scope`. */
export const PREFIXES: Record<string, OttlContextKind> = {
  resource: 'resource', instrumentation_scope: 'scope', scope: 'scope', span: 'span', spanevent: 'spanevent',
  metric: 'metric', datapoint: 'datapoint', log: 'log',
};

/** Which contexts' fields a condition in a given context can read. */
const REACHABLE: Record<OttlContextKind, OttlContextKind[]> = {
  resource: ['resource'],
  scope: ['resource', 'scope'],
  span: ['resource', 'scope', 'span'],
  spanevent: ['resource', 'scope', 'span', 'spanevent'],
  metric: ['resource', 'scope', 'metric'],
  datapoint: ['resource', 'scope', 'metric', 'datapoint'],
  log: ['resource', 'scope', 'log'],
};

/** Depth used to pick the context of a flat condition: the deepest prefix it uses wins. */
export const DEPTH: Record<OttlContextKind, number> = { resource: 0, scope: 1, span: 2, metric: 2, log: 2, spanevent: 3, datapoint: 3 };

const attrs = (a: Record<string, unknown>): OttlValue => ({ kvlist: a as never });
const int = (v: number | bigint): bigint => (typeof v === 'bigint' ? v : BigInt(Math.trunc(v)));
const hexBytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

const METRIC_TYPES: Record<Metric['data']['type'], bigint> = { gauge: 1n, sum: 2n, histogram: 3n, exponentialHistogram: 4n, summary: 5n };

// Field getters per context, keyed by the dotted field name. `!` is safe: a getter is only
// compiled for contexts whose record carries that field (checked by REACHABLE).
const FIELDS: Record<OttlContextKind, Record<string, Getter>> = {
  resource: {
    attributes: (r) => attrs(r.resource.attributes),
    dropped_attributes_count: (r) => int(r.resource.droppedAttributesCount),
  },
  scope: {
    name: (r) => r.scope.name,
    version: (r) => r.scope.version,
    attributes: (r) => attrs(r.scope.attributes),
    dropped_attributes_count: (r) => int(r.scope.droppedAttributesCount),
  },
  span: {
    'trace_id.string': (r) => r.span!.traceId,
    'span_id.string': (r) => r.span!.spanId,
    'parent_span_id.string': (r) => r.span!.parentSpanId,
    trace_id: (r) => hexBytes(r.span!.traceId),
    span_id: (r) => hexBytes(r.span!.spanId),
    parent_span_id: (r) => hexBytes(r.span!.parentSpanId),
    trace_state: (r) => r.span!.traceState,
    name: (r) => r.span!.name,
    kind: (r) => BigInt(r.span!.kind),
    start_time_unix_nano: (r) => r.span!.startTimeUnixNano,
    end_time_unix_nano: (r) => r.span!.endTimeUnixNano,
    attributes: (r) => attrs(r.span!.attributes),
    dropped_attributes_count: (r) => int(r.span!.droppedAttributesCount),
    dropped_events_count: (r) => int(r.span!.droppedEventsCount),
    dropped_links_count: (r) => int(r.span!.droppedLinksCount),
    flags: (r) => int(r.span!.flags),
    'status.code': (r) => BigInt(r.span!.status.code),
    'status.message': (r) => r.span!.status.message,
  },
  spanevent: {
    name: (r) => r.spanEvent!.name,
    time_unix_nano: (r) => r.spanEvent!.timeUnixNano,
    attributes: (r) => attrs(r.spanEvent!.attributes),
    dropped_attributes_count: (r) => int(r.spanEvent!.droppedAttributesCount),
  },
  metric: {
    name: (r) => r.metric!.name,
    description: (r) => r.metric!.description,
    unit: (r) => r.metric!.unit,
    type: (r) => METRIC_TYPES[r.metric!.data.type],
    aggregation_temporality: (r) => { const d = r.metric!.data; return 'aggregationTemporality' in d ? BigInt(d.aggregationTemporality) : 0n; },
    is_monotonic: (r) => { const d = r.metric!.data; return d.type === 'sum' ? d.isMonotonic : false; },
  },
  datapoint: {
    attributes: (r) => attrs(r.dataPoint!.attributes),
    start_time_unix_nano: (r) => r.dataPoint!.startTimeUnixNano,
    time_unix_nano: (r) => r.dataPoint!.timeUnixNano,
    flags: (r) => int(r.dataPoint!.flags),
    // Like pdata's IntValue()/DoubleValue(): the other representation reads as zero.
    value_int: (r) => { const dp = r.dataPoint!; return 'valueType' in dp && dp.valueType === 'int' ? int(dp.value) : 0n; },
    value_double: (r) => { const dp = r.dataPoint!; return 'valueType' in dp && dp.valueType === 'double' ? dp.value : 0; },
    count: (r) => { const dp = r.dataPoint!; return 'count' in dp ? int(dp.count) : null; },
    sum: (r) => { const dp = r.dataPoint!; return 'sum' in dp && dp.sum !== undefined ? dp.sum : null; },
  },
  log: {
    time_unix_nano: (r) => r.log!.timeUnixNano,
    observed_time_unix_nano: (r) => r.log!.observedTimeUnixNano,
    severity_number: (r) => int(r.log!.severityNumber),
    severity_text: (r) => r.log!.severityText,
    body: (r) => fromAnyValue(r.log!.body),
    attributes: (r) => attrs(r.log!.attributes),
    dropped_attributes_count: (r) => int(r.log!.droppedAttributesCount),
    flags: (r) => int(r.log!.flags),
    'trace_id.string': (r) => r.log!.traceId,
    'span_id.string': (r) => r.log!.spanId,
    trace_id: (r) => hexBytes(r.log!.traceId),
    span_id: (r) => hexBytes(r.log!.spanId),
    event_name: (r) => r.log!.eventName,
  },
};

/** The context a path's prefix names, or undefined for an unprefixed path. */
export function pathPrefix(segments: PathSegment[]): OttlContextKind | undefined {
  const first = segments[0]!;
  return segments.length > 1 && first.keys.length === 0 ? PREFIXES[first.name] : undefined;
}

/**
 * Compiles a path for a context. `requirePrefix` is set for the flat `*_conditions` form, where
 * every path says its context (`span.name`, `resource.attributes["k"]`).
 */
export function compilePath(src: string, pos: number, segments: PathSegment[], kind: OttlContextKind, requirePrefix: boolean): Getter {
  const text = segments.map((s) => s.name + s.keys.map((k) => `[${JSON.stringify(typeof k === 'bigint' ? Number(k) : k)}]`).join('')).join('.');
  let owner = kind;
  let rest = segments;
  const prefix = pathPrefix(segments);
  if (prefix) {
    if (!REACHABLE[kind].includes(prefix)) {
      throw new OttlSyntaxError(src, pos, `path "${text}" is not available in the ${kind} context`);
    }
    owner = prefix;
    rest = segments.slice(1);
  } else if (requirePrefix) {
    throw new OttlSyntaxError(src, pos, `path "${text}" needs a context prefix (e.g. span.name, resource.attributes["k"], log.body)`);
  }
  if (rest.slice(0, -1).some((s) => s.keys.length > 0)) {
    throw new OttlSyntaxError(src, pos, `path "${text}": [ ] keys are only allowed at the end of a path`);
  }
  const field = rest.map((s) => s.name).join('.');
  const getter = FIELDS[owner][field];
  if (!getter) {
    const known = Object.keys(FIELDS[owner]).join(', ');
    throw new OttlSyntaxError(src, pos, `unknown path "${text}" in the ${owner} context (known: ${known})`);
  }
  const keys = rest[rest.length - 1]!.keys;
  if (keys.length === 0) return getter;
  return (r) => keys.reduce<OttlValue>((v, k) => index(v, k), getter(r));
}

const SEVERITIES = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

/** Named integer constants OTTL users write in conditions. */
export const ENUMS: Record<string, bigint> = {
  STATUS_CODE_UNSET: 0n, STATUS_CODE_OK: 1n, STATUS_CODE_ERROR: 2n,
  SPAN_KIND_UNSPECIFIED: 0n, SPAN_KIND_INTERNAL: 1n, SPAN_KIND_SERVER: 2n, SPAN_KIND_CLIENT: 3n,
  SPAN_KIND_PRODUCER: 4n, SPAN_KIND_CONSUMER: 5n,
  METRIC_DATA_TYPE_NONE: 0n, METRIC_DATA_TYPE_GAUGE: 1n, METRIC_DATA_TYPE_SUM: 2n, METRIC_DATA_TYPE_HISTOGRAM: 3n,
  METRIC_DATA_TYPE_EXPONENTIAL_HISTOGRAM: 4n, METRIC_DATA_TYPE_SUMMARY: 5n,
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0n, AGGREGATION_TEMPORALITY_DELTA: 1n, AGGREGATION_TEMPORALITY_CUMULATIVE: 2n,
  SEVERITY_NUMBER_UNSPECIFIED: 0n,
  ...Object.fromEntries(SEVERITIES.flatMap((name, i) => [1, 2, 3, 4].map((n) =>
    [`SEVERITY_NUMBER_${name}${n === 1 ? '' : n}`, BigInt(i * 4 + n)]))),
};
