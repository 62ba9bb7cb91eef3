// The running Collector core: builds the pipeline graph from a resolved config and the component
// registry, starts it (exporters → processors → connectors → receivers) and shuts it down along
// the graph: a component stops once everything that feeds it has stopped, so receivers stop taking
// data first and batches and queues flush into exporters that are still running, while components
// that do not feed each other (e.g. all exporters) stop concurrently. One overall deadline bounds
// shutdown; past it, components drop what they still hold and report how much.
//
// Instances, like the Collector: one exporter per (id, signal), shared by every pipeline of that
// signal; one processor per (pipeline, id); one connector per (id, from-signal, to-signal); one
// receiver per id, whatever the number of pipelines and signals it feeds (fan-out).
import { createServer, type Server } from 'node:http';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import type {
  ConnectorFactory, ConsumerComponent, CreateSettings, ExporterFactory, ExtensionFactory, Host, Lifecycle,
  ProcessorFactory, ReceiverFactory,
} from '../component.js';
import { defaultRegistry, type FactoryMap } from '../components.js';
import { type ComponentConfig, parseConfigYaml, type PipelineConfig, type ResolvedConfig, resolveConfig } from '../config/config.js';
import type { Env } from '../config/expand.js';
import type { Consumer } from '../consumer.js';
import type { Signal } from '../pdata/model.js';
import { TraceJoins } from '../internal/trace-joins.js';
import { asConsumer, consumeOf } from '../internal/consumers.js';
import { fanout, type FanoutBranch } from './fanout.js';

export interface ServiceOptions {
  /** Component registry; defaults to every built-in factory (`defaultRegistry()`). */
  registry?: FactoryMap;
  /** Agent logger; defaults to a pino logger (stderr) at `service.telemetry.logs.level`. */
  logger?: Logger;
  /** Self-telemetry registry; defaults to a fresh prom-client Registry. */
  selfMetrics?: Registry;
  /** Environment used for `${env:VAR}` expansion (default: process.env). */
  env?: Env;
  /**
   * Upper bound for `shutdown()` in milliseconds (default DEFAULT_SHUTDOWN_TIMEOUT_MS). A Sonde
   * option, not a config key, so configs stay Collector-compatible (`sonde run --shutdown-timeout`).
   */
  shutdownTimeoutMs?: number;
}

/** 20 s: below Kubernetes' default 30 s terminationGracePeriodSeconds, with room for process exit. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 20_000;

interface Started { label: string; lc: Lifecycle }

export class Service {
  readonly host: Host;
  readonly config: ResolvedConfig;
  private readonly logger: Logger;
  private readonly extensions = new Map<string, Lifecycle>();
  private readonly exporters = new Map<string, ConsumerComponent<Signal>>();
  /** Per pipeline, first to last. */
  private readonly processors: Array<{ label: string; lc: ConsumerComponent<Signal> }> = [];
  private readonly connectors = new Map<string, ConsumerComponent<Signal>>();
  private readonly receivers = new Map<string, Lifecycle>();
  private readonly entries = new Map<string, FanoutBranch<Signal>>();
  private started: Started[] = [];
  /** For each component, the components it feeds (the edges shutdown follows). */
  private readonly feeds = new Map<Lifecycle, Set<Lifecycle>>();
  /** Per pipeline, the components its data enters first (first processor, or its exporters/connectors). */
  private readonly heads = new Map<string, Lifecycle[]>();
  private readonly shutdownTimeoutMs: number;
  private telemetryServer?: Server;
  private state: 'built' | 'starting' | 'running' | 'stopped' = 'built';

  /** Parses, expands and validates a YAML config and builds the pipeline graph (binds nothing yet). */
  static async fromYaml(yaml: string, opts: ServiceOptions = {}): Promise<Service> {
    return Service.fromConfig(parseConfigYaml(yaml, opts.env ?? process.env), opts);
  }

  /** Same from an already-parsed config object (as YAML would produce: snake_case keys). Throws ConfigError. */
  static async fromConfig(raw: Record<string, unknown>, opts: ServiceOptions = {}): Promise<Service> {
    return new Service(resolveConfig(raw, opts.registry ?? defaultRegistry()), opts);
  }

  constructor(config: ResolvedConfig, opts: ServiceOptions = {}) {
    this.config = config;
    this.shutdownTimeoutMs = opts.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    this.logger = opts.logger ?? pino({ level: config.telemetry.logs.level, base: { service: 'sonde' } }, pino.destination(2));
    const selfMetrics = opts.selfMetrics ?? new Registry();
    this.host = {
      logger: this.logger,
      selfMetrics,
      getExtension: (id) => this.extensions.get(id),
      traceJoins: new TraceJoins(),
    };
    this.build();
  }

  private settings(cc: ComponentConfig): CreateSettings {
    const id = cc.id.toString();
    return { id: cc.id, kind: cc.kind, host: this.host, logger: this.logger.child({ kind: cc.kind, name: id }) };
  }

  private build(): void {
    const cfg = this.config;
    for (const id of cfg.serviceExtensions) {
      const cc = cfg.extensions.get(id)!;
      this.extensions.set(id, (cc.factory as ExtensionFactory).createExtension(this.settings(cc), cc.config));
    }
    for (const p of cfg.pipelines) this.entry(p);
    // Receivers: one instance per id, with one (fanned-out) consumer per signal it feeds.
    const feeds = new Map<string, Partial<Record<Signal, FanoutBranch<Signal>[]>>>();
    for (const p of cfg.pipelines) {
      for (const r of p.receivers) {
        if (!cfg.receivers.has(r)) continue; // a connector: wired when its exporter side is built
        const perSignal = feeds.get(r) ?? {};
        (perSignal[p.signal] ??= []).push(this.entry(p));
        feeds.set(r, perSignal);
      }
    }
    for (const [rid, perSignal] of feeds) {
      const cc = cfg.receivers.get(rid)!;
      const next: Partial<{ [S in Signal]: Consumer<S> }> = {};
      for (const signal of Object.keys(perSignal) as Signal[]) {
        const fan = fanout(signal, perSignal[signal]!);
        (next as Record<Signal, unknown>)[signal] = asConsumer(signal, fan.consume);
      }
      const receiver = (cc.factory as ReceiverFactory).createReceiver(this.settings(cc), cc.config, next);
      this.receivers.set(rid, receiver);
      for (const p of cfg.pipelines) if (p.receivers.includes(rid)) this.link(receiver, this.heads.get(p.id)!);
    }
  }

  private link(from: Lifecycle, to: Lifecycle[]): void {
    const set = this.feeds.get(from) ?? new Set();
    for (const t of to) set.add(t);
    this.feeds.set(from, set);
  }

  /** The consumer at the head of a pipeline (its first processor, or its exporters' fan-out). */
  private entry(p: PipelineConfig): FanoutBranch<Signal> {
    const memo = this.entries.get(p.id);
    if (memo) return memo;
    const signal = p.signal;
    const cfg = this.config;
    let tail: Lifecycle[] = [];
    const branches: FanoutBranch<Signal>[] = p.exporters.map((eid) => {
      const ec = cfg.exporters.get(eid);
      if (ec) {
        const key = `${eid}|${signal}`;
        let exp = this.exporters.get(key);
        if (!exp) {
          exp = (ec.factory as ExporterFactory).createExporter(this.settings(ec), ec.config, signal);
          this.exporters.set(key, exp);
        }
        tail.push(exp);
        return { consume: consumeOf(signal, exp), mutatesData: ec.factory.mutatesData ?? false };
      }
      const conn = this.connectorBranch(eid, p);
      tail.push(...conn.instances);
      return conn.branch;
    });
    let head = fanout(signal, branches);
    const chain: Array<{ label: string; lc: ConsumerComponent<Signal> }> = [];
    for (const pid of [...p.processors].reverse()) {
      const pc = cfg.processors.get(pid)!;
      const proc = (pc.factory as ProcessorFactory).createProcessor(this.settings(pc), pc.config, signal, asConsumer(signal, head.consume));
      chain.unshift({ label: `processor "${pid}" in pipeline "${p.id}"`, lc: proc });
      this.link(proc, tail);
      tail = [proc];
      head = { consume: consumeOf(signal, proc), mutatesData: head.mutatesData || (pc.factory.mutatesData ?? false) };
    }
    this.processors.push(...chain);
    this.entries.set(p.id, head);
    this.heads.set(p.id, tail);
    return head;
  }

  /** A connector used as exporter in pipeline `from`: one instance per target signal it feeds. */
  private connectorBranch(cid: string, from: PipelineConfig): { branch: FanoutBranch<Signal>; instances: Lifecycle[] } {
    const cc = this.config.connectors.get(cid)!;
    const f = cc.factory as ConnectorFactory;
    const targets = this.config.pipelines.filter((t) => t.receivers.includes(cid));
    const branches: FanoutBranch<Signal>[] = [];
    const instances: Lifecycle[] = [];
    for (const toSignal of new Set(targets.map((t) => t.signal))) {
      if (!f.pairs.some(([a, b]) => a === from.signal && b === toSignal)) continue;
      const key = `${cid}|${from.signal}|${toSignal}`;
      let conn = this.connectors.get(key);
      if (!conn) {
        const fed = targets.filter((t) => t.signal === toSignal);
        const downstream = fanout(toSignal, fed.map((t) => this.entry(t)));
        conn = f.createConnector(this.settings(cc), cc.config, from.signal, toSignal, asConsumer(toSignal, downstream.consume));
        this.connectors.set(key, conn);
        this.link(conn, fed.flatMap((t) => this.heads.get(t.id)!));
      }
      instances.push(conn);
      branches.push({ consume: consumeOf(from.signal, conn), mutatesData: f.mutatesData ?? false });
    }
    return { branch: fanout(from.signal, branches), instances };
  }

  /** The receiver instance for an id (e.g. to read the bound addresses of `otlp` in tests). */
  getReceiver(id: string): Lifecycle | undefined {
    return this.receivers.get(id);
  }

  /** Starts extensions → exporters → processors → connectors → receivers. On failure, stops what started. */
  async start(): Promise<void> {
    if (this.state !== 'built') throw new Error(`service cannot start: it is ${this.state}`);
    this.state = 'starting';
    const order: Started[] = [
      ...[...this.extensions].map(([id, lc]) => ({ label: `extension "${id}"`, lc })),
      ...[...this.exporters].map(([key, lc]) => ({ label: `exporter "${key.split('|')[0]}" (${key.split('|')[1]})`, lc })),
      // Last processor of each pipeline first, so each starts after what it feeds.
      ...[...this.processors].reverse(),
      ...[...this.connectors].map(([key, lc]) => ({ label: `connector "${key.split('|')[0]}"`, lc })),
      ...[...this.receivers].map(([id, lc]) => ({ label: `receiver "${id}"`, lc })),
    ];
    for (const s of order) {
      try {
        await s.lc.start(this.host);
      } catch (err) {
        this.logger.error({ err }, `failed to start ${s.label}; shutting down what already started`);
        await this.shutdown();
        throw new Error(`cannot start ${s.label}: ${(err as Error).message}`, { cause: err });
      }
      this.started.push(s);
    }
    try {
      await this.startTelemetryServer();
    } catch (err) {
      await this.shutdown();
      throw err;
    }
    this.state = 'running';
    this.logger.info({ pipelines: this.config.pipelines.map((p) => p.id) }, 'Everything is ready. Begin running and processing data.');
  }

  /**
   * Stops every started component once all components feeding it have stopped (receivers first,
   * exporters after the processors and connectors in front of them, extensions last); components
   * that do not feed each other stop concurrently. Bounded by the shutdown timeout T: at
   * T - min(1 s, T/4) the `deadline` signal given to every component aborts (exporters then drop
   * and report what they still hold) and components not yet stopping are stopped at once; at T the
   * service returns regardless, naming the components that did not finish. Idempotent; errors are
   * logged and the first one is rethrown after everything was stopped.
   */
  async shutdown(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    const began = Date.now();
    const labels = new Map(this.started.map((s) => [s.lc, s.label]));
    this.started = [];
    const extensions = new Set<Lifecycle>(this.extensions.values());
    const pipelineParts = [...labels.keys()].filter((lc) => !extensions.has(lc));
    // Upstream of each started component: who feeds it; extensions wait for every pipeline component.
    const upstream = new Map<Lifecycle, Lifecycle[]>([...labels.keys()].map((lc) => [lc, extensions.has(lc) ? pipelineParts : []]));
    for (const [from, to] of this.feeds) {
      if (!labels.has(from)) continue;
      for (const t of to) upstream.get(t)?.push(from);
    }

    const timeout = this.shutdownTimeoutMs;
    const deadline = new AbortController();
    const deadlineReached = new Promise<void>((resolve) => deadline.signal.addEventListener('abort', () => resolve(), { once: true }));
    const deadlineTimer = setTimeout(() => {
      this.logger.warn({ shutdown_timeout_ms: timeout }, 'Shutdown deadline reached: components drop what they still hold and report it');
      deadline.abort();
    }, timeout - Math.min(1000, timeout / 4));
    const pending = new Set(labels.keys());
    let first: unknown;
    const stopping = new Map<Lifecycle, Promise<void>>();
    const stop = (lc: Lifecycle): Promise<void> => {
      let p = stopping.get(lc);
      if (!p) {
        p = (async () => {
          await Promise.race([Promise.all(upstream.get(lc)!.map(stop)), deadlineReached]);
          try {
            await lc.shutdown(deadline.signal);
          } catch (err) {
            this.logger.error({ err }, `error shutting down ${labels.get(lc)}`);
            first ??= err;
          } finally {
            pending.delete(lc);
          }
        })();
        stopping.set(lc, p);
      }
      return p;
    };
    let hardTimer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all([...labels.keys()].map(stop)).then(() => true),
      new Promise<boolean>((resolve) => { hardTimer = setTimeout(() => resolve(false), timeout); }),
    ]);
    clearTimeout(deadlineTimer);
    clearTimeout(hardTimer);
    const server = this.telemetryServer;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const elapsed = Date.now() - began;
    if (finished) {
      this.logger.info({ shutdown_ms: elapsed }, 'Shutdown complete.');
    } else {
      this.logger.error({ shutdown_ms: elapsed, not_stopped: [...pending].map((lc) => labels.get(lc)) },
        `Shutdown timeout (${timeout} ms) reached; giving up on components that did not stop`);
    }
    if (first) throw first;
  }

  /** `service.telemetry.metrics.address`: serves the self-metrics registry at /metrics. */
  private async startTelemetryServer(): Promise<void> {
    const { address, level } = this.config.telemetry.metrics;
    if (!address || level === 'none') return;
    const colon = address.lastIndexOf(':');
    const host = colon > 0 ? address.slice(0, colon).replace(/^\[|\]$/g, '') : '127.0.0.1';
    const port = Number(address.slice(colon + 1));
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') { res.writeHead(404).end(); return; }
      this.host.selfMetrics.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.host.selfMetrics.contentType }).end(text),
        (err) => res.writeHead(500).end(String(err)),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`service::telemetry::metrics::address: cannot listen on ${address}: ${err.message}`)));
      server.listen(port, host === 'localhost' ? '127.0.0.1' : host, () => resolve());
    });
    this.telemetryServer = server;
  }
}
