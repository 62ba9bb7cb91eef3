// The `hostmetrics` receiver: every collection_interval (first after initial_delay) it runs the
// configured scrapers and sends one batch of the host's metrics down the pipeline. A scraper that
// fails is logged and counted; the others still report. Scrapes never overlap.
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { CreateSettings, Host, Lifecycle } from '../../component.js';
import type { MetricsConsumer } from '../../consumer.js';
import { parseDuration } from '../../internal/duration.js';
import { MetricsFlusher } from '../../internal/metricsflusher.js';
import { sharedCounter } from '../../internal/selfcounter.js';
import type { Metrics, ScopeMetrics } from '../../pdata/model.js';
import type { HostMetricsConfig } from './config.js';
import { MetricsBuilder } from './metadata.js';
import { bootTimeNs, scrapers } from './scrapers.js';

const scrapeErrorsMetric = 'sonde_receiver_hostmetrics_scrape_errors_total';
const scopePrefix = 'github.com/open-telemetry/opentelemetry-collector-contrib/receiver/hostmetricsreceiver/internal/scraper/';

export class HostMetricsReceiver implements Lifecycle {
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly initialDelayMs: number;
  private readonly state = new Map<string, unknown>();
  private timer: NodeJS.Timeout | undefined;
  private readonly flusher: MetricsFlusher;
  private stopped = false;
  private errors: Counter<'receiver' | 'scraper'> | undefined;
  private bootNs: bigint | undefined;

  constructor(private readonly settings: CreateSettings, private readonly cfg: HostMetricsConfig, next: MetricsConsumer) {
    this.logger = settings.logger;
    this.intervalMs = parseDuration(cfg.collection_interval, 'collection_interval');
    this.initialDelayMs = parseDuration(cfg.initial_delay, 'initial_delay');
    this.flusher = new MetricsFlusher(() => this.scrape(), next, (err) => this.logger.warn(
      { err }, 'hostmetrics: the pipeline refused a scrape; it is dropped (the next scrape carries fresh cumulative values)'));
  }

  async start(host: Host): Promise<void> {
    this.errors = sharedCounter(host.selfMetrics, scrapeErrorsMetric, 'Scrapes of the hostmetrics receiver that failed, by scraper.', ['receiver', 'scraper']);
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      void this.flusher.flush();
      this.timer = setTimeout(tick, this.intervalMs);
    };
    this.timer = setTimeout(tick, this.initialDelayMs);
  }

  /** Runs every configured scraper once and returns the batch (without sending it). */
  async scrape(): Promise<Metrics> {
    const root = this.cfg.root_path.replace(/\/+$/, '');
    if (this.bootNs === undefined) this.bootNs = await bootTimeNs(root).catch(() => 0n);
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const scopeMetrics: ScopeMetrics[] = [];
    await Promise.all(Object.entries(this.cfg.scrapers).map(async ([name, scfg]) => {
      const cfg = scfg ?? {};
      const mb = new MetricsBuilder(name, cfg.metrics, this.bootNs!, nowNs);
      try {
        await scrapers[name]!({ root, cfg, mb, state: this.state });
      } catch (err) {
        this.errors?.inc({ receiver: this.settings.id.toString(), scraper: name });
        this.logger.error({ err, scraper: name, root_path: this.cfg.root_path }, `hostmetrics: the ${name} scraper failed; its metrics are missing from this scrape`);
        return;
      }
      const metrics = mb.metrics();
      if (metrics.length > 0) {
        scopeMetrics.push({ scope: { name: `${scopePrefix}${name}scraper`, version: '', attributes: {}, droppedAttributesCount: 0 }, metrics, schemaUrl: '' });
      }
    }));
    if (scopeMetrics.length === 0) return { resourceMetrics: [] };
    return { resourceMetrics: [{ resource: { attributes: {}, droppedAttributesCount: 0 }, scopeMetrics, schemaUrl: '' }] };
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.flusher.idle();
  }
}
