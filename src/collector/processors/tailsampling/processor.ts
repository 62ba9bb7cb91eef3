// TailSamplingProcessor buffers spans per trace id for decision_wait after the trace's first span,
// then runs every policy on the whole trace and forwards the trace (sampled) or forgets it.
//
// Memory is bounded by num_traces: a new trace beyond it evicts the oldest one; if that one was
// still waiting for its decision its spans are lost and counted as dropped too early. Decided
// traces stay in the table (without their spans) until evicted, so late spans follow the decision;
// after eviction the decision caches (LRU sets of trace ids, off by default) keep answering; a late
// span nobody remembers starts a new buffered trace. The decision timer ticks every second (or every
// decision_wait when that is shorter) and decides every trace that has waited long enough.
import { Registry, type Counter } from 'prom-client';
import type { ConsumeOf, CreateSettings } from '../../component.js';
import { parseDuration } from '../../internal/duration.js';
import { sharedCounter } from '../../internal/selfcounter.js';
import type { ResourceSpans, ScopeSpans, Traces } from '../../pdata/model.js';
import type { TailSamplingConfig } from './config.js';
import { finalDecision, type Decision, type Policy, type SpanRef } from './policies.js';

/** A set of trace ids that forgets the least recently used beyond `capacity`. */
export class LruSet {
  private readonly ids = new Map<string, true>();
  constructor(private readonly capacity: number) {}
  has(id: string): boolean {
    if (!this.ids.has(id)) return false;
    this.ids.delete(id);
    this.ids.set(id, true);
    return true;
  }
  add(id: string): void {
    if (this.capacity <= 0) return;
    this.ids.delete(id);
    this.ids.set(id, true);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.keys().next().value!);
  }
}

interface TraceEntry { firstArrivalMs: number; spans: SpanRef[]; sampled?: boolean }

/** Regroups span references into Traces, one ResourceSpans/ScopeSpans per original container. */
export function assemble(spans: SpanRef[]): Traces {
  const resources = new Map<ResourceSpans, Map<ScopeSpans, SpanRef['span'][]>>();
  for (const { span, rs, ss } of spans) {
    let scopes = resources.get(rs);
    if (!scopes) { scopes = new Map(); resources.set(rs, scopes); }
    let list = scopes.get(ss);
    if (!list) { list = []; scopes.set(ss, list); }
    list.push(span);
  }
  return {
    resourceSpans: [...resources].map(([rs, scopes]) => ({
      ...rs, scopeSpans: [...scopes].map(([ss, list]) => ({ ...ss, spans: list })),
    })),
  };
}

export class TailSamplingProcessor {
  private readonly traces = new Map<string, TraceEntry>(); // insertion order = arrival order
  private readonly waiting: string[] = []; // undecided trace ids in arrival order
  private waitingHead = 0;
  private readonly sampledCache: LruSet;
  private readonly notSampledCache: LruSet;
  private readonly waitMs: number;
  private timer: NodeJS.Timeout | undefined;
  private sending = new Set<Promise<void>>();
  private readonly metrics?: { decisions: Counter<string>; droppedTooEarly: Counter<string>; lateSpans: Counter<string> };
  /** Counts kept for tests and logs; the same numbers go to the self-metrics registry. */
  readonly stats = { sampled: 0, notSampled: 0, droppedTooEarly: 0, lateSpans: 0 };

  constructor(
    private readonly settings: CreateSettings,
    private readonly cfg: TailSamplingConfig,
    private readonly policies: Policy[],
    private readonly next: ConsumeOf<'traces'>,
  ) {
    this.waitMs = parseDuration(cfg.decision_wait, 'decision_wait');
    this.sampledCache = new LruSet(cfg.decision_cache.sampled_cache_size);
    this.notSampledCache = new LruSet(cfg.decision_cache.non_sampled_cache_size);
    const reg = settings.host?.selfMetrics;
    if (reg instanceof Registry) {
      this.metrics = {
        decisions: sharedCounter<string>(reg, 'sonde_processor_tail_sampling_global_count_traces_sampled_total',
          'Traces sampled or not by the tail_sampling processor (final decision).', ['processor', 'sampled']),
        droppedTooEarly: sharedCounter<string>(reg, 'sonde_processor_tail_sampling_sampling_trace_dropped_too_early_total',
          'Traces evicted by num_traces before their sampling decision.', ['processor']),
        lateSpans: sharedCounter<string>(reg, 'sonde_processor_tail_sampling_late_spans_total',
          'Spans that arrived after their trace was decided and followed that decision.', ['processor']),
      };
    }
  }

  private get label() { return { processor: this.settings.id.toString() }; }

  readonly start = async (): Promise<void> => {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), Math.min(1000, this.waitMs));
    this.timer.unref();
  };

  readonly shutdown = async (): Promise<void> => {
    clearInterval(this.timer);
    this.timer = undefined;
    if (!this.cfg.drop_pending_traces_on_shutdown) this.decideDue(Infinity);
    await Promise.allSettled([...this.sending]);
  };

  readonly consume: ConsumeOf<'traces'> = async (td) => {
    const byTrace = new Map<string, SpanRef[]>();
    for (const rs of td.resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const list = byTrace.get(span.traceId);
          if (list) list.push({ span, rs, ss }); else byTrace.set(span.traceId, [{ span, rs, ss }]);
        }
      }
    }
    const forwardNow: SpanRef[] = [];
    const now = Date.now();
    for (const [traceId, spans] of byTrace) {
      const entry = this.traces.get(traceId);
      if (entry?.sampled !== undefined || (!entry && (this.sampledCache.has(traceId) || this.notSampledCache.has(traceId)))) {
        // Late spans follow the decision still in memory, or the cached one.
        const sampled = entry ? entry.sampled! : this.sampledCache.has(traceId);
        this.stats.lateSpans += spans.length;
        this.metrics?.lateSpans.inc(this.label, spans.length);
        if (sampled) forwardNow.push(...spans);
        continue;
      }
      if (entry) { entry.spans.push(...spans); continue; }
      this.traces.set(traceId, { firstArrivalMs: now, spans });
      this.waiting.push(traceId);
      if (this.traces.size > this.cfg.num_traces) this.evictOldest();
    }
    if (forwardNow.length > 0) await this.next(assemble(forwardNow));
  };

  private evictOldest(): void {
    const [oldestId, oldest] = this.traces.entries().next().value!;
    this.traces.delete(oldestId);
    if (oldest.sampled === undefined) {
      this.stats.droppedTooEarly++;
      this.metrics?.droppedTooEarly.inc(this.label);
      this.settings.logger.debug({ traceId: oldestId, spans: oldest.spans.length }, 'tail_sampling: trace evicted before its decision (num_traces reached)');
    }
  }

  /** Decides traces that have waited decision_wait; exported for tests that drive time. */
  tick(): void {
    this.decideDue(Date.now() - this.waitMs);
  }

  private decideDue(arrivedBeforeMs: number): void {
    const sampledSpans: SpanRef[] = [];
    while (this.waitingHead < this.waiting.length) {
      const id = this.waiting[this.waitingHead]!;
      const entry = this.traces.get(id);
      if (entry && entry.sampled === undefined) {
        if (entry.firstArrivalMs > arrivedBeforeMs) break;
        const sampled = this.decide(id, entry);
        if (sampled) sampledSpans.push(...entry.spans);
        entry.sampled = sampled;
        entry.spans = [];
      }
      this.waitingHead++;
    }
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting.splice(0, this.waitingHead);
      this.waitingHead = 0;
    }
    if (sampledSpans.length === 0) return;
    const p: Promise<void> = this.next(assemble(sampledSpans))
      .catch((err: unknown) => {
        this.settings.logger.error({ err: (err as Error)?.message, spans: sampledSpans.length }, 'tail_sampling: sending sampled traces downstream failed; they are lost');
      })
      .finally(() => this.sending.delete(p));
    this.sending.add(p);
  }

  private decide(traceId: string, entry: TraceEntry): boolean {
    const view = { traceId, spans: entry.spans };
    const decisions: Decision[] = [];
    for (const policy of this.policies) {
      const d = policy.evaluate(view);
      decisions.push(d);
      if (this.cfg.sample_on_first_match && d === 'sampled') break;
    }
    const sampled = finalDecision(decisions);
    if (sampled) { this.stats.sampled++; this.sampledCache.add(traceId); } else { this.stats.notSampled++; this.notSampledCache.add(traceId); }
    this.metrics?.decisions.inc({ ...this.label, sampled: String(sampled) });
    return sampled;
  }

  /** Traces currently held (decided or not); never more than num_traces. */
  get tracesInMemory(): number { return this.traces.size; }
}
