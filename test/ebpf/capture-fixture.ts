// Shared by the probe tests: one set of real probes per test file, a recorder of everything they
// deliver, and small helpers to run real servers and clients on loopback.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { CaptureProbes, type CaptureEvent, type CaptureOptions, type ConnectionEvent, type PayloadEvent } from '../../src/ebpf/index.js';

export class Recorder {
  readonly connections: ConnectionEvent[] = [];
  readonly payloads: PayloadEvent[] = [];
  readonly ordered: CaptureEvent[] = [];

  constructor(readonly probes: CaptureProbes) {
    probes.onConnectionEvents((ev) => this.connections.push(...ev));
    probes.onPayloadEvents((ev) => this.payloads.push(...ev));
    probes.onEvents((ev) => this.ordered.push(...ev));
  }

  /** Polls (draining the probes) until `pred` holds; throws with `what` after `timeoutMs`. */
  async waitFor(what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      this.probes.drain();
      if (pred()) return;
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

export function openProbes(opts: CaptureOptions = {}): { probes: CaptureProbes; rec: Recorder } {
  const probes = CaptureProbes.open({ drainIntervalMs: 20, ...opts });
  return { probes, rec: new Recorder(probes) };
}

export { freePort } from '../helpers/net.js';

/** Runs a command to completion; resolves with its pid, exit code and stdout. */
export async function run(cmd: string, args: string[]): Promise<{ pid: number; code: number | null; stdout: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { pid: child.pid!, code, stdout };
}
