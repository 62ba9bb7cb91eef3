// RED metrics (rate, errors, duration) per the OpenTelemetry semantic conventions, aggregated in
// process as cumulative explicit-bucket histograms. The record path is one key string, one Map
// lookup and a binary search per histogram.
import { ExplicitHistogram, histogramMetric } from '../collector/pdata/histogram.js';
import { AggregationTemporality, type Attributes, type Metrics, type Resource } from '../collector/pdata/model.js';
import type { Exchange, ExchangeOrigin } from '../protocols/exchange.js';
import { exchangeDurationNs, type GrpcFacts, type HttpFacts } from './exchange-facts.js';
import { sondeScope } from './scope.js';

/** The HTTP semantic conventions' advised boundaries for request durations, in seconds. */
export const DEFAULT_DURATION_BUCKETS_SECONDS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** Body size boundaries in bytes (as Beyla uses). */
export const DEFAULT_BODY_SIZE_BUCKETS_BYTES: readonly number[] = [0, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

export interface RedMetricsOptions {
  /** HTTP duration boundaries in seconds; rpc.*.duration (in ms) uses the same boundaries × 1000. */
  durationBucketsSeconds: readonly number[];
  bodySizeBucketsBytes: readonly number[];
  /** Distinct attribute sets per metric; beyond it, records go to one `otel.metric.overflow=true` series per resource. */
  maxSeriesPerMetric: number;
}

export const DEFAULT_RED_METRICS_OPTIONS: RedMetricsOptions = {
  durationBucketsSeconds: DEFAULT_DURATION_BUCKETS_SECONDS,
  bodySizeBucketsBytes: DEFAULT_BODY_SIZE_BUCKETS_BYTES,
  maxSeriesPerMetric: 10_000,
};

/** The resource a series belongs to: a stable key and the attributes. */
export interface MetricResource { key: string; resource: Resource }

interface HistogramDefinition { name: string; unit: string; description: string; bounds: readonly number[] }
interface SeriesRow { resource: MetricResource; attributes: Attributes; histograms: ExplicitHistogram[] }

/**
 * Histograms that always share one attribute set (e.g. server duration and body sizes), so one
 * lookup finds all of them. Bounded: past `maxSeries` rows, new attribute sets share an overflow row.
 * A series is found through nested maps (resource, then a string, a number and a string key from
 * the attributes) rather than one concatenated key: no string is built or hashed per record.
 */
class SeriesTable {
  private readonly rows = new Map<string, Map<string, Map<number, Map<string, SeriesRow>>>>();
  private readonly overflow = new Map<string, SeriesRow>();
  private regular = 0;
  overflowRecords = 0;

  constructor(readonly definitions: HistogramDefinition[], private readonly maxSeries: number) {}

  row(resource: MetricResource, k1: string, k2: number, k3: string, attributes: () => Attributes): SeriesRow {
    let byK1 = this.rows.get(resource.key);
    if (!byK1) this.rows.set(resource.key, (byK1 = new Map()));
    let byK2 = byK1.get(k1);
    if (!byK2) byK1.set(k1, (byK2 = new Map()));
    let byK3 = byK2.get(k2);
    if (!byK3) byK2.set(k2, (byK3 = new Map()));
    let row = byK3.get(k3);
    if (row) return row;
    if (this.regular >= this.maxSeries) {
      this.overflowRecords++;
      row = this.overflow.get(resource.key);
      if (!row) {
        row = this.newRow(resource, { 'otel.metric.overflow': true });
        this.overflow.set(resource.key, row);
      }
      return row;
    }
    row = this.newRow(resource, attributes());
    byK3.set(k3, row);
    this.regular++;
    return row;
  }

  get size(): number { return this.regular; }

  private newRow(resource: MetricResource, attributes: Attributes): SeriesRow {
    return { resource, attributes, histograms: this.definitions.map((d) => new ExplicitHistogram(d.bounds)) };
  }

  *entries(): IterableIterator<SeriesRow> {
    for (const byK1 of this.rows.values()) for (const byK2 of byK1.values()) for (const byK3 of byK2.values()) yield* byK3.values();
    yield* this.overflow.values();
  }
}

const NS_PER_S = 1e9;
const NS_PER_MS = 1e6;
const SEP = '\x1f';
/** Methods as facts.method has them (known ones, or `_OTHER`). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', '_OTHER'];
const METHODS_INDEX = new Map(METHODS.map((m, i) => [m, i]));
const OTHER_METHOD = METHODS.length - 1;
const PROTOCOL_VERSIONS = new Map([['1.0', 0], ['1.1', 1], ['2', 2]]);
const OTHER_VERSION = 3;
/** Packed in place of a missing (or not 3-digit) status, which then goes into the string part of the key. */
const NO_STATUS = 1000;

export class RedMetrics {
  private readonly httpServer: SeriesTable;
  private readonly httpClient: SeriesTable;
  private readonly rpcServer: SeriesTable;
  private readonly rpcClient: SeriesTable;

  constructor(private readonly startUnixNs: bigint, options: RedMetricsOptions = DEFAULT_RED_METRICS_OPTIONS) {
    const d = options.durationBucketsSeconds;
    const s = options.bodySizeBucketsBytes;
    const dms = d.map((x) => x * 1000);
    const max = options.maxSeriesPerMetric;
    const http = (side: 'server' | 'client'): HistogramDefinition[] => [
      { name: `http.${side}.request.duration`, unit: 's', description: `Duration of HTTP ${side} requests.`, bounds: d },
      { name: `http.${side}.request.body.size`, unit: 'By', description: `Size of HTTP ${side} request bodies.`, bounds: s },
      { name: `http.${side}.response.body.size`, unit: 'By', description: `Size of HTTP ${side} response bodies.`, bounds: s },
    ];
    this.httpServer = new SeriesTable(http('server'), max);
    this.httpClient = new SeriesTable(http('client'), max);
    this.rpcServer = new SeriesTable([{ name: 'rpc.server.duration', unit: 'ms', description: 'Measures the duration of inbound RPC.', bounds: dms }], max);
    this.rpcClient = new SeriesTable([{ name: 'rpc.client.duration', unit: 'ms', description: 'Measures the duration of outbound RPC.', bounds: dms }], max);
  }

  recordHttp(resource: MetricResource, exchange: Exchange, origin: ExchangeOrigin, facts: HttpFacts, route: string | undefined): void {
    const isServer = origin.role === 'server';
    // Series key: the route; method, status, scheme, protocol version and port packed in one number;
    // whatever is rarer or unbounded (an unknown version, the error of a response-less exchange,
    // a client's server.address) in the last string. error.type follows from the status otherwise.
    const status = facts.status;
    const statusSlot = status !== undefined && Number.isInteger(status) && status >= 0 && status < NO_STATUS ? status : NO_STATUS;
    const version = PROTOCOL_VERSIONS.get(facts.protocolVersion) ?? OTHER_VERSION;
    const packed = (((statusSlot * METHODS.length + (METHODS_INDEX.get(facts.method) ?? OTHER_METHOD)) * 2
      + (facts.scheme === 'https' ? 1 : 0)) * (OTHER_VERSION + 1) + version) * 65536 + facts.serverPort;
    const rest = version === OTHER_VERSION || statusSlot === NO_STATUS || !isServer
      ? (version === OTHER_VERSION ? facts.protocolVersion : '') + SEP + (statusSlot === NO_STATUS ? `${status ?? ''}${SEP}${facts.errorType ?? ''}` : '')
        + SEP + (isServer ? '' : facts.serverAddress)
      : '';
    const row = (isServer ? this.httpServer : this.httpClient).row(resource, route ?? '\x00', packed, rest, () => {
      const a: Attributes = { 'http.request.method': facts.method };
      if (facts.status !== undefined) a['http.response.status_code'] = facts.status;
      if (route !== undefined) a['http.route'] = route;
      if (facts.errorType !== undefined) a['error.type'] = facts.errorType;
      a['url.scheme'] = facts.scheme;
      a['network.protocol.version'] = facts.protocolVersion;
      if (!isServer) a['server.address'] = facts.serverAddress;
      a['server.port'] = facts.serverPort;
      return a;
    });
    const [duration, requestSize, responseSize] = row.histograms;
    duration!.record(Number(exchangeDurationNs(exchange)) / NS_PER_S);
    requestSize!.record(exchange.request.bodySize);
    if (exchange.response) responseSize!.record(exchange.response.bodySize);
  }

  recordGrpc(resource: MetricResource, exchange: Exchange, origin: ExchangeOrigin, facts: GrpcFacts): void {
    const row = (origin.role === 'server' ? this.rpcServer : this.rpcClient).row(resource, facts.service ?? '\x00', facts.grpcStatus ?? -1, facts.method ?? '\x00', () => {
      const a: Attributes = { 'rpc.system': 'grpc' };
      if (facts.service !== undefined) a['rpc.service'] = facts.service;
      if (facts.method !== undefined) a['rpc.method'] = facts.method;
      if (facts.grpcStatus !== undefined) a['rpc.grpc.status_code'] = facts.grpcStatus;
      return a;
    });
    row.histograms[0]!.record(Number(exchangeDurationNs(exchange)) / NS_PER_MS);
  }

  /** Records that went to an overflow series because a metric reached its series limit. */
  get overflowRecords(): number {
    return this.httpServer.overflowRecords + this.httpClient.overflowRecords + this.rpcServer.overflowRecords + this.rpcClient.overflowRecords;
  }

  /** Cumulative snapshot of every series, grouped by resource. The data points are copies. */
  collect(nowUnixNs: bigint): Metrics {
    const times = { startTimeUnixNano: this.startUnixNs, timeUnixNano: nowUnixNs, flags: 0 };
    const byResource = new Map<string, { resource: Resource; series: Map<HistogramDefinition, Array<{ attributes: Attributes; histogram: ExplicitHistogram }>> }>();
    for (const table of [this.httpServer, this.httpClient, this.rpcServer, this.rpcClient]) {
      for (const row of table.entries()) {
        let group = byResource.get(row.resource.key);
        if (!group) {
          group = { resource: row.resource.resource, series: new Map() };
          byResource.set(row.resource.key, group);
        }
        table.definitions.forEach((def, i) => {
          const histogram = row.histograms[i]!;
          if (histogram.count === 0) return;
          let series = group!.series.get(def);
          if (!series) group!.series.set(def, (series = []));
          series.push({ attributes: { ...row.attributes }, histogram });
        });
      }
    }
    return {
      resourceMetrics: [...byResource.values()].map(({ resource, series }) => ({
        resource,
        scopeMetrics: [{
          scope: sondeScope(),
          metrics: [...series].map(([def, points]) => histogramMetric(def, AggregationTemporality.CUMULATIVE, times, points)),
          schemaUrl: '',
        }],
        schemaUrl: '',
      })),
    };
  }
}
