// ResourceProcessor applies the configured actions to every resource's attributes, in place.
import type { ConsumeOf } from '../../component.js';
import { applyActions, type CompiledAction } from '../../internal/attraction.js';
import type { Logs, Metrics, Resource, Signal, SignalData, Traces } from '../../pdata/model.js';

function resourcesOf(signal: Signal, data: SignalData[Signal]): Resource[] {
  if (signal === 'traces') return (data as Traces).resourceSpans.map((r) => r.resource);
  if (signal === 'metrics') return (data as Metrics).resourceMetrics.map((r) => r.resource);
  return (data as Logs).resourceLogs.map((r) => r.resource);
}

export class ResourceProcessor<S extends Signal> {
  constructor(private readonly signal: S, private readonly actions: CompiledAction[], private readonly next: ConsumeOf<S>) {}

  readonly consume: ConsumeOf<S> = async (data, ctx) => {
    for (const resource of resourcesOf(this.signal, data)) applyActions(this.actions, resource.attributes, ctx);
    await this.next(data, ctx);
  };
}
