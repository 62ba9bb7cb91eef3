// Builders for pdata and a sink consumer for processor tests: processors are created through their
// factories exactly as the service does, with the sink as the next consumer.
import type { ConsumerComponent, ProcessorFactory } from '../../../src/collector/component.js';
import type { ConsumeContext, Consumer } from '../../../src/collector/consumer.js';
import {
  SpanKind, StatusCode, type Attributes, type LogRecord, type Logs, type Metric, type Metrics, type Signal,
  type SignalData, type Span, type Traces,
} from '../../../src/collector/pdata/model.js';
import { asConsumer, consumeOf } from '../../../src/collector/internal/consumers.js';
import { countItems } from '../../../src/collector/pdata/util.js';
import { testHost, testSettings } from '../prometheus/support.js';

export const scope = (name = 'test-lib', version = '1.0.0') => ({ name, version, attributes: {}, droppedAttributesCount: 0 });

let nextSpanId = 1;
export function span(p: Partial<Span> = {}): Span {
  return {
    traceId: '0af7651916cd43dd8448eb211c80319c', spanId: (nextSpanId++).toString(16).padStart(16, '0'), traceState: '',
    parentSpanId: '', flags: 1, name: 'GET /', kind: SpanKind.SERVER,
    startTimeUnixNano: 1_700_000_000_000_000_000n, endTimeUnixNano: 1_700_000_000_050_000_000n,
    attributes: {}, droppedAttributesCount: 0, events: [], droppedEventsCount: 0, links: [], droppedLinksCount: 0,
    status: { code: StatusCode.UNSET, message: '' }, ...p,
  };
}

export interface ResourceSpec<T> { resource?: Attributes; scopeName?: string; items: T[] }

export function traces(...resources: ResourceSpec<Partial<Span>>[]): Traces {
  return {
    resourceSpans: resources.map((r) => ({
      resource: { attributes: { 'service.name': 'checkout', ...r.resource }, droppedAttributesCount: 0 },
      scopeSpans: [{ scope: scope(r.scopeName), spans: r.items.map(span), schemaUrl: '' }],
      schemaUrl: '',
    })),
  };
}

export function gauge(name: string, points: Array<{ value: number; attributes?: Attributes; valueType?: 'int' | 'double' }>): Metric {
  return {
    name, description: '', unit: '1', metadata: {},
    data: {
      type: 'gauge',
      dataPoints: points.map((p) => ({
        attributes: p.attributes ?? {}, startTimeUnixNano: 0n, timeUnixNano: 1_700_000_000_000_000_000n, flags: 0,
        value: p.value, valueType: p.valueType ?? (Number.isInteger(p.value) ? 'int' : 'double'), exemplars: [],
      })),
    },
  };
}

export function metrics(...resources: ResourceSpec<Metric>[]): Metrics {
  return {
    resourceMetrics: resources.map((r) => ({
      resource: { attributes: { 'service.name': 'checkout', ...r.resource }, droppedAttributesCount: 0 },
      scopeMetrics: [{ scope: scope(r.scopeName), metrics: r.items, schemaUrl: '' }],
      schemaUrl: '',
    })),
  };
}

export function log(p: Partial<LogRecord> = {}): LogRecord {
  return {
    timeUnixNano: 1_700_000_000_000_000_000n, observedTimeUnixNano: 1_700_000_000_000_000_000n, severityNumber: 9,
    severityText: 'INFO', body: 'hello', attributes: {}, droppedAttributesCount: 0, flags: 0, traceId: '', spanId: '',
    eventName: '', ...p,
  };
}

export function logs(...resources: ResourceSpec<Partial<LogRecord>>[]): Logs {
  return {
    resourceLogs: resources.map((r) => ({
      resource: { attributes: { 'service.name': 'checkout', ...r.resource }, droppedAttributesCount: 0 },
      scopeLogs: [{ scope: scope(r.scopeName), logRecords: r.items.map(log), schemaUrl: '' }],
      schemaUrl: '',
    })),
  };
}

export const spanNames = (td: Traces) => td.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name)));
export const allSpans = (td: Traces) => td.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));

/** The next consumer in tests: records what arrived; can fail or delay like a real exporter. */
export class Sink<S extends Signal> {
  readonly received: Array<{ data: SignalData[S]; ctx?: ConsumeContext }> = [];
  failWith: unknown;
  delayMs = 0;

  get items(): number { return this.received.reduce((n, r) => n + countItems(this.signal, r.data), 0); }
  get batches(): number[] { return this.received.map((r) => countItems(this.signal, r.data)); }

  constructor(private readonly signal: S) {}

  consumer(): Consumer<S> {
    const consume = async (data: SignalData[S], ctx?: ConsumeContext) => {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      if (this.failWith !== undefined) throw this.failWith;
      this.received.push({ data, ctx });
    };
    return asConsumer(this.signal, consume);
  }
}

/** Creates, validates and starts a processor with merged defaults, as the service would. */
export async function startProcessor<S extends Signal, C>(
  factory: ProcessorFactory<C>, userCfg: Partial<C>, signal: S, sink: Sink<S>, host = testHost(),
): Promise<{ proc: ConsumerComponent<S>; consume: (d: SignalData[S], ctx?: ConsumeContext) => Promise<void> }> {
  const cfg = { ...factory.createDefaultConfig(), ...userCfg } as C;
  factory.validate?.(cfg);
  const proc = factory.createProcessor(testSettings('processor', factory.type, host), cfg, signal, sink.consumer());
  await proc.start(host);
  return { proc, consume: consumeOf(signal, proc) };
}

export function validated<C>(factory: ProcessorFactory<C>, userCfg: Record<string, unknown>): C {
  const cfg = { ...factory.createDefaultConfig(), ...userCfg } as C;
  factory.validate?.(cfg);
  return cfg;
}
