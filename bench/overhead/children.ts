// Child processes of bench/overhead: every process the bench starts is registered here so that it is
// stopped on every way out (normal end, error, Ctrl-C), plus what the bench reads about them
// (output lines, CPU time from /proc).
import { type ChildProcess, execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';

const STDERR_TAIL_BYTES = 4096;

export interface TrackedChild {
  readonly name: string;
  readonly process: ChildProcess;
  /** The last few KB the child wrote to stderr, for error messages. */
  stderrTail(): string;
  /** Resolves with the exit code (or the signal name) once the process has exited and its output ended. */
  readonly exited: Promise<number | string>;
}

export class ChildProcesses {
  private readonly live = new Set<TrackedChild>();

  spawn(name: string, command: string, args: string[], options: SpawnOptions = {}): TrackedChild {
    const proc = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => { tail = (tail + chunk).slice(-STDERR_TAIL_BYTES); });
    const exited = new Promise<number | string>((resolve) => {
      proc.once('error', (err) => { tail += `\n${err.message}`; resolve(`spawn error: ${err.message}`); });
      // 'close' rather than 'exit': stdout has been read to the end by then.
      proc.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    });
    const child: TrackedChild = { name, process: proc, stderrTail: () => tail.trim(), exited };
    this.live.add(child);
    void exited.then(() => this.live.delete(child));
    return child;
  }

  /** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
  async stop(child: TrackedChild, graceMs = 5000): Promise<void> {
    if (!this.live.has(child)) return;
    child.process.kill('SIGTERM');
    const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
    await child.exited;
    clearTimeout(timer);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.live].map((c) => this.stop(c)));
  }

  /** Last resort for process 'exit' handlers, which cannot wait. */
  killAllNow(): void {
    for (const c of this.live) c.process.kill('SIGKILL');
  }
}

/**
 * Resolves with the first stdout line of `child` that `parse` accepts (returns non-undefined),
 * rejects if the child exits first or nothing comes within `timeoutMs`.
 */
export function waitForStdoutLine<T>(child: TrackedChild, parse: (line: string) => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: string) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const value = parse(line);
        if (value !== undefined) { finish(); resolve(value); return; }
      }
    };
    const timer = setTimeout(() => { finish(); reject(new Error(`${child.name}: no ${what} within ${timeoutMs} ms; stderr: ${child.stderrTail() || '(empty)'}`)); }, timeoutMs);
    const finish = () => { clearTimeout(timer); child.process.stdout!.off('data', onData); };
    child.process.stdout!.setEncoding('utf8').on('data', onData);
    void child.exited.then((code) => { finish(); reject(new Error(`${child.name} exited (${code}) before printing ${what}; stderr: ${child.stderrTail() || '(empty)'}`)); });
  });
}

/** Parses one line of JSON, or undefined when the line is not JSON (log noise). */
export function jsonLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

let clockTicks: number | undefined;

/** utime + stime of a process (all its threads) in seconds, from /proc/PID/stat. */
export function processCpuSeconds(pid: number): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at field 3 (state);
  // utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Peak resident set size of a process so far (VmHWM in /proc/PID/status), in MiB. */
export function processPeakRssMiB(pid: number): number {
  const kib = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!kib) throw new Error(`/proc/${pid}/status has no VmHWM line`);
  return Number(kib[1]) / 1024;
}

/**
 * Waits until none of `pids` uses more than `maxCoreShare` of a core over two consecutive 250 ms
 * windows (batches flushed, exports done), or `maxMs` passed. Returns whether it got quiet.
 */
export async function waitUntilQuiet(pids: number[], maxCoreShare = 0.05, maxMs = 6000): Promise<boolean> {
  const windowMs = 250;
  let calm = 0;
  let last = pids.map(processCpuSeconds);
  for (let waited = 0; waited < maxMs; waited += windowMs) {
    await new Promise((r) => setTimeout(r, windowMs));
    const now = pids.map(processCpuSeconds);
    const busiest = Math.max(...now.map((v, i) => v - last[i]!));
    last = now;
    calm = busiest <= maxCoreShare * (windowMs / 1000) ? calm + 1 : 0;
    if (calm >= 2) return true;
  }
  return false;
}
