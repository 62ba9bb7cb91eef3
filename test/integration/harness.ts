// Shared by the integration tests: a Sonde Service started in-process from YAML with the `ebpf`
// receiver restricted to the test's ports and an in-memory sink exporter, helpers to read the
// spans and metrics it received, and real servers and clients run as child processes (the agent
// never reports its own process, so nothing under test may run inside the test process).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ExporterFactory } from '../../src/collector/component.js';
import { makeRegistry } from '../../src/collector/components.js';
import { connectorFactories } from '../../src/collector/connectors/index.js';
import { exporterFactories } from '../../src/collector/exporters/index.js';
import { ConsumerError } from '../../src/collector/consumer.js';
import { asComponent } from '../../src/collector/internal/consumers.js';
import type { AnyValue, Attributes, HistogramDataPoint, Metrics, Span, Traces } from '../../src/collector/pdata/model.js';
import { processorFactories } from '../../src/collector/processors/index.js';
import { receiverFactories } from '../../src/collector/receivers/index.js';
import type { Service } from '../../src/collector/service/service.js';
import { SONDE_SCOPE_NAME } from '../../src/telemetry/scope.js';
import { startService, waitFor } from '../collector/helpers.js';
import { startChild, waitForOutput, type Child } from '../helpers/children.js';
import { ebpfServiceYaml } from '../helpers/ebpf-service-yaml.js';

export { freePort, waitFor } from '../collector/helpers.js';
export { startChild, startPythonHttp, waitForOutput, type Child } from '../helpers/children.js';

export interface SeenSpan extends Span {
  resource: Attributes;
  /** Name of the instrumentation scope: `sonde` for captured spans, the instrumentation's for an SDK's. */
  scope: string;
}

/** What the sink exporter received. */
export class Sink {
  readonly traces: Traces[] = [];
  readonly metrics: Metrics[] = [];

  spans(): SeenSpan[] {
    return this.traces.flatMap((td) => td.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({ ...s, resource: rs.resource.attributes, scope: ss.scope.name })))));
  }

  /**
   * The data points of a histogram in the latest metrics batch of the ebpf receiver (cumulative),
   * with their resource; batches from an `otlp` receiver are skipped.
   */
  histogram(name: string): Array<HistogramDataPoint & { resource: Attributes }> {
    const last = [...this.metrics].reverse().find((md) => md.resourceMetrics.some((rm) => rm.scopeMetrics.some((sm) => sm.scope.name === SONDE_SCOPE_NAME)));
    if (!last) return [];
    const out: Array<HistogramDataPoint & { resource: Attributes }> = [];
    for (const rm of last.resourceMetrics) {
      for (const sm of rm.scopeMetrics) {
        for (const m of sm.metrics) {
          if (m.name === name && m.data.type === 'histogram') out.push(...m.data.dataPoints.map((p) => ({ ...p, resource: rm.resource.attributes })));
        }
      }
    }
    return out;
  }
}

/** `sink: { refuse: true }` refuses every batch (a pipeline that is down). */
function sinkFactory(sink: Sink): ExporterFactory<{ refuse: boolean }> {
  return {
    kind: 'exporter', type: 'sink', signals: ['traces', 'metrics'], createDefaultConfig: () => ({ refuse: false }),
    createExporter: (_s, cfg, signal) => asComponent(signal, {
      consume: async (d) => {
        if (cfg.refuse) throw ConsumerError.retryable('sink refuses (test)');
        if (signal === 'traces') sink.traces.push(d as Traces);
        else sink.metrics.push(d as Metrics);
      },
      start: async () => {},
      shutdown: async () => {},
    }),
  };
}

export interface Agent {
  service: Service;
  sink: Sink;
  /** Polls until `pred` holds on the spans received so far; returns them. */
  spansWhere(what: string, pred: (spans: SeenSpan[]) => boolean, timeoutMs?: number): Promise<SeenSpan[]>;
  stop(): Promise<void>;
}

/**
 * Starts a Service whose `ebpf` receiver captures `ports` (flushing spans every 100 ms, metrics
 * every 200 ms) into a sink. `ebpfExtra` adds YAML lines under the receiver (indented by 4),
 * `extraExporters` more exporters for the metrics pipeline (e.g. prometheus), `otlp` an `otlp`
 * receiver on 127.0.0.1 with these gRPC / HTTP ports feeding the same sink (for SDK-instrumented apps).
 */
export async function startAgent(ports: number[], opts: {
  ebpfExtra?: string; exportersYaml?: string; metricsExporters?: string[]; refuse?: boolean; otlp?: Partial<Record<'grpc' | 'http', number>>;
} = {}): Promise<Agent> {
  const sink = new Sink();
  const registry = makeRegistry({
    receiver: receiverFactories, processor: processorFactories, connector: connectorFactories,
    exporter: [...exporterFactories, sinkFactory(sink)],
  });
  const otlpProtocols = Object.entries(opts.otlp ?? {}).map(([protocol, port]) => `${protocol}: { endpoint: "127.0.0.1:${port}" }`);
  const yaml = ebpfServiceYaml({
    ports,
    ebpfExtra: `    flush_interval: 100ms\n    metrics_interval: 200ms\n${opts.ebpfExtra ?? ''}`,
    otherReceivers: otlpProtocols.length === 0 ? undefined : { yaml: `  otlp: { protocols: { ${otlpProtocols.join(', ')} } }`, names: ['otlp'] },
    exportersYaml: `  sink: { refuse: ${opts.refuse ?? false} }\n${opts.exportersYaml ?? ''}`,
    tracesExporters: ['sink'],
    metricsExporters: ['sink', ...(opts.metricsExporters ?? [])],
  });
  const service = await startService(yaml, { registry });
  return {
    service,
    sink,
    spansWhere: (what, pred, timeoutMs = 10_000) => waitFor(what, () => (pred(sink.spans()) ? sink.spans() : undefined), timeoutMs),
    stop: () => service.shutdown(),
  };
}

export const attr = (s: { attributes: Attributes }, key: string): AnyValue | undefined => s.attributes[key];

/** Runs a command to completion (bounded by `timeoutMs`); resolves with exit code, stdout and stderr. */
export async function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string; pid: number }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr, pid: child.pid! };
}

/** `curl -s` with the given arguments; throws with curl's stderr when it fails. */
export async function curl(...args: string[]): Promise<{ stdout: string; pid: number }> {
  const r = await run('curl', ['-sS', '-g', '--max-time', '10', ...args]);
  if (r.code !== 0) throw new Error(`curl ${args.join(' ')} failed (exit ${r.code}): ${r.stderr}`);
  return r;
}

/** Path of a compiled app under test/integration/apps (works from dist/ and dist-*). */
export const appPath = (name: string): string => fileURLToPath(new URL(`./apps/${name}.js`, import.meta.url));

/** Starts a Node app from test/integration/apps and waits for its "listening PORT" line; resolves with the port. */
export async function startNodeApp(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: Child; port: number }> {
  const child = startChild(process.execPath, [appPath(name), ...args], { env: { ...process.env, ...env } });
  const m = await waitForOutput(child, /listening (\d+)/);
  return { child, port: Number(m[1]) };
}

/**
 * Runs `fn` with a Node app from test/integration/apps and an agent capturing its port; both are
 * stopped afterwards, whatever happens.
 */
export async function withNodeAppAndAgent(
  name: string, args: string[], fn: (ctx: { agent: Agent; child: Child; port: number }) => Promise<void>, agentOpts: Parameters<typeof startAgent>[1] = {},
): Promise<void> {
  const { child, port } = await startNodeApp(name, args);
  let agent: Agent | undefined;
  try {
    agent = await startAgent([port], agentOpts);
    await fn({ agent, child, port });
  } finally {
    await agent?.stop();
    await child.stop();
  }
}
