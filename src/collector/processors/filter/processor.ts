// FilterProcessor drops telemetry for which ANY condition is true. Conditions run per context,
// coarsest first: resource, scope, then span / metric / log record, then span event / data point.
// Containers left empty are removed, a metric whose points were all dropped is dropped, and when
// nothing is left the request stops here (as the Collector's ErrSkipProcessingData does).
import type { ConsumeOf, CreateSettings } from '../../component.js';
import { ConsumerError } from '../../consumer.js';
import { ConditionSet, OttlEvalError, type Condition, type OttlContextKind, type OttlRecord } from '../../internal/ottl/index.js';
import type {
  InstrumentationScope, Logs, Metrics, Resource, Signal, SignalData, Traces,
} from '../../pdata/model.js';
import { mapLogs, mapMetrics, mapSpans, withDataPoints } from '../../pdata/select.js';
import { forwardKept } from '../../internal/processorhelper.js';
import { ProcessorTelemetry } from '../../internal/selftelemetry.js';
import type { FilterConfig } from './config.js';

const NO_SCOPE: InstrumentationScope = { name: '', version: '', attributes: {}, droppedAttributesCount: 0 };

/** Memoizes a per-container verdict (resource or scope conditions run once per container). */
function memo<K extends object>(cache: Map<K, boolean>, key: K, compute: () => boolean): boolean {
  let v = cache.get(key);
  if (v === undefined) { v = compute(); cache.set(key, v); }
  return v;
}

export class FilterProcessor<S extends Signal> {
  private readonly byContext = new Map<OttlContextKind, ConditionSet>();
  private readonly telemetry: ProcessorTelemetry;

  constructor(
    private readonly settings: CreateSettings,
    cfg: FilterConfig,
    private readonly signal: S,
    conditions: Condition[],
    private readonly next: ConsumeOf<S>,
  ) {
    this.telemetry = new ProcessorTelemetry(settings.host.selfMetrics, settings.id.toString());
    const onIgnored = (c: Condition, err: unknown) =>
      this.settings.logger.warn({ condition: c.source, err: (err as Error).message }, 'filter: condition failed; treated as false (error_mode: ignore)');
    const grouped = new Map<OttlContextKind, Condition[]>();
    for (const c of conditions) grouped.set(c.context, [...(grouped.get(c.context) ?? []), c]);
    for (const [ctx, list] of grouped) this.byContext.set(ctx, new ConditionSet(list, cfg.error_mode, onIgnored));
  }

  private matches(ctx: OttlContextKind, record: OttlRecord): boolean {
    return this.byContext.get(ctx)?.any(record) ?? false;
  }

  private containerDropped(resource: Resource, scope: InstrumentationScope, resCache: Map<object, boolean>, scopeCache: Map<object, boolean>, resKey: object, scopeKey: object): boolean {
    return memo(resCache, resKey, () => this.matches('resource', { resource, scope: NO_SCOPE }))
      || memo(scopeCache, scopeKey, () => this.matches('scope', { resource, scope }));
  }

  readonly consume: ConsumeOf<S> = async (data, ctx) => {
    let kept: SignalData[S];
    try {
      kept = this.filter(data);
    } catch (err) {
      if (err instanceof OttlEvalError) {
        throw ConsumerError.permanent(`filter processor ${this.settings.id.toString()}: ${err.message} (set error_mode: ignore to skip failing conditions)`, err);
      }
      throw err;
    }
    await forwardKept(this.signal, data, kept, this.telemetry, this.next, ctx);
  };

  private filter(data: SignalData[S]): SignalData[S] {
    const resCache = new Map<object, boolean>(), scopeCache = new Map<object, boolean>();
    if (this.signal === 'traces') {
      return mapSpans(data as Traces, (span, ss, rs) => {
        const resource = rs.resource, scope = ss.scope;
        if (this.containerDropped(resource, scope, resCache, scopeCache, rs, ss)) return undefined;
        if (this.matches('span', { resource, scope, span })) return undefined;
        if (!this.byContext.has('spanevent') || span.events.length === 0) return span;
        const events = span.events.filter((spanEvent) => !this.matches('spanevent', { resource, scope, span, spanEvent }));
        return events.length === span.events.length ? span : { ...span, events };
      }) as SignalData[S];
    }
    if (this.signal === 'metrics') {
      return mapMetrics(data as Metrics, (metric, sm, rm) => {
        const resource = rm.resource, scope = sm.scope;
        if (this.containerDropped(resource, scope, resCache, scopeCache, rm, sm)) return undefined;
        if (this.matches('metric', { resource, scope, metric })) return undefined;
        if (!this.byContext.has('datapoint')) return metric;
        return withDataPoints(metric, (dataPoint) => !this.matches('datapoint', { resource, scope, metric, dataPoint }));
      }) as SignalData[S];
    }
    return mapLogs(data as Logs, (log, sl, rl) => {
      const resource = rl.resource, scope = sl.scope;
      if (this.containerDropped(resource, scope, resCache, scopeCache, rl, sl)) return undefined;
      return this.matches('log', { resource, scope, log }) ? undefined : log;
    }) as SignalData[S];
  }
}
