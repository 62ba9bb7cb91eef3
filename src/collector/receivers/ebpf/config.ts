// Options of the `ebpf` receiver: what to capture (processes, ports, head size), how often to
// hand spans and metrics to the pipelines, and the telemetry options of src/telemetry (routes,
// buckets, sampling, limits), which are passed through unchanged.
import { DEFAULT_TELEMETRY_CONFIG, resolveTelemetryConfig, type TelemetryConfig } from '../../../telemetry/index.js';
import { parseDuration } from '../../internal/duration.js';

/** Kernel limits of the capture probes (bpf/sonde.h). */
const MAX_CAPTURE_BYTES = 1024;
const MAX_PORTS = 16;

export interface EbpfReceiverConfig extends TelemetryConfig {
  /** false: when this host cannot load the probes, log why and keep the rest of the agent running. */
  required: boolean;
  /** Payload bytes captured at the start of each TCP packet (1..1024). */
  capture_bytes: number;
  /** Capture only connections with one of these local or remote ports (at most 16). Empty: all. */
  ports: number[];
  /** Report only these processes. Empty: all. */
  pids: number[];
  /** Report only processes whose executable path (/proc/PID/exe) matches this regular expression. */
  exe_path: string;
  /** Report only processes whose command line (arguments joined by spaces) matches this regular expression. */
  cmdline: string;
  /** Capture only sockets created in this cgroup v2 directory (e.g. a systemd service or a pod). */
  cgroup_path: string;
  /** How often finished spans are sent down the traces pipelines. */
  flush_interval: string;
  /** How often the cumulative RED metrics are sent down the metrics pipelines. */
  metrics_interval: string;
  /** How often the kernel ring buffer is drained (10ms..1s). */
  drain_interval: string;
  /** Kernel ring buffer size in bytes (a power of two ≥ 4096). */
  ring_buffer_size: number;
  /** Connections parsed at once; the oldest is dropped beyond it. */
  max_connections: number;
  /** A connection without traffic for this long has its parser closed. */
  connection_idle_timeout: string;
}

export const createDefaultEbpfConfig = (): EbpfReceiverConfig => ({
  required: true,
  capture_bytes: 512,
  ports: [],
  pids: [],
  exe_path: '',
  cmdline: '',
  cgroup_path: '',
  flush_interval: '1s',
  metrics_interval: '15s',
  drain_interval: '20ms',
  ring_buffer_size: 8 << 20,
  max_connections: 16384,
  connection_idle_timeout: '60s',
  ...structuredClone(DEFAULT_TELEMETRY_CONFIG),
});

const TELEMETRY_KEYS = Object.keys(DEFAULT_TELEMETRY_CONFIG) as (keyof TelemetryConfig)[];

/** The telemetry layer's part of the receiver config, validated and completed with defaults. */
export function telemetryConfigOf(cfg: EbpfReceiverConfig): TelemetryConfig {
  const picked: Record<string, unknown> = {};
  for (const k of TELEMETRY_KEYS) picked[k] = cfg[k];
  return resolveTelemetryConfig(picked, 'ebpf');
}

function regex(value: string, option: string): RegExp | undefined {
  if (value === '') return undefined;
  try {
    return new RegExp(value);
  } catch (err) {
    throw new Error(`${option}: "${value}" is not a valid regular expression (${(err as Error).message})`);
  }
}

export function compilePatterns(cfg: EbpfReceiverConfig): { exe?: RegExp; cmdline?: RegExp } {
  return { exe: regex(cfg.exe_path, 'exe_path'), cmdline: regex(cfg.cmdline, 'cmdline') };
}

/** The ports OpenTelemetry SDKs export OTLP to by default (gRPC, HTTP). */
const STANDARD_OTLP_PORTS = [4317, 4318];

/**
 * Why `exclude_otel_instrumented_services` cannot work with this config, or undefined: with a
 * `ports` filter that leaves out the OTLP ports the kernel never shows the apps' exports, so the
 * apps are reported twice (by their SDK and by eBPF) for as long as they run. Only the standard
 * ports are known here: an `otlp` receiver's own ports are another component's config.
 */
export function otlpPortsWarning(cfg: Pick<EbpfReceiverConfig, 'ports' | 'exclude_otel_instrumented_services'>): string | undefined {
  if (!cfg.exclude_otel_instrumented_services || cfg.ports.length === 0) return undefined;
  if (STANDARD_OTLP_PORTS.some((p) => cfg.ports.includes(p))) return undefined;
  return `ebpf: ports ${JSON.stringify(cfg.ports)} has neither 4317 nor 4318, so apps' OTLP exports are not captured and `
    + 'exclude_otel_instrumented_services never takes effect: apps instrumented with an OpenTelemetry SDK are reported twice (by their SDK and by eBPF). '
    + 'Fix: add the port your SDKs export to (4317 gRPC, 4318 HTTP, or your otlp receiver\'s) to ports; '
    + 'if no app on this host exports OTLP, set exclude_otel_instrumented_services: false';
}

export function validateEbpfConfig(cfg: EbpfReceiverConfig): void {
  if (!Number.isInteger(cfg.capture_bytes) || cfg.capture_bytes < 1 || cfg.capture_bytes > MAX_CAPTURE_BYTES) {
    throw new Error(`capture_bytes: must be an integer between 1 and ${MAX_CAPTURE_BYTES}, got ${cfg.capture_bytes}`);
  }
  if (cfg.ports.length > MAX_PORTS || !cfg.ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535)) {
    throw new Error(`ports: list at most ${MAX_PORTS} TCP ports between 1 and 65535, got ${JSON.stringify(cfg.ports)}`);
  }
  if (!cfg.pids.every((p) => Number.isInteger(p) && p > 0)) throw new Error(`pids: expected a list of process ids, got ${JSON.stringify(cfg.pids)}`);
  compilePatterns(cfg);
  for (const k of ['flush_interval', 'metrics_interval', 'connection_idle_timeout'] as const) {
    if (parseDuration(cfg[k], k) <= 0) throw new Error(`${k}: must be positive, got "${cfg[k]}"`);
  }
  const drain = parseDuration(cfg.drain_interval, 'drain_interval');
  if (drain < 10 || drain > 1000) throw new Error(`drain_interval: must be between 10ms and 1s, got "${cfg.drain_interval}"`);
  const ring = cfg.ring_buffer_size;
  if (!Number.isInteger(ring) || ring < 4096 || (ring & (ring - 1)) !== 0) {
    throw new Error(`ring_buffer_size: must be a power of two of at least 4096 bytes, got ${ring}`);
  }
  if (!Number.isInteger(cfg.max_connections) || cfg.max_connections < 1) throw new Error(`max_connections: must be a positive integer, got ${cfg.max_connections}`);
  telemetryConfigOf(cfg);
}
