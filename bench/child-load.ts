// A load generator running as a `node -e` child process that reports on stdout as JSON lines
// ({ port } when it listens, then its totals): shared by the capture benchmarks. A child that must
// not start before the probes are attached waits for a line on stdin (`go()`).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface ChildLoad {
  child: ChildProcess;
  /** The first JSON line that has `key`, once the child printed it. */
  line(key: string): Promise<Record<string, number>>;
  /** Resolves when the child exited (registered at start: it may exit before anyone awaits). */
  exited: Promise<unknown[]>;
  /** Writes a line to the child's stdin (its signal to start, for children that wait for one). */
  go(): void;
}

export function startChildLoad(script: string, cwd?: string): ChildLoad {
  const child = spawn(process.execPath, ['-e', script], { cwd, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const line = async (key: string): Promise<Record<string, number>> => {
    for (;;) {
      const found = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number>).find((o) => key in o);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { child, line, exited, go: () => child.stdin!.end('go\n') };
}
