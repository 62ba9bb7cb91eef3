// The `prometheus` exporter: a pull endpoint. Metrics pushed through the pipeline are kept in a
// MetricAccumulator and written at scrape time, followed by the agent's own `sonde_*` metrics
// from Host.selfMetrics (prom-client), so one scrape target shows both.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import { type Counter, type Metric as PromMetric, Registry, type RegistryContentType } from 'prom-client';
import type { ConsumerComponent, CreateSettings, Host } from '../../component.js';
import { parseDuration } from '../../internal/duration.js';
import { sharedCounter } from '../../internal/selfcounter.js';
import { parseEndpoint } from '../../internal/endpoint.js';
import type { Metrics } from '../../pdata/model.js';
import { MetricAccumulator, type Series } from './accumulator.js';
import type { PrometheusExporterConfig } from './config.js';
import { type ExpositionFormat, writeFamily } from './exposition.js';

const droppedPointsMetric = 'sonde_exporter_prometheus_dropped_points_total';

/** A counter's family name without `_total`, so that both exposition spellings compare equal. */
const baseName = (name: string) => name.replace(/_total$/, '');

function wantsOpenMetrics(req: IncomingMessage): boolean {
  return /application\/openmetrics-text/i.test(req.headers.accept ?? '');
}

export class PrometheusExporter implements ConsumerComponent<'metrics'> {
  private readonly accumulator: MetricAccumulator;
  private readonly expirationMs: number;
  private readonly logger: Logger;
  private server: Server | undefined;
  /** Expires stale series between scrapes too, so memory stays bounded when nobody scrapes. */
  private sweeper: NodeJS.Timeout | undefined;
  private host: Host;
  private dropped: Counter<'exporter' | 'reason'> | undefined;

  constructor(private readonly settings: CreateSettings, private readonly cfg: PrometheusExporterConfig) {
    this.logger = settings.logger;
    this.host = settings.host;
    this.expirationMs = parseDuration(cfg.metric_expiration, 'metric_expiration');
    this.accumulator = new MetricAccumulator({
      namespace: cfg.namespace,
      addMetricSuffixes: cfg.add_metric_suffixes,
      resourceToTelemetry: cfg.resource_to_telemetry_conversion.enabled,
      constLabels: cfg.const_labels ?? {},
    });
  }

  /** The bound address (useful with port 0). */
  address(): { host: string; port: number } | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  async start(host: Host): Promise<void> {
    this.host = host;
    this.dropped = sharedCounter(host.selfMetrics, droppedPointsMetric,
      'Data points the prometheus exporter could not represent and dropped, by reason.', ['exporter', 'reason']);
    const { host: bindHost, port } = parseEndpoint(this.cfg.endpoint, 'endpoint');
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.logger.error({ err }, 'prometheus exporter: writing a scrape response failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`error writing metrics: ${(err as Error).message}\n`);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(
        `prometheus exporter ${this.settings.id.toString()}: cannot listen on ${this.cfg.endpoint}: ${err.message}` +
        ' (is another process using the port? change `endpoint`)', { cause: err })));
      server.listen(port, bindHost, () => resolve());
    });
    this.server = server;
    server.on('error', (err) => this.logger.error({ err, endpoint: this.cfg.endpoint }, 'prometheus exporter: server error'));
    this.sweeper = setInterval(() => this.accumulator.expire(this.expirationMs), Math.max(1000, this.expirationMs / 2));
    this.sweeper.unref();
    this.logger.info({ endpoint: this.cfg.endpoint }, 'prometheus exporter listening');
  }

  async consumeMetrics(md: Metrics): Promise<void> {
    const dropped = this.accumulator.accumulate(md);
    for (const [reason, n] of dropped) {
      this.dropped?.inc({ exporter: this.settings.id.toString(), reason }, n);
      this.logger.debug({ reason, points: n }, 'prometheus exporter dropped points');
    }
  }

  /** The full exposition, as a scrape would get it. */
  async render(format: ExpositionFormat): Promise<string> {
    const opts = { format, sendTimestamps: this.cfg.send_timestamps };
    const { families, targets } = this.accumulator.collect(this.expirationMs);
    let out = families.map((f) => writeFamily(f, opts)).join('');
    if (targets.length > 0) {
      out += writeFamily({ name: 'target_info', type: 'gauge', help: 'Target metadata', series: new Map(targets.map((t: Series, i) => [String(i), t])) }, { ...opts, sendTimestamps: false });
    }
    if (this.cfg.include_self_metrics) out += await this.selfMetricsText(format, new Set(families.map((f) => baseName(f.name))));
    return format === 'openmetrics' ? `${out}# EOF\n` : out;
  }

  /**
   * The agent's own metrics in the scraped format, leaving out any family whose name a pipeline
   * metric already uses (a family may appear only once in an exposition).
   */
  private async selfMetricsText(format: ExpositionFormat, taken: Set<string>): Promise<string> {
    const wanted = format === 'openmetrics' ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE;
    // prom-client fixes the format per registry (a constructor argument its typings omit); the
    // same metric objects can sit in a second registry of the format asked for.
    const registry = new (Registry as unknown as new (ct: RegistryContentType) => Registry<RegistryContentType>)(wanted);
    for (const m of this.host.selfMetrics.getMetricsAsArray()) {
      if (!taken.has(baseName(m.name))) registry.registerMetric(m as unknown as PromMetric);
    }
    const text = (await registry.metrics()).replace(/# EOF\n?$/, '');
    return text === '' || text.endsWith('\n') ? text : `${text}\n`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    const format: ExpositionFormat = this.cfg.enable_open_metrics && wantsOpenMetrics(req) ? 'openmetrics' : 'prometheus';
    const body = Buffer.from(await this.render(format));
    const headers: Record<string, string> = {
      'content-type': format === 'openmetrics' ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE,
    };
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const payload = gzip ? gzipSync(body) : body;
    if (gzip) headers['content-encoding'] = 'gzip';
    headers['content-length'] = String(payload.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : payload);
  }

  async shutdown(): Promise<void> {
    clearInterval(this.sweeper);
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

