// bench/whole-traces: does a request through a chain of real, uninstrumented services come out as
// ONE trace with every parent link right? For each scenario the bench starts the services
// (bench/fixtures/chain), the agent (`node bin/sonde.js run`: the `ebpf` receiver limited to the
// scenario's ports, spans exported as OTLP/HTTP to a sink in this process), warms the chain up,
// sends GET /r/<i> (i = 0..N-1) from a separate load process, waits for the spans to flush, and
// judges every request with bench/support/trace-check. One row per scenario:
//
//   chain c=1        load → a (python threaded) → b (node keep-alive) → c (python threaded), concurrency 1
//   chain c=8        the same, concurrency 8
//   nginx no header  load → nginx (reverse proxy) → a (python) → c (python), concurrency 8
//   java hop         load → a (python) → j (JDK HttpServer, pool of 8) → c (python), concurrency 8
//   go hop           load → a (python) → g (Go net/http) → c (python), concurrency 8
//   sdk middle hop   load → a (python) → b (node keep-alive with the OpenTelemetry JS SDK, exporting
//                    to the agent's otlp receiver) → c (python), concurrency 8; b's spans are the SDK's
//
// Each hop is a CLIENT span in the caller and a SERVER span in the callee; each span's expected
// parent is the span before it, the load's CLIENT span being the root. Services are named through
// OTEL_SERVICE_NAME in each process's environment (which Sonde reads), except the SDK's, which
// bench/fixtures/otel-sdk.cjs names `bench-server`. The measured requests follow 5 warm-up requests
// (ids w0..w4), which let runtimes load their code, and an SDK export before the measured window,
// so that the agent has seen it and stopped reporting that process from eBPF.
//
//   npm run build && node dist/bench/whole-traces.js [--requests N] [--only SUBSTRING] [--json]
//
// Needs root (the ebpf receiver loads BPF). A scenario whose tool (python3, java, go, nginx) is
// missing prints a row naming it instead of figures.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Span } from '../src/collector/pdata/model.js';
import { packageRoot } from '../src/util/package-root.js';
import { ebpfServiceYaml } from '../test/helpers/ebpf-service-yaml.js';
import { ChildProcesses, type TrackedChild } from './overhead/children.js';
import { type AppSpec, ChainTools, freePort, type LoadSummary } from './support/chain.js';
import { type ReceivedSpan, SpanSink } from './support/span-sink.js';
import { type CheckSpan, checkTraces, commonProblems, type Hop, kindName, requestIdOf, type RequestVerdict, type TraceCheckResult } from './support/trace-check.js';

const USAGE = 'usage: node dist/bench/whole-traces.js [--requests N] [--only SUBSTRING] [--json]';
const WARMUP_REQUESTS = 5;
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

interface Scenario {
  name: string;
  /** Front of the chain first. */
  apps: AppSpec[];
  concurrency: number;
}

const py = (service: string): AppSpec => ({ kind: 'py', service });
const SCENARIOS: Scenario[] = [
  { name: 'chain c=1', apps: [py('a'), { kind: 'node', service: 'b' }, py('c')], concurrency: 1 },
  { name: 'chain c=8', apps: [py('a'), { kind: 'node', service: 'b' }, py('c')], concurrency: 8 },
  { name: 'nginx no header', apps: [{ kind: 'nginx', service: 'nginx' }, py('a'), py('c')], concurrency: 8 },
  { name: 'java hop', apps: [py('a'), { kind: 'java', service: 'j' }, py('c')], concurrency: 8 },
  { name: 'go hop', apps: [py('a'), { kind: 'go', service: 'g' }, py('c')], concurrency: 8 },
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

interface Row {
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
}

/** The request path of a span: url.path, else the old http.target, else the path of url.full / http.url (SDK client spans). */
function pathOf(span: Span): string | undefined {
  const a = span.attributes;
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

class WholeTracesBench {
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

  async run(s: Scenario): Promise<Row> {
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
      // Let the warm-up's last batches (and the agent's reaction to the SDK's export) pass before measuring.
      await this.sink.waitForIdle(SETTLE_IDLE_MS, SETTLE_MAX_MS);
      this.sink.clear();

      row.load = await this.tools.load(apps[0]!.port, this.requests, s.concurrency, '', LOAD_SERVICE);
      if (row.load.failed) row.notes.push(`load: ${row.load.failed} of ${this.requests} requests failed (${row.load.errors[0]})`);
      await this.sink.waitForIdle(SETTLE_IDLE_MS, SETTLE_MAX_MS);
      // A graceful stop flushes whatever the agent still holds; its exports are done when it has exited.
      await this.children.stop(agent, 10_000);
      await Promise.all(apps.map((a) => this.children.stop(a.child)));

      const received = this.sink.spans();
      const ids = Array.from({ length: this.requests }, (_, i) => String(i));
      const { verdicts, ...check } = checkTraces(received.map(toCheckSpan), hops, ids);
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

function printTable(rows: Row[], requests: number): void {
  const header = ['scenario', 'requests', 'whole traces', 'orphan fragments', 'duplicate spans', 'span-id collisions', 'missing hops', 'wrong parents', 'extra spans'];
  const cells = rows.map((r) => {
    if (!r.check) return [r.scenario, `not run: ${r.notRun}`];
    const c = r.check;
    const failed = r.load?.failed ? ` (${r.load.failed} failed)` : '';
    return [r.scenario, `${c.requests}${failed}`, `${c.share.toFixed(1)}%`, ...[c.orphanFragments, c.duplicateSpans, c.spanIdCollisions, c.missingHops, c.wrongParents, c.extraSpans].map(String)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r.length === header.length ? r[i]!.length : 0))));
  const line = (r: string[]) => `| ${r.map((c, i) => (r.length === header.length ? c.padEnd(widths[i]!) : c)).join(' | ')} |`;
  console.log(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of cells) console.log(line(r));
  console.log(`\n${requests} measured requests per scenario after ${WARMUP_REQUESTS} warm-up ones; whole: one trace, every expected span once, every parent right (bench/support/trace-check.ts).`);
  for (const r of rows) {
    const details = [
      ...(r.commonProblems ?? []).map((p) => `${p.problem} (${p.requests} requests)`),
      ...r.notes,
      ...(r.undecodableExports ? [`${r.undecodableExports} export bodies did not decode`] : []),
    ];
    if (details.length) console.log(`${r.scenario}: ${details.join('; ')}`);
  }
}

function parseOptions(argv: string[]): { requests: number; only?: string; json: boolean } | undefined {
  const { values } = parseArgs({
    args: argv,
    options: { requests: { type: 'string', default: '200' }, only: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
  });
  if (values.help) return undefined;
  const requests = Number(values.requests);
  if (!Number.isInteger(requests) || requests < 1) throw new Error(`--requests: expected a positive integer, got ${JSON.stringify(values.requests)}`);
  return { requests, only: values.only, json: values.json };
}

async function main(argv: string[]): Promise<number> {
  let opts: ReturnType<typeof parseOptions>;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    console.error(`whole-traces: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!opts) { console.log(USAGE); return 0; }
  const scenarios = SCENARIOS.filter((s) => opts.only === undefined || s.name.includes(opts.only));
  if (scenarios.length === 0) {
    console.error(`whole-traces: no scenario matches --only ${JSON.stringify(opts.only)}; scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return 2;
  }

  const bench = new WholeTracesBench(opts.requests);
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) { bench.killNow(); process.exit(130); }
    interrupted = true;
    console.error(`\nwhole-traces: ${signal}, stopping every process the bench started`);
    void bench.tearDown().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => bench.killNow());

  const rows: Row[] = [];
  try {
    await bench.setUp();
    for (const s of scenarios) {
      if (!opts.json) console.error(`whole-traces: ${s.name} …`);
      rows.push(await bench.run(s));
    }
  } finally {
    await bench.tearDown();
  }
  if (opts.json) console.log(JSON.stringify(rows, null, 2));
  else printTable(rows, opts.requests);
  return rows.some((r) => r.check) ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
