// Periodic senders of aggregated metrics (spanmetrics, servicegraph) share this: one flush at a
// time (a timer tick during a slow downstream joins the running flush), nothing sent when there
// is nothing to send, and a refusal downstream is reported, not thrown into a timer.
import type { MetricsConsumer } from '../consumer.js';
import type { Metrics } from '../pdata/model.js';

export class MetricsFlusher {
  private running: Promise<void> | undefined;

  constructor(
    private readonly collect: () => Metrics,
    private readonly next: MetricsConsumer,
    private readonly onRefused: (err: unknown) => void,
  ) {}

  flush(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      const md = this.collect();
      if (md.resourceMetrics.length === 0) return;
      try {
        await this.next.consumeMetrics(md);
      } catch (err) {
        this.onRefused(err);
      }
    })().finally(() => { this.running = undefined; });
    return this.running;
  }
}
