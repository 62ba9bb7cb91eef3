// BatchProcessor groups telemetry into batches of send_batch_size items (spans, data points, log
// records), sends a partial batch after `timeout`, and splits anything above send_batch_max_size.
// Unlike the Collector's batch processor, each consume resolves only when every batch holding part
// of its data has been accepted downstream, and rejects with the downstream error: backpressure and
// refusals reach the receiver instead of being logged and lost.
import type { ConsumeOf, CreateSettings } from '../../component.js';
import { ConsumerError, type ConsumeContext } from '../../consumer.js';
import { parseDuration } from '../../internal/duration.js';
import type { Signal, SignalData } from '../../pdata/model.js';
import { concatData, splitItems } from '../../pdata/select.js';
import { countItems } from '../../pdata/util.js';
import type { BatchConfig } from './config.js';

/** One consume call's promise, settled when all of its pieces have been exported. */
interface Waiter { pending: number; error?: unknown; resolve(): void; reject(err: unknown): void }
interface Piece<S extends Signal> { data: SignalData[S]; items: number; waiter: Waiter }

class Batcher<S extends Signal> {
  private pieces: Piece<S>[] = [];
  private items = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly signal: S,
    private readonly sendBatchSize: number,
    private readonly maxSize: number,
    private readonly timeoutMs: number,
    private readonly ctxOut: ConsumeContext | undefined,
    private readonly next: ConsumeOf<S>,
  ) {}

  add(data: SignalData[S], items: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pieces.push({ data, items, waiter: { pending: 1, resolve, reject } });
      this.items += items;
      if (this.timeoutMs === 0) {
        this.flushAll();
        return;
      }
      let sent = false;
      while (this.sendBatchSize > 0 && this.items >= this.sendBatchSize) { this.flushOne(); sent = true; }
      if (sent) this.stopTimer();
      if (this.items > 0 && !this.timer) {
        this.timer = setTimeout(() => { this.timer = undefined; this.flushAll(); }, this.timeoutMs);
      }
    });
  }

  private stopTimer(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
  }

  flushAll(): void {
    this.stopTimer();
    while (this.items > 0) this.flushOne();
  }

  /** Sends one batch of at most send_batch_max_size items from the head of the queue. */
  private flushOne(): void {
    const cap = this.maxSize > 0 ? this.maxSize : Infinity;
    const parts: SignalData[S][] = [];
    const waiters: Waiter[] = [];
    let n = 0;
    while (this.pieces.length > 0 && n < cap) {
      const piece = this.pieces[0]!;
      if (n + piece.items <= cap) {
        this.pieces.shift();
        parts.push(piece.data);
        n += piece.items;
      } else {
        const take = cap - n;
        const [head, rest] = splitItems(this.signal, piece.data, take);
        parts.push(head);
        piece.data = rest!;
        piece.items -= take;
        piece.waiter.pending++; // the head goes now, the rest stays queued
        n = cap;
      }
      waiters.push(piece.waiter);
    }
    this.items -= n;
    const settle = (error?: unknown) => {
      for (const w of waiters) {
        if (error !== undefined && w.error === undefined) w.error = error;
        if (--w.pending === 0) { if (w.error !== undefined) w.reject(w.error); else w.resolve(); }
      }
    };
    const sending: Promise<void> = this.next(concatData(this.signal, parts), this.ctxOut)
      .then(() => settle(), (err: unknown) => settle(err ?? new Error('batch: downstream failed without an error')))
      .finally(() => this.inflight.delete(sending));
    this.inflight.add(sending);
  }
}

export class BatchProcessor<S extends Signal> {
  private readonly batchers = new Map<string, Batcher<S>>();
  private readonly timeoutMs: number;
  private readonly keys: string[];
  private stopped = false;

  constructor(
    private readonly settings: CreateSettings,
    private readonly cfg: BatchConfig,
    private readonly signal: S,
    private readonly next: ConsumeOf<S>,
  ) {
    this.timeoutMs = parseDuration(cfg.timeout, 'timeout');
    this.keys = cfg.metadata_keys.map((k) => k.toLowerCase());
  }

  private batcherFor(ctx: ConsumeContext | undefined): Batcher<S> {
    const values = this.keys.map((k) => ctx?.metadata?.[k] ?? []);
    const id = JSON.stringify(values);
    let b = this.batchers.get(id);
    if (b) return b;
    if (this.keys.length > 0 && this.batchers.size >= this.cfg.metadata_cardinality_limit) {
      throw ConsumerError.permanent(
        `batch processor ${this.settings.id.toString()}: too many batcher metadata-value combinations (metadata_cardinality_limit ${this.cfg.metadata_cardinality_limit}); raise the limit or use fewer metadata_keys`);
    }
    const metadata = Object.fromEntries(this.keys.map((k, i) => [k, values[i]!] as const).filter(([, v]) => v.length > 0));
    const ctxOut = this.keys.length > 0 ? { metadata } : undefined;
    b = new Batcher(this.signal, this.cfg.send_batch_size, this.cfg.send_batch_max_size, this.timeoutMs, ctxOut, this.next);
    this.batchers.set(id, b);
    return b;
  }

  readonly consume: ConsumeOf<S> = async (data, ctx) => {
    if (this.stopped) throw ConsumerError.permanent(`batch processor ${this.settings.id.toString()} is shut down`);
    const items = countItems(this.signal, data);
    if (items === 0) return;
    await this.batcherFor(ctx).add(data, items);
  };

  /** Sends everything still queued and waits until it has been exported (or failed). */
  readonly shutdown = async (): Promise<void> => {
    this.stopped = true;
    for (const b of this.batchers.values()) b.flushAll();
    await Promise.allSettled([...this.batchers.values()].flatMap((b) => [...b.inflight]));
  };
}
