// AttributesProcessor applies the configured actions, in order, to the attributes of every span,
// log record or metric data point selected by include/exclude. It changes the data in place, so
// its factory declares mutatesData and the service hands it a private copy on fan-out.
import type { ConsumeOf } from '../../component.js';
import { applyActions, type CompiledAction } from '../../internal/attraction.js';
import type { Attributes, Logs, Metrics, Signal, SignalData, Traces } from '../../pdata/model.js';
import type { Matcher } from './matcher.js';

export class AttributesProcessor<S extends Signal> {
  constructor(
    private readonly signal: S,
    private readonly actions: CompiledAction[],
    private readonly selected: Matcher,
    private readonly next: ConsumeOf<S>,
  ) {}

  readonly consume: ConsumeOf<S> = async (data, ctx) => {
    this.apply(data, (attributes) => applyActions(this.actions, attributes, ctx));
    await this.next(data, ctx);
  };

  private apply(data: SignalData[S], act: (attrs: Attributes) => void): void {
    const sel = this.selected;
    if (this.signal === 'traces') {
      for (const { resource, scopeSpans } of (data as Traces).resourceSpans) {
        for (const { scope, spans } of scopeSpans) {
          for (const span of spans) if (sel({ resource, scope, span, attributes: span.attributes })) act(span.attributes);
        }
      }
    } else if (this.signal === 'logs') {
      for (const { resource, scopeLogs } of (data as Logs).resourceLogs) {
        for (const { scope, logRecords } of scopeLogs) {
          for (const log of logRecords) if (sel({ resource, scope, log, attributes: log.attributes })) act(log.attributes);
        }
      }
    } else {
      for (const { resource, scopeMetrics } of (data as Metrics).resourceMetrics) {
        for (const { scope, metrics } of scopeMetrics) {
          for (const metric of metrics) {
            for (const dp of metric.data.dataPoints) {
              if (sel({ resource, scope, metricName: metric.name, attributes: dp.attributes })) act(dp.attributes);
            }
          }
        }
      }
    }
  }
}
