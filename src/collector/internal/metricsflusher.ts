// Periodic senders of metrics (spanmetrics, servicegraph, hostmetrics) share this: one flush at a
// time (a timer tick during a slow collection or downstream joins the running flush), nothing sent
// when there is nothing to send, and a refusal downstream is reported, not thrown into a timer.
import type { MetricsConsumer } from '../consumer.js';
import type { Metrics } from '../pdata/model.js';

export class MetricsFlusher {
  private running: Promise<void> | undefined;

  constructor(
    private readonly collect: () => Metrics | Promise<Metrics>,
    private readonly next: MetricsConsumer,
    private readonly onRefused: (err: unknown) => void,
  ) {}

  flush(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      const md = await this.collect();
      if (md.resourceMetrics.length === 0) return;
      try {
        await this.next.consumeMetrics(md);
      } catch (err) {
        this.onRefused(err);
      }
    })().finally(() => { this.running = undefined; });
    return this.running;
  }

  /** Waits for the flush under way, if any, without starting one (for shutdown). */
  async idle(): Promise<void> {
    await this.running;
  }
}
