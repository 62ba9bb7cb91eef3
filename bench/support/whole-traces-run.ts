// The runs behind bench/whole-traces (and test/integration/whole-traces.test.ts): the scenarios,
// and one run of a scenario — its services, the agent (`node bin/sonde.js run`, the `ebpf` receiver
// limited to the scenario's ports, spans exported as OTLP/HTTP to a sink in this process), warm-up,
// load, settle — judged with bench/support/trace-check.ts. The kernel time of every probe the agent
// loaded is read from the kernel's BPF run-time accounting over the measured load.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Span } from '../../src/collector/pdata/model.js';
import { listLoadedPrograms } from '../../src/ebpf/index.js';
import { packageRoot } from '../../src/util/package-root.js';
import { ebpfServiceYaml } from '../../test/helpers/ebpf-service-yaml.js';
import { ChildProcesses, type TrackedChild } from '../overhead/children.js';
import { type AppSpec, ChainTools, freePort, type LoadSummary } from './chain.js';
import { type ReceivedSpan, SpanSink } from './span-sink.js';
import { type CheckSpan, checkTraces, commonProblems, type Hop, kindName, requestIdOf, type RequestVerdict, type TraceCheckResult } from './trace-check.js';
export const WARMUP_REQUESTS = 5;
const WARMUP_PREFIX = 'w';
/** The service.name bench/fixtures/otel-sdk.cjs gives its resource. */
const SDK_SERVICE = 'bench-server';
const LOAD_SERVICE = 'load';
const FLUSH_INTERVAL = '200ms';
/** No export for this long after the load: the agent's (200 ms) and the SDK's (1 s) last batches are in. */
const SETTLE_IDLE_MS = 3000;
const SETTLE_MAX_MS = 30_000;
const WARMUP_TIMEOUT_MS = 20_000;
const EXAMPLES = 3;
const AGENT_READY_TIMEOUT_MS = 30_000;
/** What the Service logs once every component started. */
const AGENT_READY_LINE = 'Everything is ready';

export interface Scenario {
  name: string;
  /** Front of the chain first. */
  apps: AppSpec[];
  concurrency: number;
}

const py = (service: string): AppSpec => ({ kind: 'py', service });
export const SCENARIOS: Scenario[] = [
  { name: 'chain c=1', apps: [py('a'), { kind: 'node', service: 'b' }, py('c')], concurrency: 1 },
  { name: 'chain c=8', apps: [py('a'), { kind: 'node', service: 'b' }, py('c')], concurrency: 8 },
  { name: 'nginx no header', apps: [{ kind: 'nginx', service: 'nginx' }, py('a'), py('c')], concurrency: 8 },
  { name: 'java hop', apps: [py('a'), { kind: 'java', service: 'j' }, py('c')], concurrency: 8 },
  { name: 'go hop', apps: [py('a'), { kind: 'go', service: 'g' }, py('c')], concurrency: 8 },
  { name: 'asyncio hop', apps: [py('a'), { kind: 'py-asyncio', service: 's' }, py('c')], concurrency: 8 },
  { name: 'grpc call', apps: [{ kind: 'py-grpc-http', service: 'a' }, { kind: 'py-grpc-server', service: 'g' }], concurrency: 8 },
  { name: 'sdk middle hop', apps: [py('a'), { kind: 'node-sdk', service: 'b' }, py('c')], concurrency: 8 },
];

/** The service.name an app's spans carry. */
const reportedService = (app: AppSpec) => (app.kind === 'node-sdk' ? SDK_SERVICE : app.service);

/** load CLIENT, then per app its SERVER span and, unless it is the last, its CLIENT span. */
function hopsOf(s: Scenario): Hop[] {
  return [{ service: LOAD_SERVICE, kind: 'CLIENT' }, ...s.apps.flatMap((app, i): Hop[] => [
    { service: reportedService(app), kind: 'SERVER' },
    ...(i < s.apps.length - 1 ? [{ service: reportedService(app), kind: 'CLIENT' as const }] : []),
  ])];
}

export interface Row {
  scenario: string;
  concurrency: number;
  /** Why there are no figures (a missing tool, an agent that did not start, …). */
  notRun?: string;
  check?: Omit<TraceCheckResult, 'verdicts'>;
  load?: LoadSummary;
  spansReceived?: number;
  undecodableExports?: number;
  commonProblems?: ReturnType<typeof commonProblems>;
  /** The first few requests that did not come out whole, with what was wrong (--json only). */
  examples?: RequestVerdict[];
  notes: string[];
  /** Kernel time of every probe the agent loaded, per measured request (all hops, both ends). */
  kernelNsPerRequest?: number;
  /** The same per program, with its runs per request (--json). */
  kernelByProgram?: Record<string, { nsPerRequest: number; runsPerRequest: number }>;
}

/**
 * Total run time (ns) of the loaded programs named sonde_*, from the kernel's accounting: needs
 * kernel.bpf_stats_enabled=1 (enableBpfStats); the agent is the only loader while the bench runs.
 */
function probeRunTimes(): Map<string, { ns: bigint; runs: bigint }> {
  const out = new Map<string, { ns: bigint; runs: bigint }>();
  for (const p of listLoadedPrograms()) {
    if (!p.name.startsWith('sonde_')) continue;
    const t = out.get(p.name) ?? { ns: 0n, runs: 0n };
    out.set(p.name, { ns: t.ns + p.runTimeNs, runs: t.runs + p.runCount });
  }
  return out;
}

const BPF_STATS = '/proc/sys/kernel/bpf_stats_enabled';

/** Turns the kernel's BPF run-time accounting on; returns the function that restores the setting. */
export function enableBpfStats(): () => void {
  const was = readFileSync(BPF_STATS, 'utf8').trim();
  writeFileSync(BPF_STATS, '1');
  return () => writeFileSync(BPF_STATS, was);
}

/**
 * The request path of a span: url.path, else the old http.target, else the path of url.full /
 * http.url (SDK client spans); gRPC spans of the chain's `/chain.Svc/R<id>` calls map to /r/<id>.
 */
function pathOf(span: Span): string | undefined {
  const a = span.attributes;
  if (typeof a['rpc.method'] === 'string' && a['rpc.service'] === 'chain.Svc' && a['rpc.method'].startsWith('R')) return `/r/${a['rpc.method'].slice(1)}`;
  if (typeof a['url.path'] === 'string') return a['url.path'];
  if (typeof a['http.target'] === 'string') return a['http.target'].split('?')[0];
  const full = a['url.full'] ?? a['http.url'];
  if (typeof full !== 'string') return undefined;
  try {
    return new URL(full).pathname;
  } catch {
    return undefined;
  }
}

function toCheckSpan({ span, resource }: ReceivedSpan): CheckSpan {
  return {
    traceId: span.traceId, spanId: span.spanId, parentSpanId: span.parentSpanId, kind: span.kind,
    service: String(resource['service.name'] ?? ''), path: pathOf(span), startNs: span.startTimeUnixNano, endNs: span.endTimeUnixNano,
  };
}

/** The last plain-text line of the agent's stderr (the CLI's own message), else its last line. */
function agentComplaint(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  return lines.filter((l) => !l.startsWith('{')).at(-1) ?? lines.at(-1) ?? '(no output)';
}

export class WholeTracesBench {
  private readonly children = new ChildProcesses();
  private readonly workDir = mkdtempSync(join(tmpdir(), 'sonde-whole-traces-'));
  private readonly tools = new ChainTools(this.children, this.workDir);
  private readonly sink = new SpanSink();
  private sinkPort = 0;

  constructor(private readonly requests: number) {}

  async setUp(): Promise<void> {
    this.sinkPort = await this.sink.start();
  }

  /** Writes the agent's config and starts `sonde run` on it; resolves once it logged that every component started. */
  private async startAgent(name: string, ports: number[], otlpHttpPort: number | undefined): Promise<TrackedChild> {
    const yaml = ebpfServiceYaml({
      ports,
      ebpfExtra: `    flush_interval: ${FLUSH_INTERVAL}`,
      otherReceivers: otlpHttpPort === undefined ? undefined : { yaml: `  otlp: { protocols: { http: { endpoint: "127.0.0.1:${otlpHttpPort}" } } }`, names: ['otlp'] },
      exportersYaml: `  otlphttp:\n    endpoint: http://127.0.0.1:${this.sinkPort}`,
      tracesExporters: ['otlphttp'],
      metricsExporters: ['otlphttp'],
    });
    const configPath = join(this.workDir, `${name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(configPath, yaml);
    const agent = this.children.spawn('sonde agent', process.execPath, [join(packageRoot(), 'bin', 'sonde.js'), 'run', '--config', configPath, '--shutdown-timeout', '5s'], { cwd: packageRoot() });
    let ready = false;
    let carry = ''; // the line may be split across chunks
    agent.process.stderr!.on('data', (chunk: string) => {
      ready ||= (carry + chunk).includes(AGENT_READY_LINE);
      carry = chunk.slice(-AGENT_READY_LINE.length);
    });
    let exitCode: number | string | undefined;
    void agent.exited.then((code) => { exitCode = code; });
    const deadline = Date.now() + AGENT_READY_TIMEOUT_MS;
    while (!ready) {
      if (exitCode !== undefined) throw new Error(`the agent exited (${exitCode}) before it was ready: ${agentComplaint(agent.stderrTail())} (config ${configPath})`);
      if (Date.now() > deadline) {
        await this.children.stop(agent);
        throw new Error(`the agent was not ready within ${AGENT_READY_TIMEOUT_MS / 1000} s: ${agentComplaint(agent.stderrTail())}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return agent;
  }

  /** Every hop that has no span yet among the warm-up requests' spans. */
  private hopsNotSeen(hops: Hop[]): Hop[] {
    const seen = new Set(this.sink.spans().map(toCheckSpan)
      .filter((s) => requestIdOf(s.path)?.startsWith(WARMUP_PREFIX))
      .map((s) => `${s.service} ${kindName(s.kind)}`));
    return hops.filter((h) => !seen.has(`${h.service} ${h.kind}`));
  }

  /** Runs one scenario with `requests` measured requests (default: the bench's). */
  async run(s: Scenario, requests = this.requests): Promise<Row> {
    const row: Row = { scenario: s.name, concurrency: s.concurrency, notes: [] };
    const missing = [...new Set(s.apps.map((a) => this.tools.missing(a.kind)).filter((m) => m !== undefined))];
    if (missing.length) return { ...row, notRun: `missing ${missing.join(', ')}` };
    const hops = hopsOf(s);
    const sdk = s.apps.some((a) => a.kind === 'node-sdk');
    try {
      const otlpHttpPort = sdk ? await freePort() : undefined;
      const apps = await this.tools.startChain(s.apps, otlpHttpPort === undefined ? undefined : `http://127.0.0.1:${otlpHttpPort}`);
      // The OTLP port is captured too: seeing an app export is how the agent knows to stop reporting it from eBPF.
      const ports = [...apps.map((a) => a.port), ...(otlpHttpPort === undefined ? [] : [otlpHttpPort])];
      const agent = await this.startAgent(s.name, ports, otlpHttpPort);
      this.sink.clear();

      const warm = await this.tools.load(apps[0]!.port, WARMUP_REQUESTS, 1, WARMUP_PREFIX, LOAD_SERVICE);
      if (warm.failed) row.notes.push(`warm-up: ${warm.failed} of ${WARMUP_REQUESTS} requests failed (${warm.errors[0]})`);
      const deadline = Date.now() + WARMUP_TIMEOUT_MS;
      while (this.hopsNotSeen(hops).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const unseen = this.hopsNotSeen(hops);
      if (unseen.length) row.notes.push(`warm-up: no span of ${unseen.map((h) => `${h.service} ${h.kind}`).join(', ')} within ${WARMUP_TIMEOUT_MS / 1000} s`);
      // Let the warm-up's last batches pass before measuring. Its spans stay in the sink: duplicate
      // span ids are counted over everything the agent sent, from its start (before any SDK export).
      await this.sink.waitForIdle(SETTLE_IDLE_MS, SETTLE_MAX_MS);

      const before = probeRunTimes();
      row.load = await this.tools.load(apps[0]!.port, requests, s.concurrency, '', LOAD_SERVICE);
      const after = probeRunTimes();
      row.kernelByProgram = {};
      for (const [name, t] of after) {
        const b = before.get(name) ?? { ns: 0n, runs: 0n };
        row.kernelByProgram[name] = { nsPerRequest: Math.round(Number(t.ns - b.ns) / requests), runsPerRequest: Number((Number(t.runs - b.runs) / requests).toFixed(2)) };
      }
      row.kernelNsPerRequest = Object.values(row.kernelByProgram).reduce((sum, p) => sum + p.nsPerRequest, 0);
      if (row.load.failed) row.notes.push(`load: ${row.load.failed} of ${requests} requests failed (${row.load.errors[0]})`);
      await this.sink.waitForIdle(SETTLE_IDLE_MS, SETTLE_MAX_MS);
      // A graceful stop flushes whatever the agent still holds; its exports are done when it has exited.
      await this.children.stop(agent, 10_000);
      await Promise.all(apps.map((a) => this.children.stop(a.child)));

      const received = this.sink.spans();
      const ids = Array.from({ length: requests }, (_, i) => String(i));
      const spans = received.map(toCheckSpan);
      const { verdicts, ...check } = checkTraces(spans, hops, ids);
      const warmup = checkTraces(spans, hops, Array.from({ length: WARMUP_REQUESTS }, (_, i) => `${WARMUP_PREFIX}${i}`));
      row.notes.push(`warm-up requests (the agent's first, before any SDK export): ${warmup.wholeTraces} of ${warmup.requests} whole`);
      return { ...row, check, spansReceived: received.length, undecodableExports: this.sink.undecodable, commonProblems: commonProblems({ ...check, verdicts }), examples: verdicts.filter((v) => !v.whole).slice(0, EXAMPLES) };
    } catch (err) {
      return { ...row, notRun: (err as Error).message.split('\n')[0]! };
    } finally {
      await this.children.stopAll();
    }
  }

  async tearDown(): Promise<void> {
    await this.children.stopAll();
    await this.sink.close();
    rmSync(this.workDir, { recursive: true, force: true });
  }

  killNow(): void {
    this.children.killAllNow();
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
