// SDK traces that continue captured ones (telemetry/trace-linker.ts): the `ebpf` receiver learns
// them when an SDK-instrumented process, serving a captured request that carried no traceparent,
// starts a trace of its own; every receiver of SDK telemetry (`otlp`) re-identifies those spans as
// they enter the pipeline, so the request is one trace: caller (captured) → SDK spans → callee.
// Shared through the Host because the two receivers never import each other. Bounded: the oldest
// joins are forgotten first (an SDK exports its spans seconds after the join is learnt).
import type { TraceJoinRegistry } from '../component.js';
import type { Traces } from '../pdata/model.js';
import type { TraceJoin } from '../../telemetry/trace-linker.js';

const MAX_JOINS = 65_536;

export class TraceJoins implements TraceJoinRegistry {
  private readonly joins = new Map<string, TraceJoin>();

  add(join: TraceJoin): void {
    if (this.joins.size >= MAX_JOINS) this.joins.delete(this.joins.keys().next().value!);
    this.joins.set(join.sdkTraceId, join);
  }

  /** Moves the spans of joined SDK traces into the captured trace, in place; an SDK root span gets the captured parent. */
  rewrite(td: Traces): void {
    if (this.joins.size === 0) return;
    for (const rs of td.resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const join = this.joins.get(span.traceId);
          if (!join) continue;
          span.traceId = join.traceId;
          if (span.parentSpanId === '' && join.parentSpanId !== '') span.parentSpanId = join.parentSpanId;
        }
      }
    }
  }
}
