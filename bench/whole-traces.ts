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
//   asyncio hop      load → a (python) → s (Python asyncio event loop, stdlib streams) → c (python), concurrency 8
//   grpc call        load → a (python threads, calling gRPC through python3-grpcio) → g (grpcio server), concurrency 8
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
import { parseArgs } from 'node:util';
import { enableBpfStats, type Row, SCENARIOS, WARMUP_REQUESTS, WholeTracesBench } from './support/whole-traces-run.js';

const USAGE = 'usage: node dist/bench/whole-traces.js [--requests N] [--only SUBSTRING] [--json]';

function printTable(rows: Row[], requests: number): void {
  const header = ['scenario', 'requests', 'whole traces', 'orphan fragments', 'duplicate spans', 'span-id collisions', 'missing hops', 'wrong parents', 'extra spans', 'kernel ns/request', 'of which socket reads'];
  const cells = rows.map((r) => {
    if (!r.check) return [r.scenario, `not run: ${r.notRun}`];
    const c = r.check;
    const failed = r.load?.failed ? ` (${r.load.failed} failed)` : '';
    return [r.scenario, `${c.requests}${failed}`, `${c.share.toFixed(1)}%`, ...[c.orphanFragments, c.duplicateSpans, c.spanIdCollisions, c.missingHops, c.wrongParents, c.extraSpans, r.kernelNsPerRequest ?? '?', r.kernelByProgram?.sonde_recv?.nsPerRequest ?? '?'].map(String)];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r.length === header.length ? r[i]!.length : 0))));
  const line = (r: string[]) => `| ${r.map((c, i) => (r.length === header.length ? c.padEnd(widths[i]!) : c)).join(' | ')} |`;
  console.log(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of cells) console.log(line(r));
  console.log(`\n${requests} measured requests per scenario after ${WARMUP_REQUESTS} warm-up ones; whole: one trace, every expected span once, every parent right (bench/support/trace-check.ts).`);
  console.log('kernel ns/request: run time of every probe per chain request, all hops and both ends of each (new connections per call count their packets and state changes); socket reads: the probe whole-trace linking added (sonde_recv).');
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
  const restoreBpfStats = enableBpfStats();
  try {
    await bench.setUp();
    for (const s of scenarios) {
      if (!opts.json) console.error(`whole-traces: ${s.name} …`);
      rows.push(await bench.run(s));
    }
  } finally {
    restoreBpfStats();
    await bench.tearDown();
  }
  if (opts.json) console.log(JSON.stringify(rows, null, 2));
  else printTable(rows, opts.requests);
  return rows.some((r) => r.check) ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
