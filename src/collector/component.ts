// The contract every component folder implements (receivers/, processors/, exporters/,
// connectors/). Components never import each other: the service wires them through these types.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ConsumeContext, Consumer } from './consumer.js';
import type { TraceJoin } from '../telemetry/trace-linker.js';
import type { Signal, SignalData, Traces } from './pdata/model.js';

export type ComponentKind = 'receiver' | 'processor' | 'exporter' | 'connector' | 'extension';

/** `type[/name]`, e.g. `otlp/tempo`. */
export interface ComponentId { type: string; name: string; toString(): string }

/** What the running service offers every component. */
export interface Host {
  logger: Logger;
  /** The agent's self-telemetry registry (`sonde_*` metrics), shown on the Prometheus endpoint(s). */
  selfMetrics: Registry;
  /** Looks up a started extension by id (e.g. `file_storage/x`), or undefined. */
  getExtension(id: string): unknown;
  /** SDK traces that continue captured ones: the `ebpf` receiver adds them, receivers of SDK spans apply them. */
  traceJoins: TraceJoinRegistry;
}

/** SDK traces joined to captured ones (implemented by internal/trace-joins.ts, one per service). */
export interface TraceJoinRegistry {
  add(join: TraceJoin): void;
  /** Moves the spans of joined SDK traces into the captured trace, in place. */
  rewrite(td: Traces): void;
}

export interface Lifecycle {
  start(host: Host): Promise<void>;
  /**
   * Flushes what it holds (batches, queues) and releases every resource. Idempotent.
   * `deadline` (optional, so components without buffered data may ignore it) is aborted when the
   * service's overall shutdown timeout passes: stop waiting, drop what is still held, and count and
   * log how many items were lost.
   */
  shutdown(deadline?: AbortSignal): Promise<void>;
}

export interface CreateSettings { id: ComponentId; kind: ComponentKind; host: Host; logger: Logger }

/** A processor or exporter for one signal: something that consumes and has a lifecycle. */
export type ConsumerComponent<S extends Signal> = Consumer<S> & Lifecycle;

/**
 * One per component type. `createDefaultConfig` gives every option its documented default;
 * `validate` throws an Error whose message names the option and the fix (the service prefixes
 * the component id). Unknown keys are rejected generically by the config loader against the
 * keys of the default config unless `openKeys` lists nested maps whose keys are user-defined.
 */
export interface Factory<C = any> {
  kind: ComponentKind;
  type: string;
  /** Other accepted type names, e.g. `otlp_grpc` for `otlp`. */
  aliases?: string[];
  signals: Signal[];
  /**
   * True when the component changes the data it is given in place (the Collector's MutatesData
   * capability). The service then hands it its own copy when the same batch also goes elsewhere
   * (fan-out); components without the flag must treat their input as read-only.
   */
  mutatesData?: boolean;
  createDefaultConfig(): C;
  /** Dotted paths (relative to the component config) whose children are free-form keys, e.g. `headers`. */
  openKeys?: string[];
  /**
   * Optional: adjusts the merged config knowing what the user actually wrote (e.g. the otlp receiver
   * enables only the protocols listed under `protocols`). Runs before `validate`.
   */
  unmarshal?(merged: C, user: Record<string, unknown>): C;
  validate?(cfg: C): void;
}

export interface ReceiverFactory<C = any> extends Factory<C> {
  kind: 'receiver';
  /**
   * Called once per receiver id with one next consumer per signal it feeds (a receiver in several
   * pipelines gets a fan-out consumer). Returns one lifecycle, however many signals it serves.
   */
  createReceiver(settings: CreateSettings, cfg: C, next: Partial<{ [S in Signal]: Consumer<S> }>): Lifecycle;
}

export interface ProcessorFactory<C = any> extends Factory<C> {
  kind: 'processor';
  createProcessor<S extends Signal>(settings: CreateSettings, cfg: C, signal: S, next: Consumer<S>): ConsumerComponent<S>;
}

export interface ExporterFactory<C = any> extends Factory<C> {
  kind: 'exporter';
  createExporter<S extends Signal>(settings: CreateSettings, cfg: C, signal: S): ConsumerComponent<S>;
}

export interface ConnectorFactory<C = any> extends Factory<C> {
  kind: 'connector';
  /** Which (from → to) signal pairs it supports, e.g. [['traces', 'metrics']]. */
  pairs: Array<[Signal, Signal]>;
  createConnector<F extends Signal, T extends Signal>(settings: CreateSettings, cfg: C, from: F, to: T, next: Consumer<T>): ConsumerComponent<F>;
}

export interface ExtensionFactory<C = any> extends Factory<C> {
  kind: 'extension';
  createExtension(settings: CreateSettings, cfg: C): Lifecycle;
}

export type AnyFactory = ReceiverFactory | ProcessorFactory | ExporterFactory | ConnectorFactory | ExtensionFactory;

/** Helper for components that handle several signals with one method per signal. */
export type ConsumeOf<S extends Signal> = (data: SignalData[S], ctx?: ConsumeContext) => Promise<void>;
