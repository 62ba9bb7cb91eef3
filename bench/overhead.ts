// bench/overhead: what observing a Node service costs it. The server runs pinned to CPU0 and the
// load generator on CPU1: a Node `http` server under wrk (handlers `trivial`, `realistic`) or a
// grpc-js unary server under a grpc-js client fixture (handler `grpc`). Each round runs every mode
// once, in an order rotated per round:
//   none      no agent
//   sonde     `sonde run` with the ebpf receiver limited to the server's port, exporting OTLP/HTTP
//   otel-sdk  the OpenTelemetry JS SDK's HTTP and gRPC auto-instrumentation in the server, exporting OTLP/HTTP
// Every run is compared with the `none` run of its own round (the shared machine drifts between
// rounds; per-round ratios are the figures to trust). See docs/bench.md.
//
//   node dist/bench/overhead.js [--rounds N] [--duration S] [--connections C]
//        [--modes none,sonde,otel-sdk] [--handlers trivial,realistic,grpc] [--warmup S] [--work-ms MS]
//        [--sonde-cli PATH]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../src/ebpf/paths.js';
import { readDrops, type RunningAgent, startSondeAgent } from './overhead/agent.js';
import { ChildProcesses, jsonLine, processCpuSeconds, processPeakRssMiB, type TrackedChild, waitForStdoutLine, waitUntilQuiet } from './overhead/children.js';
import { runGrpcLoad } from './overhead/grpc-load.js';
import { OtlpSink } from './overhead/sink.js';
import { runWrk } from './overhead/wrk.js';

const MODES = ['none', 'sonde', 'otel-sdk'] as const;
const HANDLERS = ['trivial', 'realistic', 'grpc'] as const;
/** The handlers a run does unless --handlers says otherwise (grpc is opt-in, to keep the default run short). */
const DEFAULT_HANDLERS: readonly Handler[] = ['trivial', 'realistic'];
type Mode = (typeof MODES)[number];
type Handler = (typeof HANDLERS)[number];
/** Which server process (and load generator) a handler runs on. */
type Target = 'http' | 'grpc';
const targetOf = (handler: Handler): Target => (handler === 'grpc' ? 'grpc' : 'http');

const SERVER_CPU = 0;
const LOAD_CPU = 1;

/** What one measured load run produced, whichever generator ran it. */
interface LoadResult {
  requests: number;
  rps: number;
  p99Ms: number;
  errors: number;
  /** The load generator's CPU time over the run / its wall time (known for the grpc client only). */
  loadCpuShare: number | undefined;
}

interface Options {
  rounds: number;
  duration: number;
  warmup: number;
  connections: number;
  workMs: number;
  modes: Mode[];
  handlers: Handler[];
  /** What `sonde` mode runs as `node CLI run --config FILE`; bin/sonde.js unless given. */
  sondeCli: string | undefined;
}

interface RunResult extends LoadResult {
  round: number;
  mode: Mode;
  handler: Handler;
  serverCpuSeconds: number;
  agentCpuSeconds: number | undefined;
  agentPeakRssMiB: number | undefined;
  kernelDrops: number | undefined;
  otherDrops: number | undefined;
  serverSpans: number | undefined;
  loadAverage: number;
  quiet: boolean;
}

const USAGE = `usage: node dist/bench/overhead.js [--rounds N] [--duration S] [--connections C]
       [--modes none,sonde,otel-sdk] [--handlers trivial,realistic,grpc] [--warmup S] [--work-ms MS]
       [--sonde-cli PATH]   (default: bin/sonde.js, which runs the build in dist/)`;

function listOption<T extends string>(value: string, allowed: readonly T[], flag: string): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((s) => !allowed.includes(s as T));
  if (bad.length || items.length === 0) throw new Error(`${flag}: expected a comma-separated list of ${allowed.join(', ')}, got "${value}"`);
  return [...new Set(items)] as T[];
}

function numberOption(value: string, flag: string, min: number, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) throw new Error(`${flag}: expected ${integer ? 'an integer' : 'a number'} >= ${min}, got "${value}"`);
  return n;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '8' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '50' },
      'work-ms': { type: 'string', default: '1' },
      modes: { type: 'string', default: MODES.join(',') },
      handlers: { type: 'string', default: DEFAULT_HANDLERS.join(',') },
      'sonde-cli': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  return {
    rounds: numberOption(values.rounds, '--rounds', 1, true),
    duration: numberOption(values.duration, '--duration', 1, true),
    warmup: numberOption(values.warmup, '--warmup', 0, true),
    connections: numberOption(values.connections, '--connections', 1, true),
    workMs: numberOption(values['work-ms'], '--work-ms', 0.01, false),
    modes: listOption(values.modes, MODES, '--modes'),
    handlers: listOption(values.handlers, HANDLERS, '--handlers'),
    sondeCli: values['sonde-cli'] === undefined ? undefined : resolve(values['sonde-cli']),
  };
}

const loadAverage1m = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

class OverheadBench {
  private readonly children = new ChildProcesses();
  private readonly sink = new OtlpSink();
  private readonly root = repoRoot();
  private readonly configDir = mkdtempSync(join(tmpdir(), 'sonde-bench-'));
  private readonly serverScript = join(this.root, 'bench', 'fixtures', 'http-server.cjs');
  private readonly grpcServerScript = join(this.root, 'bench', 'fixtures', 'grpc-server.cjs');
  private readonly sdkPreload = join(this.root, 'bench', 'fixtures', 'otel-sdk.cjs');
  private sinkPort = 0;
  private workIterations = 0;
  /** Modes that could not run, with the reason. */
  readonly unavailable = new Map<Mode, string>();
  readonly results: RunResult[] = [];

  constructor(private readonly opts: Options) {}

  async setUp(): Promise<void> {
    this.sinkPort = await this.sink.start();
    if (this.opts.handlers.includes('realistic')) {
      // Calibrated once, on the server's CPU, so that every mode does exactly the same work.
      const cal = this.children.spawn('calibration', 'taskset', ['-c', String(SERVER_CPU), process.execPath, this.serverScript, '--calibrate', String(this.opts.workMs)]);
      const result = await waitForStdoutLine(cal, (l) => jsonLine(l) as { iterations: number; usPerIteration: number } | undefined, 60_000, 'its calibration');
      this.workIterations = result.iterations;
      console.log(`realistic handler: ${result.iterations} iterations of JSON.stringify + sha256 per request (${result.usPerIteration.toFixed(2)} µs CPU each ≈ ${((result.iterations * result.usPerIteration) / 1000).toFixed(2)} ms)`);
    } else {
      this.workIterations = 1;
    }
  }

  async run(): Promise<void> {
    const { modes, rounds } = this.opts;
    for (let round = 0; round < rounds; round++) {
      const order = modes.map((_, i) => modes[(i + round) % modes.length]!);
      for (const mode of order) {
        for (const target of ['http', 'grpc'] as const) {
          const handlers = this.opts.handlers.filter((h) => targetOf(h) === target);
          if (handlers.length === 0 || this.unavailable.has(mode)) continue;
          await this.runMode(round, mode, target, handlers);
        }
      }
    }
  }

  private async startServer(mode: Mode, target: Target): Promise<{ server: TrackedChild; port: number }> {
    const nodeArgs = mode === 'otel-sdk' ? ['--require', this.sdkPreload] : [];
    const serverArgs = target === 'grpc' ? [this.grpcServerScript] : [this.serverScript, '--work-iterations', String(this.workIterations)];
    const server = this.children.spawn(`${target} server (${mode})`, 'taskset', ['-c', String(SERVER_CPU), process.execPath, ...nodeArgs, ...serverArgs], {
      cwd: this.root,
      env: { ...process.env, SONDE_BENCH_OTLP_ENDPOINT: `http://127.0.0.1:${this.sinkPort}` },
    });
    const { port } = await waitForStdoutLine(server, (l) => jsonLine(l) as { port: number } | undefined, 30_000, 'its port');
    return { server, port };
  }

  private async runMode(round: number, mode: Mode, target: Target, handlers: Handler[]): Promise<void> {
    const { server, port } = await this.startServer(mode, target);
    let agent: RunningAgent | undefined;
    try {
      if (mode === 'sonde') {
        try {
          agent = await startSondeAgent(this.children, this.root, this.opts.sondeCli ?? join(this.root, 'bin', 'sonde.js'), this.configDir, port, this.sinkPort);
        } catch (err) {
          this.skip(mode, (err as Error).message);
          return;
        }
      }
      for (const handler of handlers) {
        let result: RunResult;
        try {
          result = await this.measure(round, mode, handler, server, port, agent);
        } catch (err) {
          // An agent that dies under load is a result to report, not a reason to lose the other modes.
          if (!agent) throw err;
          this.skip(mode, `${(err as Error).message}\nthe agent's stderr:\n${agent.child.stderrTail() || '(empty)'}`);
          return;
        }
        this.results.push(result);
        console.log(describeRun(result));
      }
    } finally {
      if (agent) await this.children.stop(agent.child, 15_000);
      await this.children.stop(server);
      const complaints = server.stderrTail();
      if (complaints) console.log(`  ${server.name} wrote to stderr:\n    ${complaints.replaceAll('\n', '\n    ')}`);
    }
  }

  private skip(mode: Mode, why: string): void {
    this.unavailable.set(mode, why);
    console.log(`\nmode ${mode} cannot run, skipping it for the rest of the bench:\n  ${why.replaceAll('\n', '\n  ')}\n`);
  }

  private async measure(round: number, mode: Mode, handler: Handler, server: TrackedChild, port: number, agent: RunningAgent | undefined): Promise<RunResult> {
    if (this.opts.warmup > 0) await this.load(handler, port, this.opts.warmup);
    const pids = [server.process.pid!, ...(agent ? [agent.child.process.pid!] : [])];
    // The warm-up's processing ends before the window opens (its spans are not counted: see OtlpSink).
    await waitUntilQuiet(pids);
    const loadAverage = loadAverage1m();
    const dropsBefore = agent ? await readDrops(agent) : undefined;
    this.sink.mark();
    const serverCpu0 = processCpuSeconds(server.process.pid!);
    const agentCpu0 = agent ? processCpuSeconds(agent.child.process.pid!) : 0;
    const load = await this.load(handler, port, this.opts.duration);
    // Work the load caused but that finishes after it (batches, exports) belongs to this run.
    await this.sink.waitForIdle();
    const quiet = await waitUntilQuiet(pids);
    const serverCpuSeconds = processCpuSeconds(server.process.pid!) - serverCpu0;
    const agentCpuSeconds = agent ? processCpuSeconds(agent.child.process.pid!) - agentCpu0 : undefined;
    const agentPeakRssMiB = agent ? processPeakRssMiB(agent.child.process.pid!) : undefined;
    const dropsAfter = agent ? await readDrops(agent) : undefined;
    const sink = this.sink.window();
    if (sink.undecodable > 0) console.log(`  warning: ${sink.undecodable} trace export requests to the sink did not decode as OTLP`);
    return {
      round, mode, handler,
      ...load,
      serverCpuSeconds,
      agentCpuSeconds,
      agentPeakRssMiB,
      kernelDrops: delta(dropsBefore?.kernel, dropsAfter?.kernel),
      otherDrops: delta(dropsBefore?.other, dropsAfter?.other),
      serverSpans: mode === 'none' ? undefined : sink.serverSpans,
      loadAverage,
      quiet,
    };
  }

  /** `durationSeconds` of load from CPU1: wrk for the http handlers, the grpc-js client fixture for grpc. */
  private async load(handler: Handler, port: number, durationSeconds: number): Promise<LoadResult> {
    if (handler === 'grpc') {
      const r = await runGrpcLoad(this.children, { root: this.root, port, durationSeconds, concurrency: this.opts.connections, cpu: LOAD_CPU });
      if (r.errors) console.log(`  grpc client: ${r.errors} calls failed, the first with ${r.firstError}`);
      return { requests: r.calls, rps: r.callsPerSecond, p99Ms: r.p99Ms, errors: r.errors, loadCpuShare: r.cpuShare };
    }
    const wrk = await runWrk(this.children, { url: `http://127.0.0.1:${port}/${handler}`, connections: this.opts.connections, cpu: LOAD_CPU, durationSeconds });
    return { requests: wrk.requests, rps: wrk.requestsPerSecond, p99Ms: wrk.p99Ms, errors: wrk.non2xx + wrk.socketErrors, loadCpuShare: undefined };
  }

  async tearDown(): Promise<void> {
    await this.children.stopAll();
    await this.sink.close();
    rmSync(this.configDir, { recursive: true, force: true });
  }

  killNow(): void {
    this.children.killAllNow();
    rmSync(this.configDir, { recursive: true, force: true });
  }
}

const delta = (before: number | undefined, after: number | undefined) => (before !== undefined && after !== undefined ? after - before : undefined);
const per100k = (cpuSeconds: number, requests: number) => (requests > 0 ? (cpuSeconds / requests) * 100_000 : NaN);
const fixed = (n: number | undefined, digits: number) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(digits));

function describeRun(r: RunResult): string {
  const parts = [
    `round ${r.round + 1} ${r.mode.padEnd(8)} ${r.handler.padEnd(9)}`,
    `${Math.round(r.rps)} req/s`,
    `p99 ${r.p99Ms.toFixed(2)} ms`,
    `server ${per100k(r.serverCpuSeconds, r.requests).toFixed(2)} CPU-s/100k`,
  ];
  if (r.agentCpuSeconds !== undefined) parts.push(`agent ${per100k(r.agentCpuSeconds, r.requests).toFixed(2)} CPU-s/100k`, `agent peak RSS ${fixed(r.agentPeakRssMiB, 0)} MiB`, `kernel drops ${r.kernelDrops ?? 'n/a'}`, `other drops ${r.otherDrops ?? 'n/a'}`);
  if (r.serverSpans !== undefined) parts.push(`server spans/req ${(r.serverSpans / r.requests).toFixed(2)}`);
  if (r.loadCpuShare !== undefined) parts.push(`client ${(r.loadCpuShare * 100).toFixed(0)}% of CPU${LOAD_CPU}`);
  if (r.errors) parts.push(`ERRORS ${r.errors}`);
  if (!r.quiet) parts.push('(not quiet after 6 s)');
  parts.push(`load ${r.loadAverage.toFixed(2)}`);
  return parts.join(', ');
}

function printTable(opts: Options, results: RunResult[], unavailable: Map<Mode, string>): void {
  const header = ['handler', 'mode', 'req/s', 'vs none', 'p99 ms', 'p99 vs none', 'server CPU-s/100k', 'agent CPU-s/100k', 'agent peak RSS MiB', 'kernel drops', 'other drops', 'server spans/req', 'errors'];
  const rows: string[][] = [];
  for (const handler of opts.handlers) {
    const baseline = new Map(results.filter((r) => r.handler === handler && r.mode === 'none').map((r) => [r.round, r]));
    for (const mode of opts.modes) {
      const runs = results.filter((r) => r.handler === handler && r.mode === mode);
      if (runs.length === 0) { rows.push([handler, mode, unavailable.has(mode) ? 'not run (reason below)' : 'no results']); continue; }
      const paired = runs.filter((r) => baseline.has(r.round));
      const ratio = (f: (r: RunResult) => number) => (mode === 'none' || paired.length === 0 ? undefined : median(paired.map((r) => f(r) / f(baseline.get(r.round)!))));
      const agentRuns = runs.filter((r) => r.agentCpuSeconds !== undefined);
      const dropSum = (f: (r: RunResult) => number | undefined) => {
        if (mode !== 'sonde') return '—';
        const known = runs.map(f).filter((n): n is number => n !== undefined);
        return known.length ? String(known.reduce((a, b) => a + b, 0)) : 'n/a';
      };
      const spanRuns = runs.filter((r) => r.serverSpans !== undefined);
      rows.push([
        handler, mode,
        fixed(median(runs.map((r) => r.rps)), 0),
        fixed(ratio((r) => r.rps), 3),
        fixed(median(runs.map((r) => r.p99Ms)), 2),
        fixed(ratio((r) => r.p99Ms), 3),
        fixed(median(runs.map((r) => per100k(r.serverCpuSeconds, r.requests))), 2),
        agentRuns.length ? fixed(median(agentRuns.map((r) => per100k(r.agentCpuSeconds!, r.requests))), 2) : '—',
        agentRuns.length ? fixed(Math.max(...agentRuns.map((r) => r.agentPeakRssMiB!)), 0) : '—',
        dropSum((r) => r.kernelDrops),
        dropSum((r) => r.otherDrops),
        spanRuns.length ? fixed(median(spanRuns.map((r) => r.serverSpans! / r.requests)), 2) : '—',
        String(runs.reduce((s, r) => s + r.errors, 0)),
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r.length === header.length ? (r[i] ?? '').length : 0))));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (cells.length === header.length ? c.padEnd(widths[i]!) : c)).join(' | ')} |`;
  console.log(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  const loads = results.map((r) => r.loadAverage);
  const generators = [
    ...(opts.handlers.some((h) => targetOf(h) === 'http') ? [`wrk -t1 -c${opts.connections}`] : []),
    ...(opts.handlers.includes('grpc') ? [`grpc-client.cjs --concurrency ${opts.connections} (grpc: req/s are unary calls/s, one channel)`] : []),
  ];
  console.log(`\nmedians over ${opts.rounds} round(s) of ${opts.duration} s (warm-up ${opts.warmup} s), ${generators.join(' and ')} on CPU${LOAD_CPU}, server on CPU${SERVER_CPU}, ${availableParallelism()} CPUs;`);
  console.log('ratios are medians of per-round ratios against the none run of the same round; drops are summed over the rounds,');
  console.log('agent peak RSS is the highest VmHWM of the agent process (started afresh in every round);');
  console.log('(kernel: sonde_*kernel*drop* self-metrics, records lost in the kernel; other: the remaining sonde_*drop* ones, e.g. spans the receiver dropped).');
  if (loads.length) console.log(`1-minute load average at the start of the measured runs: min ${Math.min(...loads).toFixed(2)}, median ${median(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)} (above ~0.5 the machine is busy: treat the numbers as provisional)`);
  if (results.some((r) => r.mode === 'sonde' && r.kernelDrops === undefined)) console.log('kernel drops n/a: the agent exposes no sonde_*kernel*drop* self-metric.');
  for (const mode of opts.modes) {
    const shares = results.filter((r) => r.mode === mode && r.loadCpuShare !== undefined).map((r) => r.loadCpuShare! * 100);
    if (shares.length) console.log(`grpc client's own CPU (${mode}): median ${median(shares).toFixed(0)}%, max ${Math.max(...shares).toFixed(0)}% of CPU${LOAD_CPU} (near 100% the client, not the server, limits the calls/s)`);
  }
  for (const [mode, why] of unavailable) console.log(`mode ${mode} was skipped: ${why.split('\n')[0]}`);
}

async function main(argv: string[]): Promise<number> {
  let opts: Options | undefined;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    console.error(`overhead: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!opts) { console.log(USAGE); return 0; }
  if (availableParallelism() < 2) { console.error('overhead: needs at least 2 CPUs (server on CPU0, load generator on CPU1)'); return 1; }

  const bench = new OverheadBench(opts);
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) { bench.killNow(); process.exit(130); }
    interrupted = true;
    console.error(`\noverhead: ${signal}, stopping every process the bench started`);
    void bench.tearDown().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => bench.killNow());

  console.log(`overhead: modes ${opts.modes.join(',')}, handlers ${opts.handlers.join(',')}, ${opts.rounds} round(s) × ${opts.duration} s; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  try {
    await bench.setUp();
    await bench.run();
  } catch (err) {
    if (interrupted) return 130;
    console.error(`overhead: ${(err as Error).message}`);
    await bench.tearDown();
    return 1;
  }
  await bench.tearDown();
  printTable(opts, bench.results, bench.unavailable);
  return bench.results.length > 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
