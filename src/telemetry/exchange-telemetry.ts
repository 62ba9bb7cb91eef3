// The façade the `ebpf` receiver calls: startRequests() as requests start, record() every Exchange
// with its origin as it ends, then periodically drainSpans() and collectMetrics() to hand pdata to
// the pipelines. Trace context is decided at the start (trace-linker.ts).
import type { Metrics, Resource, Span, Traces } from '../collector/pdata/model.js';
import type { Exchange, ExchangeOrigin, StartedRequest } from '../protocols/exchange.js';
import { MonotonicClock } from './clock.js';
import { resolveTelemetryConfig, type TelemetryConfig } from './config.js';
import { describeGrpc, describeHttp, otlpExportSignal, type OtlpSignal } from './exchange-facts.js';
import { RedMetrics } from './red-metrics.js';
import { RouteResolver } from './routes.js';
import { sondeScope } from './scope.js';
import { ServiceIdentityResolver, type ServiceIdentitySource } from './service-identity.js';
import { SpanFactory, type SpanIds } from './spans.js';
import { TraceLinker, type TraceJoin, type TraceLinkerStats } from './trace-linker.js';

export interface ExchangeTelemetryDeps {
  /** Default: a ServiceIdentityResolver reading /proc. */
  identity?: ServiceIdentitySource;
  /** Default: a MonotonicClock calibrated now. */
  clock?: MonotonicClock;
  /** Told when an SDK's trace turns out to continue a captured one (its spans must be re-identified where they enter the pipeline). */
  onTraceJoin?: (join: TraceJoin) => void;
}

export interface ExchangeTelemetryStats extends TraceLinkerStats {
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
  /** Records that went to an `otel.metric.overflow` series. */
  metricOverflowRecords: number;
  /**
   * Exchanges not turned into spans because they are OTLP exports (either end) or their process
   * exports traces over OTLP itself (exclude_otel_instrumented_services).
   */
  otelInstrumented: number;
  /** Exchanges left out of the RED metrics (their span kept, if any) because their process exports metrics over OTLP itself. */
  otelInstrumentedMetrics: number;
  /** Processes seen making their own trace context for calls they made while serving a request (an SDK): their spans are left to it. */
  selfTracedProcesses: number;
  /** Exchanges that could not be processed at all (see lastError). */
  failed: number;
  lastError: string | undefined;
}

const MAX_OTEL_INSTRUMENTED = 4096;

/** exportedSignals()'s answer for an exchange that is itself an OTLP export. */
const EXPORT_CALL = 'export-call';

interface PendingSpans { resource: Resource; spans: Span[] }

/** Requests started and not yet ended whose trace context is held (more: the oldest are forgotten). */
const MAX_STARTED_REQUESTS = 65_536;

export class ExchangeTelemetry {
  readonly config: TelemetryConfig;
  private readonly clock: MonotonicClock;
  private readonly identity: ServiceIdentitySource;
  private readonly routes: RouteResolver;
  private readonly spanFactory: SpanFactory;
  private readonly metrics: RedMetrics;
  private readonly linker: TraceLinker;
  private pending = new Map<string, PendingSpans>();
  private pendingCount = 0;
  private readonly counters = { exchanges: 0, ignored: 0, unsampled: 0, spansDropped: 0, otelInstrumented: 0, otelInstrumentedMetrics: 0, selfTracedProcesses: 0, failed: 0 };
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
    this.linker = new TraceLinker(this.spanFactory, MAX_STARTED_REQUESTS, deps.onTraceJoin);
    this.metrics = new RedMetrics(this.clock.nowUnixNs(), {
      durationBucketsSeconds: this.config.buckets.duration_seconds,
      bodySizeBucketsBytes: this.config.buckets.body_size_bytes,
      maxSeriesPerMetric: this.config.max_series_per_metric,
    });
  }

  /** Decides the trace context of requests that started (before their exchanges are recorded). Never throws. */
  startRequests(started: readonly StartedRequest[]): void {
    for (const s of started) {
      try {
        if (!this.linker.start(s) || !this.config.exclude_otel_instrumented_services) continue;
        // It traces itself: its spans are its SDK's from now on, as if it had exported them already.
        const key = this.identity.identify(s.origin.pid).key;
        if (this.otlpExporters.get(key)?.has('traces')) continue;
        this.counters.selfTracedProcesses++;
        this.markExporting(key, 'traces');
      } catch (err) {
        this.counters.failed++;
        this.lastError = `deciding the trace context of a request of pid ${s.origin.pid}: ${(err as Error).message}`;
      }
    }
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
    const decided = this.linker.end(origin.connectionId, exchange.sequence);
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
    const ids = decided ?? this.spanFactory.spanIds(exchange.request.headers, origin.role);
    if (!ids.sampled) { this.counters.unsampled++; return; }
    if (this.pendingCount >= this.config.max_pending_spans) { this.counters.spansDropped++; return; }
    let group = this.pending.get(id.key);
    if (!group) {
      group = { resource: id.resource, spans: [] };
      this.pending.set(id.key, group);
    }
    const span = build(ids);
    if (decided?.inferred) span.attributes['sonde.parent.inferred'] = true;
    group.spans.push(span);
    this.pendingCount++;
  }

  /**
   * EXPORT_CALL when `exchange` is an OTLP export (never reported, at either end; a client end
   * also records its signal for the process), else the signals the process was seen exporting.
   */
  private exportedSignals(key: string, exchange: Exchange, origin: ExchangeOrigin): ReadonlySet<OtlpSignal> | typeof EXPORT_CALL | undefined {
    const signal = otlpExportSignal(exchange);
    if (signal === undefined) return this.otlpExporters.get(key);
    if (origin.role === 'client') this.markExporting(key, signal);
    return EXPORT_CALL;
  }

  private markExporting(key: string, signal: OtlpSignal): void {
    const signals = this.otlpExporters.get(key);
    if (signals) {
      signals.add(signal);
      return;
    }
    this.otlpExporters.set(key, new Set([signal]));
    if (this.otlpExporters.size > MAX_OTEL_INSTRUMENTED) this.otlpExporters.delete(this.otlpExporters.keys().next().value!);
  }

  /** The signals `pid` was seen exporting over OTLP (those Sonde no longer reports for it, by default), sorted. */
  otlpSignalsOf(pid: number): OtlpSignal[] {
    return [...this.otlpExporters.get(this.identity.identify(pid).key) ?? []].sort();
  }

  /** Takes every span recorded since the last drain, grouped by resource (service identity). */
  drainSpans(): Traces {
    this.clock.maybeRecalibrate();
    const groups = [...this.pending.values()];
    this.pending = new Map();
    this.pendingCount = 0;
    return {
      resourceSpans: groups.map(({ resource, spans }) => ({
        resource,
        scopeSpans: [{ scope: sondeScope(), spans, schemaUrl: '' }],
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
      ...this.linker.stats,
      invalidTraceparents: this.spanFactory.invalidTraceparents,
      metricOverflowRecords: this.metrics.overflowRecords,
      lastError: this.lastError,
    };
  }
}
