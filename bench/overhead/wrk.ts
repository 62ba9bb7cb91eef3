// Runs wrk (pinned to one CPU) and reads its report: throughput, p99 latency, errors.
import type { ChildProcesses } from './children.js';

export interface WrkResult {
  requests: number;
  requestsPerSecond: number;
  p99Ms: number;
  /** Responses with a status outside 2xx/3xx. */
  non2xx: number;
  /** connect + read + write + timeout errors. */
  socketErrors: number;
}

const TIME_UNITS_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses the report `wrk --latency` prints; throws with the report attached when a figure is missing. */
export function parseWrkReport(text: string): WrkResult {
  const requests = /^\s*(\d+) requests in /m.exec(text);
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  const p99 = /^\s+99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$/m.exec(text);
  if (!requests || !rps || !p99) throw new Error(`cannot read the wrk report (missing ${!requests ? 'request count' : !rps ? 'Requests/sec' : '99% latency; was --latency given?'}):\n${text}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requests: Number(requests[1]),
    requestsPerSecond: Number(rps[1]),
    p99Ms: Number(p99[1]) * TIME_UNITS_MS[p99[2]!]!,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

export interface WrkRun {
  url: string;
  durationSeconds: number;
  connections: number;
  cpu: number;
}

/** `taskset -c CPU wrk -t1 -cC -dSs --latency URL`, stopped with the other children on Ctrl-C. */
export async function runWrk(children: ChildProcesses, run: WrkRun): Promise<WrkResult> {
  const args = ['-c', String(run.cpu), 'wrk', '-t1', `-c${run.connections}`, `-d${run.durationSeconds}s`, '--latency', run.url];
  const child = children.spawn('wrk', 'taskset', args);
  let out = '';
  child.process.stdout!.setEncoding('utf8').on('data', (chunk: string) => { out += chunk; });
  const code = await child.exited;
  if (code !== 0) throw new Error(`wrk ${args.slice(2).join(' ')} failed (${code}): ${child.stderrTail() || out}`);
  return parseWrkReport(out);
}
