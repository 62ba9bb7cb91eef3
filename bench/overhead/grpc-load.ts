// Runs bench/fixtures/grpc-client.cjs (pinned to one CPU), the closed-loop gRPC load generator of
// the `grpc` handler, and reads its one-line JSON report.
import { join } from 'node:path';
import type { ChildProcesses } from './children.js';
import { jsonLine } from './children.js';

export interface GrpcLoadResult {
  calls: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Calls that ended with a gRPC status other than OK. */
  errors: number;
  firstError: string | null;
  /** The client's own CPU time over the measured seconds. */
  cpuSeconds: number;
  /** cpuSeconds / wall seconds: how much of its CPU the client needed (near 1: the client is the bottleneck). */
  cpuShare: number;
}

export interface GrpcLoadRun {
  /** The repository root (the fixture is bench/fixtures/grpc-client.cjs under it). */
  root: string;
  port: number;
  durationSeconds: number;
  concurrency: number;
  cpu: number;
}

const isReport = (v: unknown): v is GrpcLoadResult => typeof v === 'object' && v !== null && typeof (v as GrpcLoadResult).calls === 'number' && typeof (v as GrpcLoadResult).cpuShare === 'number';

/** `taskset -c CPU node grpc-client.cjs --port P --concurrency C --duration S`, stopped with the other children on Ctrl-C. */
export async function runGrpcLoad(children: ChildProcesses, run: GrpcLoadRun): Promise<GrpcLoadResult> {
  const script = join(run.root, 'bench', 'fixtures', 'grpc-client.cjs');
  const args = ['-c', String(run.cpu), process.execPath, script, '--port', String(run.port), '--concurrency', String(run.concurrency), '--duration', String(run.durationSeconds)];
  const child = children.spawn('grpc client', 'taskset', args, { cwd: run.root });
  let out = '';
  child.process.stdout!.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; });
  const code = await child.exited;
  const report = out.split('\n').map(jsonLine).find(isReport);
  if (code !== 0 || !report) throw new Error(`grpc-client.cjs --port ${run.port} --concurrency ${run.concurrency} --duration ${run.durationSeconds} failed (exit ${code}): ${child.stderrTail() || out || '(no output)'}`);
  // JSON has no NaN: percentiles of a run without a single successful call arrive as null.
  return { ...report, p50Ms: report.p50Ms ?? NaN, p99Ms: report.p99Ms ?? NaN };
}
