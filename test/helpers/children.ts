// Real servers and clients run as child processes by tests and benches: started, their output
// kept, waited for, and stopped whatever happens to the test (killed when the test process exits).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { waitFor } from '../collector/helpers.js';

/** A child process that stays up for the test; `stop()` kills it and waits for it. */
export interface Child {
  proc: ChildProcess;
  pid: number;
  stop(): Promise<void>;
  output(): string;
}

/** Children still running: killed when the test process exits, whatever happened to the test. */
const running = new Set<ChildProcess>();
process.on('exit', () => { for (const p of running) p.kill('SIGKILL'); });

export function startChild(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Child {
  const proc = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return {
    proc,
    pid: proc.pid!,
    output: () => out,
    // SIGTERM first so that a master process (nginx) takes its workers down with it.
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until `child` printed a line matching `re` (e.g. "listening"); returns the match. */
export async function waitForOutput(child: Child, re: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
  return waitFor(`output matching ${re} (got: ${JSON.stringify(child.output().slice(-300))})`, () => child.output().match(re) ?? undefined, timeoutMs);
}

/**
 * `python3 -m http.server PORT --bind HOST` serving `cwd`; resolves once it listens (it prints
 * "Serving HTTP" after binding). Unbuffered, so that line is not held back by stdio buffering.
 */
export async function startPythonHttp(host: string, port: number, cwd: string): Promise<Child> {
  const child = startChild('/usr/bin/python3', ['-u', '-m', 'http.server', String(port), '--bind', host], { cwd });
  try {
    await waitForOutput(child, /Serving HTTP/);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return child;
}
