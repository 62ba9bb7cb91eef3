// The running Collector core: builds the pipeline graph from a resolved config and the component
// registry, starts it (exporters → processors → connectors → receivers) and shuts it down in
// reverse so that receivers stop taking data first and batches and queues flush into exporters
// that are still running.
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
}

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
    this.logger = opts.logger ?? pino({ level: config.telemetry.logs.level, base: { service: 'sonde' } }, pino.destination(2));
    const selfMetrics = opts.selfMetrics ?? new Registry();
    this.host = {
      logger: this.logger,
      selfMetrics,
      getExtension: (id) => this.extensions.get(id),
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
      this.receivers.set(rid, (cc.factory as ReceiverFactory).createReceiver(this.settings(cc), cc.config, next));
    }
  }

  /** The consumer at the head of a pipeline (its first processor, or its exporters' fan-out). */
  private entry(p: PipelineConfig): FanoutBranch<Signal> {
    const memo = this.entries.get(p.id);
    if (memo) return memo;
    const signal = p.signal;
    const cfg = this.config;
    const branches: FanoutBranch<Signal>[] = p.exporters.map((eid) => {
      const ec = cfg.exporters.get(eid);
      if (ec) {
        const key = `${eid}|${signal}`;
        let exp = this.exporters.get(key);
        if (!exp) {
          exp = (ec.factory as ExporterFactory).createExporter(this.settings(ec), ec.config, signal);
          this.exporters.set(key, exp);
        }
        return { consume: consumeOf(signal, exp), mutatesData: ec.factory.mutatesData ?? false };
      }
      return this.connectorBranch(eid, p);
    });
    let head = fanout(signal, branches);
    const chain: Array<{ label: string; lc: ConsumerComponent<Signal> }> = [];
    for (const pid of [...p.processors].reverse()) {
      const pc = cfg.processors.get(pid)!;
      const proc = (pc.factory as ProcessorFactory).createProcessor(this.settings(pc), pc.config, signal, asConsumer(signal, head.consume));
      chain.unshift({ label: `processor "${pid}" in pipeline "${p.id}"`, lc: proc });
      head = { consume: consumeOf(signal, proc), mutatesData: head.mutatesData || (pc.factory.mutatesData ?? false) };
    }
    this.processors.push(...chain);
    this.entries.set(p.id, head);
    return head;
  }

  /** A connector used as exporter in pipeline `from`: one instance per target signal it feeds. */
  private connectorBranch(cid: string, from: PipelineConfig): FanoutBranch<Signal> {
    const cc = this.config.connectors.get(cid)!;
    const f = cc.factory as ConnectorFactory;
    const targets = this.config.pipelines.filter((t) => t.receivers.includes(cid));
    const branches: FanoutBranch<Signal>[] = [];
    for (const toSignal of new Set(targets.map((t) => t.signal))) {
      if (!f.pairs.some(([a, b]) => a === from.signal && b === toSignal)) continue;
      const key = `${cid}|${from.signal}|${toSignal}`;
      let conn = this.connectors.get(key);
      if (!conn) {
        const downstream = fanout(toSignal, targets.filter((t) => t.signal === toSignal).map((t) => this.entry(t)));
        conn = f.createConnector(this.settings(cc), cc.config, from.signal, toSignal, asConsumer(toSignal, downstream.consume));
        this.connectors.set(key, conn);
      }
      branches.push({ consume: consumeOf(from.signal, conn), mutatesData: f.mutatesData ?? false });
    }
    return fanout(from.signal, branches);
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
   * Stops receivers first, then connectors, then processors from the first of each pipeline to the
   * last (each flushes into the next, still running), then exporters (which drain their queues).
   * Idempotent; errors are logged and the first one is rethrown after everything was stopped.
   */
  async shutdown(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    const started = new Set(this.started.map((s) => s.lc));
    const order: Started[] = [
      ...[...this.receivers].map(([id, lc]) => ({ label: `receiver "${id}"`, lc })),
      ...[...this.connectors].map(([key, lc]) => ({ label: `connector "${key.split('|')[0]}"`, lc })),
      ...this.processors,
      ...[...this.exporters].map(([key, lc]) => ({ label: `exporter "${key.split('|')[0]}"`, lc })),
      ...[...this.extensions].map(([id, lc]) => ({ label: `extension "${id}"`, lc })),
    ].filter((s) => started.has(s.lc));
    this.started = [];
    let first: unknown;
    for (const s of order) {
      try {
        await s.lc.shutdown();
      } catch (err) {
        this.logger.error({ err }, `error shutting down ${s.label}`);
        first ??= err;
      }
    }
    await new Promise<void>((resolve) => (this.telemetryServer ? this.telemetryServer.close(() => resolve()) : resolve()));
    this.logger.info('Shutdown complete.');
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
