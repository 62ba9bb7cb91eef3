// The `ebpf` receiver: loads the capture probes, turns what they see into Exchanges
// (ConnectionTable → StreamReassembler → HTTP/1.x / HTTP/2 parsers, in src/capture) and the
// Exchanges into spans and RED metrics (src/telemetry), and sends spans every flush_interval and
// the cumulative metrics every metrics_interval to the next consumers. A refused batch is logged
// and counted, never retried (the next metrics batch carries fresh cumulative values; spans are
// best effort, like the Collector's receivers under backpressure).
import type { Logger } from 'pino';
import { ExchangeAssembler, type AssembledExchange } from '../../../capture/exchange-assembler.js';
import { ConnectionTable } from '../../../capture/connection-table.js';
import { BpfError, CaptureProbes, type ProbeStats } from '../../../ebpf/index.js';
import { ExchangeTelemetry } from '../../../telemetry/index.js';
import type { CreateSettings, Host, Lifecycle } from '../../component.js';
import type { MetricsConsumer, TracesConsumer } from '../../consumer.js';
import { parseDuration } from '../../internal/duration.js';
import { compilePatterns, otlpPortsWarning, telemetryConfigOf, type EbpfReceiverConfig } from './config.js';
import { CapturedProcessIdentity } from './identity.js';
import { ProcessFilter } from './process-filter.js';
import { publishEbpfSelfMetrics, type EbpfReceiverSnapshot } from './self-metrics.js';

/** Verdicts of the process filter are re-evaluated this often (pids are reused). */
const FILTER_REFRESH_MS = 60_000;
const REFUSAL_LOG_MS = 10_000;

export interface EbpfNext {
  traces?: TracesConsumer;
  metrics?: MetricsConsumer;
}

export class EbpfReceiver implements Lifecycle {
  private readonly logger: Logger;
  private readonly id: string;
  private probes?: CaptureProbes;
  private assembler?: ExchangeAssembler;
  private telemetry?: ExchangeTelemetry;
  private timers: NodeJS.Timeout[] = [];
  private inFlight = new Set<Promise<void>>();
  private spansInFlight = false;
  private readonly refused = { traces: 0, metrics: 0 };
  private readonly lastRefusalLogMs = { traces: -Infinity, metrics: -Infinity };
  private withdrawSelfMetrics?: () => void;
  private lastKernelStats: ProbeStats | undefined;

  constructor(settings: CreateSettings, private readonly cfg: EbpfReceiverConfig, private readonly next: EbpfNext) {
    this.logger = settings.logger;
    this.id = settings.id.toString();
  }

  async start(host: Host): Promise<void> {
    this.withdrawSelfMetrics = publishEbpfSelfMetrics(host.selfMetrics, this.id, () => this.snapshot());
    const cfg = this.cfg;
    const patterns = compilePatterns(cfg);
    const filter = new ProcessFilter({ pids: cfg.pids, exe: patterns.exe, cmdline: patterns.cmdline });
    const telemetryCfg = telemetryConfigOf(cfg);
    const otlpWarning = otlpPortsWarning(cfg);
    if (otlpWarning) this.logger.warn({ ports: cfg.ports }, otlpWarning);
    // A signal without a pipeline is not computed at all.
    telemetryCfg.traces &&= this.next.traces !== undefined;
    telemetryCfg.metrics &&= this.next.metrics !== undefined;
    try {
      this.probes = CaptureProbes.open({
        captureBytes: cfg.capture_bytes,
        ports: cfg.ports,
        cgroupPath: cfg.cgroup_path || undefined,
        ringBufferBytes: cfg.ring_buffer_size,
        drainIntervalMs: parseDuration(cfg.drain_interval, 'drain_interval'),
        log: (msg) => this.logger.info(msg),
      });
    } catch (err) {
      if (cfg.required || !(err instanceof BpfError)) throw err;
      this.logger.warn({ err }, 'eBPF capture is off; the other receivers keep running');
      console.error(`sonde: eBPF capture (receiver "${this.id}") is OFF: ${err.message}\n`
        + '  Spans and RED metrics of unmodified services will be missing; OTLP from SDK-instrumented apps still works.');
      return;
    }
    const identity = new CapturedProcessIdentity();
    this.telemetry = new ExchangeTelemetry(telemetryCfg, { identity, onTraceJoin: (join) => host.traceJoins.add(join) });
    const table = new ConnectionTable();
    // Learn who a process is when its connection opens: short-lived clients (curl) are often gone
    // from /proc by the time their exchange completes.
    table.onChange((conn, change) => {
      if (change === 'open' && conn.pid !== undefined && filter.accepts(conn.pid)) identity.seen(conn.pid, conn.comm);
    });
    this.assembler = new ExchangeAssembler({
      table,
      maxConnections: cfg.max_connections,
      idleTimeoutMs: parseDuration(cfg.connection_idle_timeout, 'connection_idle_timeout'),
      accept: (conn) => filter.accepts(conn.pid),
      // A connection recognised as HTTP/2 mid-stream: let the kernel frame it too (header blocks whole, DATA skipped).
      onHttp2: (cookie) => { this.probes?.markHttp2(cookie); },
    });
    this.probes.onEvents((events) => this.record(this.assembler!.apply(events)));
    this.probes.onError((err) => this.logger.error({ err }, 'ebpf: processing captured records failed; the batch is lost'));
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(parseDuration(cfg.flush_interval, 'flush_interval'), () => {
      this.record(this.assembler!.sweep());
      this.flushSpans();
    });
    every(parseDuration(cfg.metrics_interval, 'metrics_interval'), () => this.flushMetrics());
    every(FILTER_REFRESH_MS, () => filter.forget());
    this.logger.info({ capture_bytes: cfg.capture_bytes, ports: cfg.ports, programs: this.probes.programs.map((p) => p.name) }, 'ebpf: capture probes attached');
    for (const m of this.probes.missing) this.logger.warn({ program: m.name, section: m.section }, `ebpf: this kernel lacks the ${m.tracepoint} tracepoint (${m.since} has it): no ${m.loses}`);
  }

  /** Hands on what the assembler produced: the requests that started first (their trace context is decided then), then the exchanges that ended. */
  private record(done: AssembledExchange[]): void {
    this.telemetry!.startRequests(this.assembler!.takeStarts());
    for (const { exchange, origin } of done) this.telemetry!.record(exchange, origin);
  }

  /** Sends the spans finished since the last flush; skipped while the previous send is pending (spans wait, bounded by max_pending_spans). */
  private flushSpans(): void {
    if (!this.telemetry || !this.next.traces || this.spansInFlight) return;
    const td = this.telemetry.drainSpans();
    if (td.resourceSpans.length === 0) return;
    this.spansInFlight = true;
    this.send('traces', () => this.next.traces!.consumeTraces(td)).finally(() => { this.spansInFlight = false; });
  }

  private flushMetrics(): void {
    if (!this.telemetry || !this.next.metrics) return;
    const md = this.telemetry.collectMetrics();
    if (md.resourceMetrics.length === 0) return;
    void this.send('metrics', () => this.next.metrics!.consumeMetrics(md));
  }

  private send(signal: 'traces' | 'metrics', consume: () => Promise<void>): Promise<void> {
    const p = consume().catch((err: unknown) => {
      this.refused[signal]++;
      // A pipeline that is down refuses every flush: say so once per REFUSAL_LOG_MS, with the count.
      const now = Date.now();
      if (now - this.lastRefusalLogMs[signal] < REFUSAL_LOG_MS) return;
      this.lastRefusalLogMs[signal] = now;
      this.logger.warn({ err, signal, refused_total: this.refused[signal] }, `ebpf: the pipeline refused a batch of ${signal}; it is dropped (counted in sonde_ebpf_refused_batches_total)`);
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  private snapshot(): EbpfReceiverSnapshot {
    if (this.probes && !this.probes.closed) {
      try {
        this.lastKernelStats = this.probes.stats();
      } catch (err) {
        this.logger.warn({ err }, 'ebpf: reading the probes\' stats failed');
      }
    }
    return {
      enabled: this.probes !== undefined && !this.probes.closed,
      kernel: this.lastKernelStats,
      capture: this.assembler?.stats,
      connectionsTracked: this.assembler?.connectionsTracked ?? 0,
      telemetry: this.telemetry?.stats,
      refused: this.refused,
    };
  }

  /** Stops capture, ends what the parsers still hold and sends the last spans and metrics. */
  async shutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.probes) {
      this.lastKernelStats = this.probes.stats();
      this.probes.close(); // delivers the records still in the ring
      this.record(this.assembler!.closeAll());
      await Promise.all(this.inFlight);
      this.spansInFlight = false;
      this.flushSpans();
      this.flushMetrics();
      await Promise.all(this.inFlight);
    }
    this.probes = undefined;
    this.withdrawSelfMetrics?.();
  }
}
