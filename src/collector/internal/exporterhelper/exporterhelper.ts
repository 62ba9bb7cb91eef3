// The Collector's exporterhelper: an in-memory sending queue with N consumers, retry with
// randomized exponential backoff (honouring server throttling), a per-attempt timeout, and the
// exporter self-metrics. An exporter supplies only `send(data, abortSignal)`.
//
// Errors reach the caller when they can be acted on: a full queue rejects the consume (retryable,
// like the Collector's enqueue error); without a queue, the final export error is the consume's
// error. Data accepted into the queue is owned by the queue: later failures are logged and counted.
//
// Shutdown follows the Collector's memory queue: stop accepting, try every queued request once more
// (no further backoff, so an unreachable backend cannot stretch shutdown), and when the service's
// shutdown deadline fires, abort what is in flight and drop what is still queued. Everything lost
// during shutdown is counted (send_failed) and reported in one log line with the item count.
import type { Logger } from 'pino';
import type { CreateSettings, Host } from '../../component.js';
import { type ConsumeContext, ConsumerError } from '../../consumer.js';
import type { Signal, SignalData } from '../../pdata/model.js';
import type { PartialSuccess } from '../../pdata/otlp.js';
import { countItems, ITEM_NAME } from '../../pdata/util.js';
import { parseDuration } from '../duration.js';
import { ExporterTelemetry } from '../selftelemetry.js';
import { ExportError } from './errors.js';

export interface QueueSettings {
  enabled: boolean;
  num_consumers: number;
  queue_size: number;
  sizer: 'requests' | 'items' | 'bytes';
  block_on_overflow: boolean;
  /** Persistent queues (`file_storage`) are not supported yet; must stay unset. */
  storage: string | null;
  wait_for_result: boolean;
  batch: unknown;
}

export interface RetrySettings {
  enabled: boolean;
  initial_interval: string;
  max_interval: string;
  max_elapsed_time: string;
  multiplier: number;
  randomization_factor: number;
}

export const queueDefaults = (): QueueSettings => ({
  enabled: true, num_consumers: 10, queue_size: 1000, sizer: 'requests', block_on_overflow: false, storage: null, wait_for_result: false, batch: null,
});

export const retryDefaults = (): RetrySettings => ({
  enabled: true, initial_interval: '5s', max_interval: '30s', max_elapsed_time: '300s', multiplier: 1.5, randomization_factor: 0.5,
});

export function validateHelperSettings(cfg: { sending_queue: QueueSettings; retry_on_failure: RetrySettings }): void {
  const q = cfg.sending_queue;
  if (q.enabled) {
    if (!(q.num_consumers > 0)) throw new Error('sending_queue::num_consumers must be positive');
    if (!(q.queue_size > 0)) throw new Error('sending_queue::queue_size must be positive');
    if (q.sizer !== 'requests' && q.sizer !== 'items') throw new Error(`sending_queue::sizer: "${q.sizer}" is not supported (use requests or items)`);
    if (q.storage) throw new Error(`sending_queue::storage: persistent queues ("${q.storage}") are not supported by Sonde yet; remove the option`);
  }
  const r = cfg.retry_on_failure;
  parseDuration(r.initial_interval, 'retry_on_failure::initial_interval');
  parseDuration(r.max_interval, 'retry_on_failure::max_interval');
  parseDuration(r.max_elapsed_time, 'retry_on_failure::max_elapsed_time');
  if (r.enabled && !(parseDuration(r.initial_interval) > 0)) throw new Error('retry_on_failure::initial_interval must be positive');
  if (!(r.multiplier >= 1)) throw new Error('retry_on_failure::multiplier must be >= 1');
  if (!(r.randomization_factor >= 0 && r.randomization_factor <= 1)) throw new Error('retry_on_failure::randomization_factor must be in [0, 1]');
}

/** One export attempt; throws ExportError (retryable or not). May report a partial success. */
export type SendFunction<S extends Signal> = (data: SignalData[S], signal: AbortSignal) => Promise<PartialSuccess | void>;

interface Entry<S extends Signal> { data: SignalData[S]; items: number }

const sleep = (ms: number, abort?: AbortSignal) => new Promise<void>((resolve) => {
  if (abort?.aborted) { resolve(); return; }
  const t = setTimeout(done, ms);
  function done() { clearTimeout(t); abort?.removeEventListener('abort', done); resolve(); }
  abort?.addEventListener('abort', done, { once: true });
});

export class ExporterHelper<S extends Signal> {
  private readonly logger: Logger;
  private readonly retry: { enabled: boolean; initial: number; max: number; maxElapsed: number; multiplier: number; rf: number };
  private readonly timeoutMs: number;
  private readonly telemetryId: string;
  private telemetry!: ExporterTelemetry;
  private readonly queue: Entry<S>[] = [];
  private queued = 0;
  private readonly waitingForSpace: Array<() => void> = [];
  private readonly waitingForWork: Array<() => void> = [];
  private workers: Promise<void>[] = [];
  private stopping = false;
  /** Aborted when shutdown starts: wakes backoff sleeps so each request gets one last attempt. */
  private readonly stopRetries = new AbortController();
  /** Aborted at the shutdown deadline: stops in-flight attempts. */
  private readonly stopAll = new AbortController();
  /** What shutdown lost: items, failed requests, and the last error seen. */
  private readonly shutdownLoss = { items: 0, requests: 0, lastError: '' };

  constructor(
    private readonly signal: S,
    settings: CreateSettings,
    private readonly cfg: { sending_queue: QueueSettings; retry_on_failure: RetrySettings; timeout: string },
    private readonly send: SendFunction<S>,
  ) {
    this.logger = settings.logger;
    const r = cfg.retry_on_failure;
    this.retry = {
      enabled: r.enabled,
      initial: parseDuration(r.initial_interval),
      max: parseDuration(r.max_interval),
      maxElapsed: parseDuration(r.max_elapsed_time),
      multiplier: r.multiplier,
      rf: r.randomization_factor,
    };
    this.timeoutMs = parseDuration(cfg.timeout);
    this.telemetryId = settings.id.toString();
  }

  start(host: Host): void {
    this.telemetry = new ExporterTelemetry(host.selfMetrics, this.telemetryId);
    const q = this.cfg.sending_queue;
    if (q.enabled) {
      this.telemetry.queueCapacity(this.signal, q.queue_size);
      this.telemetry.queueSize(this.signal, 0);
      this.workers = Array.from({ length: q.num_consumers }, () => this.worker());
    }
  }

  private size(): number { return this.cfg.sending_queue.sizer === 'items' ? this.queued : this.queue.length; }

  async consume(data: SignalData[S], _ctx?: ConsumeContext): Promise<void> {
    const items = countItems(this.signal, data);
    const q = this.cfg.sending_queue;
    if (!q.enabled) {
      await this.sendWithRetry({ data, items }, true);
      return;
    }
    const cost = q.sizer === 'items' ? items : 1;
    while (!this.stopping && this.size() + cost > q.queue_size && this.size() > 0) {
      if (!q.block_on_overflow) {
        this.telemetry.enqueueFailed(this.signal, items);
        this.logger.error({ dropped_items: items, queue_size: this.size(), queue_capacity: q.queue_size }, 'Exporting failed. Dropping data: sending queue is full');
        throw ConsumerError.retryable(`exporter "${this.telemetryId}": sending queue is full (${q.queue_size} ${q.sizer}); dropped ${items} ${ITEM_NAME[this.signal]}`);
      }
      await new Promise<void>((resolve) => this.waitingForSpace.push(resolve));
    }
    if (this.stopping) {
      this.telemetry.enqueueFailed(this.signal, items);
      this.logger.error({ dropped_items: items }, 'Exporting failed. Dropping data: the exporter is shutting down');
      throw ConsumerError.retryable(`exporter "${this.telemetryId}" is shutting down; ${items} ${ITEM_NAME[this.signal]} not accepted`);
    }
    this.queue.push({ data, items });
    this.queued += items;
    this.telemetry.queueSize(this.signal, this.size());
    this.waitingForWork.shift()?.();
  }

  private async worker(): Promise<void> {
    for (;;) {
      const entry = this.queue.shift();
      if (!entry) {
        if (this.stopping) return;
        await new Promise<void>((resolve) => this.waitingForWork.push(resolve));
        continue;
      }
      this.queued -= entry.items;
      this.telemetry.queueSize(this.signal, this.size());
      this.waitingForSpace.shift()?.();
      try {
        await this.sendWithRetry(entry, false);
      } catch {
        // Already logged and counted by sendWithRetry: queued data has no caller to tell.
      }
    }
  }

  /** Tries until success, a permanent error, or max_elapsed_time; counts the outcome. */
  private async sendWithRetry(entry: Entry<S>, rethrow: boolean): Promise<void> {
    const started = Date.now();
    let interval = this.retry.initial;
    for (let attempt = 1; ; attempt++) {
      const attemptAbort = AbortSignal.any([this.stopAll.signal, AbortSignal.timeout(this.timeoutMs > 0 ? this.timeoutMs : 2 ** 31 - 1)]);
      try {
        const partial = await this.send(entry.data, attemptAbort);
        if (partial && (partial.rejected > 0 || partial.errorMessage)) {
          this.logger.warn({ rejected: partial.rejected, message: partial.errorMessage }, `Partial success response: ${partial.rejected} ${ITEM_NAME[this.signal]} rejected by the server`);
        }
        this.telemetry.sent(this.signal, entry.items);
        return;
      } catch (err) {
        const e = err instanceof ExportError ? err : new ExportError((err as Error)?.message ?? String(err), false, undefined, { cause: err });
        const fail = (why: string, retryable: boolean) => {
          this.telemetry.sendFailed(this.signal, entry.items);
          if (this.stopping && !rethrow) {
            // Queued data: summarised once at the end of shutdown instead of one line per queued request.
            this.shutdownLoss.items += entry.items;
            this.shutdownLoss.requests++;
            this.shutdownLoss.lastError = e.message;
          } else {
            this.logger.error({ error: e.message, dropped_items: entry.items, attempts: attempt }, `Exporting failed. ${why}`);
          }
          if (rethrow) throw new ConsumerError(`exporter "${this.telemetryId}": ${e.message}`, retryable ? 'retryable' : 'permanent', { cause: e });
        };
        if (!e.retryable) return fail('The error is not retryable. Dropping data.', false);
        if (!this.retry.enabled) return fail('Retries are disabled (retry_on_failure::enabled: false). Dropping data.', true);
        if (this.stopping) return fail('The exporter is shutting down; no more retries. Dropping data.', true);
        const jitter = 1 + this.retry.rf * (2 * Math.random() - 1);
        const wait = Math.max(interval * jitter, e.throttleMs ?? 0);
        if (this.retry.maxElapsed > 0 && Date.now() - started + wait > this.retry.maxElapsed) {
          return fail(`No more retries left: max_elapsed_time ${this.cfg.retry_on_failure.max_elapsed_time} reached. Dropping data.`, true);
        }
        this.logger.info({ error: e.message, interval: `${Math.round(wait)}ms` }, 'Exporting failed. Will retry the request after interval.');
        await sleep(wait, this.stopRetries.signal);
        interval = Math.min(interval * this.retry.multiplier, this.retry.max);
      }
    }
  }

  /**
   * Stops accepting data and sends what is queued, each request once more (no backoff). When
   * `deadline` aborts first, in-flight attempts are aborted and the rest of the queue is dropped.
   * Whatever could not be sent is counted and logged with its item count.
   */
  async shutdown(deadline?: AbortSignal): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const began = Date.now();
    this.stopRetries.abort();
    for (const wake of this.waitingForSpace.splice(0)) wake();
    for (const wake of this.waitingForWork.splice(0)) wake();
    let queuedAtDeadline = 0;
    const onDeadline = () => {
      const left = this.queue.splice(0);
      queuedAtDeadline = left.reduce((n, e) => n + e.items, 0);
      this.queued = 0;
      if (queuedAtDeadline > 0) {
        this.telemetry.sendFailed(this.signal, queuedAtDeadline);
        this.shutdownLoss.items += queuedAtDeadline;
        this.shutdownLoss.requests += left.length;
      }
      this.stopAll.abort();
    };
    if (deadline?.aborted) onDeadline();
    else deadline?.addEventListener('abort', onDeadline, { once: true });
    await Promise.all(this.workers);
    deadline?.removeEventListener('abort', onDeadline);
    if (this.cfg.sending_queue.enabled) this.telemetry.queueSize(this.signal, 0);
    const loss = this.shutdownLoss;
    if (loss.items > 0) {
      this.logger.error(
        { dropped_items: loss.items, dropped_requests: loss.requests, queued_at_deadline: queuedAtDeadline, last_error: loss.lastError || undefined, shutdown_ms: Date.now() - began },
        `Shutdown: dropped ${loss.items} ${ITEM_NAME[this.signal]} that could not be exported` +
          (queuedAtDeadline > 0 ? ` (${queuedAtDeadline} were still queued when the shutdown deadline passed)` : ''),
      );
    }
  }
}
