// MemoryLimiter measures the process's resident set size (RSS, process.memoryUsage.rss()) every
// check_interval. At or above the soft limit (limit − spike) every consume is refused with a
// retryable error, so receivers answer 503 / UNAVAILABLE and senders retry later; above the hard
// limit it also forces a garbage collection when the process runs with --expose-gc. Refusal stops
// as soon as a check finds usage below the soft limit again.
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { Logger } from 'pino';
import { ConsumerError } from '../../consumer.js';
import { parseDuration } from '../../internal/duration.js';
import type { MemoryLimiterConfig } from './config.js';

const MiB = 1024 * 1024;

/** The memory available to this process: the cgroup v2 limit when set, else physical memory. */
export function availableMemoryBytes(): number {
  try {
    const raw = readFileSync('/sys/fs/cgroup/memory.max', 'utf8').trim();
    if (raw !== 'max') {
      const n = Number(raw);
      if (Number.isFinite(n) && n > 0) return Math.min(n, totalmem());
    }
  } catch {
    // no cgroup v2 memory controller visible: fall back to physical memory
  }
  return totalmem();
}

export class MemoryLimiter {
  readonly hardLimitBytes: number;
  readonly softLimitBytes: number;
  private readonly intervalMs: number;
  private readonly gcSoftMs: number;
  private readonly gcHardMs: number;
  private timer: NodeJS.Timeout | undefined;
  private refusing = false;
  private lastGc = 0;
  private users = 0;
  lastUsageBytes = 0;

  constructor(cfg: MemoryLimiterConfig, private readonly logger: Logger, private readonly measure = () => process.memoryUsage.rss()) {
    const total = cfg.limit_mib > 0 ? 0 : availableMemoryBytes();
    this.hardLimitBytes = cfg.limit_mib > 0 ? cfg.limit_mib * MiB : Math.floor((total * cfg.limit_percentage) / 100);
    const spike = cfg.limit_mib > 0
      ? (cfg.spike_limit_mib > 0 ? cfg.spike_limit_mib * MiB : Math.floor(this.hardLimitBytes / 5))
      : (cfg.spike_limit_percentage > 0 ? Math.floor((total * cfg.spike_limit_percentage) / 100) : Math.floor(this.hardLimitBytes / 5));
    this.softLimitBytes = this.hardLimitBytes - spike;
    this.intervalMs = parseDuration(cfg.check_interval, 'check_interval');
    this.gcSoftMs = parseDuration(cfg.min_gc_interval_when_soft_limited, 'min_gc_interval_when_soft_limited');
    this.gcHardMs = parseDuration(cfg.min_gc_interval_when_hard_limited, 'min_gc_interval_when_hard_limited');
  }

  /** Starts checking (shared by every pipeline using this component id: counted). */
  acquire(): void {
    if (this.users++ > 0) return;
    this.check();
    this.timer = setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
  }

  release(): void {
    if (this.users === 0 || --this.users > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private maybeGc(minIntervalMs: number): void {
    const gc = (globalThis as { gc?: () => void }).gc;
    const now = Date.now();
    if (!gc || now - this.lastGc < minIntervalMs) return;
    this.lastGc = now;
    gc();
    this.lastUsageBytes = this.measure();
  }

  check(): void {
    this.lastUsageBytes = this.measure();
    if (this.lastUsageBytes > this.hardLimitBytes) this.maybeGc(this.gcHardMs);
    else if (this.lastUsageBytes >= this.softLimitBytes) this.maybeGc(this.gcSoftMs);
    const refuse = this.lastUsageBytes >= this.softLimitBytes;
    if (refuse !== this.refusing) {
      const fields = { rssMiB: Math.round(this.lastUsageBytes / MiB), softLimitMiB: Math.round(this.softLimitBytes / MiB), hardLimitMiB: Math.round(this.hardLimitBytes / MiB) };
      if (refuse) this.logger.warn(fields, 'memory usage is above the soft limit: refusing data');
      else this.logger.info(fields, 'memory usage is back below the soft limit: accepting data');
    }
    this.refusing = refuse;
  }

  /** Throws the retryable refusal when above the soft limit. */
  admit(): void {
    if (this.refusing) throw ConsumerError.retryable('data refused due to high memory usage');
  }
}
