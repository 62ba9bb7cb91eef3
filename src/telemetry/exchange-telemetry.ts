// The façade the `ebpf` receiver calls: record() every Exchange with its origin, then periodically
// drainSpans() and collectMetrics() to hand pdata to the pipelines.
import type { Metrics, Resource, Span, Traces } from '../collector/pdata/model.js';
import type { Exchange, ExchangeOrigin } from '../protocols/exchange.js';
import { MonotonicClock } from './clock.js';
import { resolveTelemetryConfig, type TelemetryConfig } from './config.js';
import { describeGrpc, describeHttp, otlpExportSignal, type OtlpSignal } from './exchange-facts.js';
import { RedMetrics } from './red-metrics.js';
import { RouteResolver } from './routes.js';
import { sondeScope } from './scope.js';
import { ServiceIdentityResolver, type ServiceIdentitySource } from './service-identity.js';
import { linkSpans, type PendingSpan } from './span-linker.js';
import { SpanFactory, type SpanIds } from './spans.js';

export interface ExchangeTelemetryDeps {
  /** Default: a ServiceIdentityResolver reading /proc. */
  identity?: ServiceIdentitySource;
  /** Default: a MonotonicClock calibrated now. */
  clock?: MonotonicClock;
}

export interface ExchangeTelemetryStats {
  /** Exchanges passed to record(). */
  exchanges: number;
  /** Dropped because their path matched routes.ignored_patterns. */
  ignored: number;
  /** Not turned into spans because the incoming traceparent had sampled=0 (still counted in metrics). */
  unsampled: number;
  /** Spans dropped because max_pending_spans were waiting for drainSpans(). */
  spansDropped: number;
  /** Requests with a traceparent header that was invalid and therefore ignored. */
  invalidTraceparents: number;
  /** Proxy client spans re-identified because they forwarded the caller's traceparent (span-linker.ts). */
  forwardedTraceparents: number;
  /** Server spans re-parented to the client span at the other end of a same-host connection. */
  linkedByConnection: number;
  /** Records that went to an `otel.metric.overflow` series. */
  metricOverflowRecords: number;
  /**
   * Exchanges not turned into spans because they are OTLP exports (either end) or their process
   * exports traces over OTLP itself (exclude_otel_instrumented_services).
   */
  otelInstrumented: number;
  /** Exchanges left out of the RED metrics (their span kept, if any) because their process exports metrics over OTLP itself. */
  otelInstrumentedMetrics: number;
  /** Exchanges that could not be processed at all (see lastError). */
  failed: number;
  lastError: string | undefined;
}

const MAX_OTEL_INSTRUMENTED = 4096;

/** exportedSignals()'s answer for an exchange that is itself an OTLP export. */
const EXPORT_CALL = 'export-call';

interface PendingSpans { resource: Resource; entries: PendingSpan[] }

export class ExchangeTelemetry {
  readonly config: TelemetryConfig;
  private readonly clock: MonotonicClock;
  private readonly identity: ServiceIdentitySource;
  private readonly routes: RouteResolver;
  private readonly spanFactory: SpanFactory;
  private readonly metrics: RedMetrics;
  private pending = new Map<string, PendingSpans>();
  private pendingCount = 0;
  private readonly counters = { exchanges: 0, ignored: 0, unsampled: 0, spansDropped: 0, forwardedTraceparents: 0, linkedByConnection: 0, otelInstrumented: 0, otelInstrumentedMetrics: 0, failed: 0 };
  /** Identity key (pid + start time) → the signals that process was seen exporting over OTLP; oldest forgotten first. */
  private readonly otlpExporters = new Map<string, Set<OtlpSignal>>();
  private lastError: string | undefined;

  /** `config` is the user's (partial) configuration; it is validated and completed with defaults. */
  constructor(config: unknown = {}, deps: ExchangeTelemetryDeps = {}) {
    this.config = resolveTelemetryConfig(config);
    this.clock = deps.clock ?? new MonotonicClock();
    this.identity = deps.identity ?? new ServiceIdentityResolver();
    this.routes = new RouteResolver(this.config.routes);
    this.spanFactory = new SpanFactory(this.clock, { parentBasedSampling: this.config.parent_based_sampling });
    this.metrics = new RedMetrics(this.clock.nowUnixNs(), {
      durationBucketsSeconds: this.config.buckets.duration_seconds,
      bodySizeBucketsBytes: this.config.buckets.body_size_bytes,
      maxSeriesPerMetric: this.config.max_series_per_metric,
    });
  }

  /** Turns one exchange into a span (kept until drainSpans) and metric records. Never throws. */
  record(exchange: Exchange, origin: ExchangeOrigin): void {
    this.counters.exchanges++;
    try {
      this.recordUnsafe(exchange, origin);
    } catch (err) {
      this.counters.failed++;
      this.lastError = `recording ${exchange.protocol} ${exchange.request?.method} ${exchange.request?.target} `
        + `of pid ${origin.pid}: ${(err as Error).message}`;
    }
  }

  private recordUnsafe(exchange: Exchange, origin: ExchangeOrigin): void {
    const id = this.identity.identify(origin.pid);
    let spans = this.config.traces;
    let metrics = this.config.metrics;
    if (this.config.exclude_otel_instrumented_services) {
      // Per signal, as the SDK reports it: an app exporting only metrics keeps Sonde's spans.
      const exported = this.exportedSignals(id.key, exchange, origin);
      if (exported === EXPORT_CALL) { this.counters.otelInstrumented++; return; }
      if (exported !== undefined) {
        if (spans && exported.has('traces')) { spans = false; this.counters.otelInstrumented++; }
        if (metrics && exported.has('metrics')) { metrics = false; this.counters.otelInstrumentedMetrics++; }
        if (!spans && !metrics) return;
      }
    }
    let build: (ids: SpanIds) => Span;
    if (exchange.protocol === 'grpc') {
      if (this.routes.isIgnored(exchange.request.target)) { this.counters.ignored++; return; }
      const facts = describeGrpc(exchange, origin);
      if (metrics) this.metrics.recordGrpc(id, exchange, origin, facts);
      if (!spans) return;
      build = (ids) => this.spanFactory.grpcSpan(exchange, origin, facts, ids);
    } else {
      const facts = describeHttp(exchange, origin);
      // Low-cardinality route memory is per service name: replicas of one service learn together.
      const resolved = facts.path === '' ? { ignored: false as const, route: undefined } : this.routes.resolve(facts.path, id.serviceName);
      if (resolved.ignored) { this.counters.ignored++; return; }
      if (metrics) this.metrics.recordHttp(id, exchange, origin, facts, resolved.route);
      if (!spans) return;
      build = (ids) => this.spanFactory.httpSpan(exchange, origin, facts, resolved.route, ids);
    }
    const ids = this.spanFactory.spanIds(exchange, origin);
    if (!ids.sampled) { this.counters.unsampled++; return; }
    if (this.pendingCount >= this.config.max_pending_spans) { this.counters.spansDropped++; return; }
    let group = this.pending.get(id.key);
    if (!group) {
      group = { resource: id.resource, entries: [] };
      this.pending.set(id.key, group);
    }
    group.entries.push({ span: build(ids), origin, propagated: ids.propagated });
    this.pendingCount++;
  }

  /**
   * EXPORT_CALL when `exchange` is an OTLP export (never reported, at either end; a client end
   * also records its signal for the process), else the signals the process was seen exporting.
   */
  private exportedSignals(key: string, exchange: Exchange, origin: ExchangeOrigin): ReadonlySet<OtlpSignal> | typeof EXPORT_CALL | undefined {
    const signal = otlpExportSignal(exchange);
    if (signal === undefined) return this.otlpExporters.get(key);
    if (origin.role === 'client') {
      const signals = this.otlpExporters.get(key);
      if (signals) signals.add(signal);
      else {
        this.otlpExporters.set(key, new Set([signal]));
        if (this.otlpExporters.size > MAX_OTEL_INSTRUMENTED) this.otlpExporters.delete(this.otlpExporters.keys().next().value!);
      }
    }
    return EXPORT_CALL;
  }

  /** The signals `pid` was seen exporting over OTLP (those Sonde no longer reports for it, by default), sorted. */
  otlpSignalsOf(pid: number): OtlpSignal[] {
    return [...this.otlpExporters.get(this.identity.identify(pid).key) ?? []].sort();
  }

  /**
   * Takes every span recorded since the last drain, grouped by resource (service identity), after
   * linking the two ends of calls seen within this batch (span-linker.ts).
   */
  drainSpans(): Traces {
    this.clock.maybeRecalibrate();
    const groups = [...this.pending.values()];
    this.pending = new Map();
    this.pendingCount = 0;
    const all: PendingSpan[] = [];
    for (const g of groups) for (const e of g.entries) all.push(e);
    const linked = linkSpans(all, () => this.spanFactory.newSpanId());
    this.counters.forwardedTraceparents += linked.forwarded;
    this.counters.linkedByConnection += linked.linked;
    return {
      resourceSpans: groups.map(({ resource, entries }) => ({
        resource,
        scopeSpans: [{ scope: sondeScope(), spans: entries.map((e) => e.span), schemaUrl: '' }],
        schemaUrl: '',
      })),
    };
  }

  /** Cumulative RED metrics as of `nowUnixNs` (default: now). */
  collectMetrics(nowUnixNs: bigint = this.clock.nowUnixNs()): Metrics {
    this.clock.maybeRecalibrate();
    return this.metrics.collect(nowUnixNs);
  }

  get stats(): ExchangeTelemetryStats {
    return {
      ...this.counters,
      invalidTraceparents: this.spanFactory.invalidTraceparents,
      metricOverflowRecords: this.metrics.overflowRecords,
      lastError: this.lastError,
    };
  }
}
