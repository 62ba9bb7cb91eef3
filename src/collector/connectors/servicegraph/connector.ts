// The `servicegraph` connector: pairs the client and server spans of each request into an edge
// (client service → server service) and counts requests, failures and latency per edge, as the
// Collector's servicegraphconnector and Tempo do. Edges that stay unpaired past `store.ttl` become
// virtual nodes: a server span without parent gets the client "user"; a client span without
// server gets its peer (peer.service, db.name, db.system, or "unknown"). Database client spans
// (with db.name) are complete on their own.
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { ConsumerComponent, CreateSettings, Host } from '../../component.js';
import type { MetricsConsumer } from '../../consumer.js';
import { anyValueToString } from '../../internal/anyvalue.js';
import { parseDuration } from '../../internal/duration.js';
import { sharedCounter } from '../../internal/selfcounter.js';
import { type AnyHistogram, ExplicitHistogram, ExponentialHistogram, histogramMetric } from '../../pdata/histogram.js';
import { MetricsFlusher } from '../../internal/metricsflusher.js';
import {
  AggregationTemporality, type Attributes, type Metric, type Metrics, type Span, SpanKind, StatusCode, type Traces,
} from '../../pdata/model.js';
import { latencyBoundsSec, type ServiceGraphConfig } from './config.js';
import { type Edge, EdgeStore } from './store.js';

const droppedSpansMetric = 'sonde_connector_servicegraph_dropped_spans_total';
const scope = { name: 'traces_service_graph', version: '', attributes: {}, droppedAttributesCount: 0 };

interface EdgeSeries {
  attributes: Attributes;
  total: number;
  failed: number;
  server: AnyHistogram;
  client: AnyHistogram;
  lastUpdatedMs: number;
}

const spanSeconds = (s: Span) => (s.endTimeUnixNano > s.startTimeUnixNano ? Number(s.endTimeUnixNano - s.startTimeUnixNano) / 1e9 : 0);

function findAttribute(names: string[], ...sources: Attributes[]): string | undefined {
  for (const name of names) {
    for (const attrs of sources) {
      const v = attrs[name];
      if (v !== undefined && v !== null && v !== '') return anyValueToString(v);
    }
  }
  return undefined;
}

export class ServiceGraphConnector implements ConsumerComponent<'traces'> {
  private readonly logger: Logger;
  private readonly store: EdgeStore;
  private readonly bounds: number[];
  private readonly flushMs: number;
  private readonly cacheLoopMs: number;
  private readonly series = new Map<string, EdgeSeries>();
  private readonly startNs = BigInt(Date.now()) * 1_000_000n;
  private timers: NodeJS.Timeout[] = [];
  private dropped: Counter<'connector'> | undefined;
  private readonly flusher: MetricsFlusher;

  constructor(private readonly settings: CreateSettings, private readonly cfg: ServiceGraphConfig, next: MetricsConsumer) {
    this.logger = settings.logger;
    this.store = new EdgeStore(parseDuration(cfg.store.ttl, 'store.ttl'), cfg.store.max_items);
    this.bounds = latencyBoundsSec(cfg);
    this.flushMs = parseDuration(cfg.metrics_flush_interval, 'metrics_flush_interval');
    this.cacheLoopMs = parseDuration(cfg.cache_loop, 'cache_loop');
    this.flusher = new MetricsFlusher(() => this.collect(), next, (err) => this.logger.warn(
      { err }, 'servicegraph: the metrics pipeline refused a flush; the next flush carries the cumulative values again'));
  }

  async start(host: Host): Promise<void> {
    this.dropped = sharedCounter(host.selfMetrics, droppedSpansMetric, 'Spans the servicegraph connector dropped because its store was full (store.max_items).', ['connector']);
    this.timers.push(setInterval(() => this.expireEdges(), parseDuration(this.cfg.store_expiration_loop, 'store_expiration_loop')));
    this.timers.push(setInterval(() => this.cleanSeries(), this.cacheLoopMs));
    if (this.flushMs > 0) this.timers.push(setInterval(() => { void this.flush(); }, this.flushMs));
  }

  async consumeTraces(td: Traces): Promise<void> {
    for (const rs of td.resourceSpans) {
      const resAttrs = rs.resource.attributes;
      const service = findAttribute(['service.name'], resAttrs) ?? '';
      for (const ss of rs.scopeSpans) for (const span of ss.spans) this.pair(span, service, resAttrs);
    }
    if (this.flushMs === 0) await this.flush();
  }

  private upsert(key: string, update: (e: Edge) => void): void {
    const result = this.store.upsert(key, update);
    if (result === 'full') {
      this.dropped?.inc({ connector: this.settings.id.toString() });
      this.logger.debug({ max_items: this.cfg.store.max_items }, 'servicegraph: store full, span dropped');
    } else if (result) {
      this.complete(result);
    }
  }

  private dims(prefix: 'client' | 'server', e: Edge, span: Span, resAttrs: Attributes): void {
    for (const d of this.cfg.dimensions) {
      const v = findAttribute([d], span.attributes, resAttrs);
      if (v !== undefined) e.dimensions[`${prefix}_${d}`] = v;
    }
  }

  private pair(span: Span, service: string, resAttrs: Attributes): void {
    const failed = span.status.code === StatusCode.ERROR;
    switch (span.kind) {
      case SpanKind.CLIENT:
      case SpanKind.PRODUCER:
        this.upsert(`${span.traceId}:${span.spanId}`, (e) => {
          e.connectionType = span.kind === SpanKind.PRODUCER ? 'messaging_system' : '';
          e.clientService = service;
          e.clientLatencySec = spanSeconds(span);
          e.failed ||= failed;
          this.dims('client', e, span, resAttrs);
          for (const name of this.cfg.virtual_node_peer_attributes) {
            const v = findAttribute([name], span.attributes);
            if (v !== undefined) e.peer[name] = v;
          }
          // A database has no server span: the client span is the whole request.
          const db = findAttribute(this.cfg.database_name_attributes, span.attributes, resAttrs);
          if (span.kind === SpanKind.CLIENT && db !== undefined) {
            e.connectionType = 'database';
            e.serverService = db;
            e.serverLatencySec = e.clientLatencySec;
          }
        });
        return;
      case SpanKind.SERVER:
      case SpanKind.CONSUMER:
        this.upsert(`${span.traceId}:${span.parentSpanId}`, (e) => {
          if (span.kind === SpanKind.CONSUMER) e.connectionType = 'messaging_system';
          e.serverService = service;
          e.serverLatencySec = spanSeconds(span);
          e.failed ||= failed;
          e.rootServer = span.parentSpanId === '';
          this.dims('server', e, span, resAttrs);
        });
        return;
      default:
    }
  }

  private complete(e: Edge): void {
    const attributes: Attributes = { client: e.clientService, server: e.serverService, connection_type: e.connectionType, ...e.dimensions };
    if (this.cfg.virtual_node_extra_label && e.virtualNode) attributes.virtual_node = e.virtualNode;
    const key = JSON.stringify(Object.entries(attributes).sort());
    let s = this.series.get(key);
    if (!s) {
      s = { attributes, total: 0, failed: 0, server: this.newHistogram(), client: this.newHistogram(), lastUpdatedMs: 0 };
      this.series.set(key, s);
    }
    s.total++;
    if (e.failed) s.failed++;
    s.server.record(e.serverLatencySec);
    s.client.record(e.clientLatencySec);
    s.lastUpdatedMs = Date.now();
  }

  private newHistogram(): AnyHistogram {
    return this.cfg.exponential_histogram_max_size > 0 ? new ExponentialHistogram(this.cfg.exponential_histogram_max_size) : new ExplicitHistogram(this.bounds);
  }

  /** Unpaired edges past their TTL become virtual-node edges ("user" client, peer-named server). */
  expireEdges(now = Date.now()): void {
    for (const e of this.store.expire(now)) {
      e.connectionType = 'virtual_node';
      if (e.clientService === '' && e.rootServer) {
        e.clientService = 'user';
        e.virtualNode = 'client';
        this.complete(e);
      }
      if (e.serverService === '' && e.clientService !== '') {
        e.serverService = findAttribute(this.cfg.virtual_node_peer_attributes, e.peer) ?? 'unknown';
        e.virtualNode = 'server';
        this.complete(e);
      }
    }
  }

  private cleanSeries(now = Date.now()): void {
    for (const [key, s] of this.series) if (s.lastUpdatedMs + this.cacheLoopMs < now) this.series.delete(key);
  }

  collect(): Metrics {
    if (this.series.size === 0) return { resourceMetrics: [] };
    const base = { startTimeUnixNano: this.startNs, timeUnixNano: BigInt(Date.now()) * 1_000_000n, flags: 0 };
    const all = [...this.series.values()];
    const sum = (name: string, pick: (s: EdgeSeries) => number, only: (s: EdgeSeries) => boolean = () => true): Metric => ({
      name, description: '', unit: '', metadata: {},
      data: {
        type: 'sum', isMonotonic: true, aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPoints: all.filter(only).map((s) => ({ ...base, attributes: s.attributes, value: pick(s), valueType: 'int', exemplars: [] })),
      },
    });
    const metrics = [
      sum('traces_service_graph_request_total', (s) => s.total),
      sum('traces_service_graph_request_failed_total', (s) => s.failed, (s) => s.failed > 0),
      histogramMetric({ name: 'traces_service_graph_request_server_seconds', unit: 's' }, AggregationTemporality.CUMULATIVE, base,
        all.map((s) => ({ attributes: s.attributes, histogram: s.server }))),
      histogramMetric({ name: 'traces_service_graph_request_client_seconds', unit: 's' }, AggregationTemporality.CUMULATIVE, base,
        all.map((s) => ({ attributes: s.attributes, histogram: s.client }))),
    ].filter((m) => m.data.dataPoints.length > 0);
    return { resourceMetrics: [{ resource: { attributes: {}, droppedAttributesCount: 0 }, scopeMetrics: [{ scope: structuredClone(scope), metrics, schemaUrl: '' }], schemaUrl: '' }] };
  }

  /** Sends the edge metrics now (also what the flush timer calls). */
  flush(): Promise<void> {
    return this.flusher.flush();
  }

  async shutdown(): Promise<void> {
    if (this.timers.length === 0) return;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.flush();
  }
}
