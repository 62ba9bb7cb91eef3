// The Collector's hash_seed sampling, bit for bit: FNV-1a (32 bit) over the seed's 4 bytes
// (little-endian) followed by the trace id's 16 bytes; the low 14 bits (0x4000 buckets) are
// compared with uint32(float32(percentage) × 163.84). The same trace ids get the same decision
// as an upstream Collector with the same seed, so both can sample one system consistently.
import type { ConsumeOf, CreateSettings } from '../../component.js';
import type { AnyValue, Attributes, Logs, Signal, SignalData, Traces } from '../../pdata/model.js';
import { mapLogs, mapSpans } from '../../pdata/select.js';
import { anyValueToString } from '../../internal/anyvalue.js';
import { forwardKept } from '../../internal/processorhelper.js';
import { ProcessorTelemetry } from '../../internal/selftelemetry.js';
import type { ProbabilisticSamplerConfig } from './config.js';

export const NUM_HASH_BUCKETS = 0x4000;
const BIT_MASK_HASH_BUCKETS = NUM_HASH_BUCKETS - 1;
const PERCENTAGE_SCALE_FACTOR = Math.fround(NUM_HASH_BUCKETS / 100);

export function fnv1a32(seed: number, bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  const step = (b: number) => { h ^= b; h = Math.imul(h, 0x01000193) >>> 0; };
  for (let i = 0; i < 4; i++) step((seed >>> (8 * i)) & 0xff);
  for (const b of bytes) step(b);
  return h >>> 0;
}

/** Go's `uint32(pct * percentageScaleFactor)` with pct a float32: float32 product, truncated. */
export function scaledSamplingRate(percentage: number): number {
  const pct = Math.min(percentage, 100);
  return Math.trunc(Math.fround(Math.fround(pct) * PERCENTAGE_SCALE_FACTOR));
}

export function hashSampled(bytes: Uint8Array, seed: number, scaledRate: number): boolean {
  return (fnv1a32(seed, bytes) & BIT_MASK_HASH_BUCKETS) < scaledRate;
}

/** `sampling.priority`-style override: 0 → never, > 0 → always, anything else → no override. */
function priorityOf(v: AnyValue | undefined): 'drop' | 'keep' | undefined {
  let n: number;
  if (typeof v === 'number' || typeof v === 'bigint') n = Number(v);
  else if (typeof v === 'string' && v.trim() !== '') n = Number(v);
  else return undefined;
  if (Number.isNaN(n)) return undefined;
  return n === 0 ? 'drop' : n > 0 ? 'keep' : undefined;
}

const hexBytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

export class ProbabilisticSampler<S extends Signal> {
  private readonly scaled: number;
  private readonly telemetry: ProcessorTelemetry;

  constructor(
    private readonly settings: CreateSettings,
    private readonly cfg: ProbabilisticSamplerConfig,
    private readonly signal: S,
    private readonly next: ConsumeOf<S>,
  ) {
    this.scaled = scaledSamplingRate(cfg.sampling_percentage);
    this.telemetry = new ProcessorTelemetry(settings.host.selfMetrics, settings.id.toString());
  }

  private decide(source: Uint8Array | undefined, attrs: Attributes, priorityKey: string): boolean {
    const priority = priorityKey ? priorityOf(attrs[priorityKey]) : undefined;
    if (priority) return priority === 'keep';
    if (!source || source.length === 0) return !this.cfg.fail_closed; // no randomness source
    return hashSampled(source, this.cfg.hash_seed, this.scaled);
  }

  private logSource(attrs: Attributes, traceId: string): Uint8Array | undefined {
    if (this.cfg.attribute_source === 'traceID') return traceId ? hexBytes(traceId) : undefined;
    const v = attrs[this.cfg.from_attribute];
    if (v === undefined || v === null) return undefined;
    return v instanceof Uint8Array ? v : Buffer.from(anyValueToString(v), 'utf8');
  }

  readonly consume: ConsumeOf<S> = async (data, ctx) => {
    let kept: SignalData[S];
    if (this.signal === 'traces') {
      kept = mapSpans(data as Traces, (span) =>
        (this.decide(span.traceId ? hexBytes(span.traceId) : undefined, span.attributes, 'sampling.priority') ? span : undefined)) as SignalData[S];
    } else if (this.signal === 'logs') {
      kept = mapLogs(data as Logs, (log) =>
        (this.decide(this.logSource(log.attributes, log.traceId), log.attributes, this.cfg.sampling_priority) ? log : undefined)) as SignalData[S];
    } else {
      throw new Error(`probabilistic_sampler ${this.settings.id.toString()} does not support ${this.signal}`);
    }
    await forwardKept(this.signal, data, kept, this.telemetry, this.next, ctx);
  };
}
