// Which processes the `ebpf` receiver reports: by pid, executable path or command line, never
// the agent itself (its own exports, scrapes and receivers would report themselves). Verdicts are
// cached per pid and forgotten periodically (pids are reused).
import { readFileSync, readlinkSync } from 'node:fs';

export interface ProcessFilterOptions {
  pids?: number[];
  exe?: RegExp;
  cmdline?: RegExp;
  /** Never reported. Default: this process. */
  selfPid?: number;
}

const MAX_CACHED = 4096;

export class ProcessFilter {
  private readonly pids: Set<number>;
  private readonly exe?: RegExp;
  private readonly cmdline?: RegExp;
  private readonly selfPid: number;
  private readonly cache = new Map<number, boolean>();

  constructor(opts: ProcessFilterOptions = {}) {
    this.pids = new Set(opts.pids ?? []);
    this.exe = opts.exe;
    this.cmdline = opts.cmdline;
    this.selfPid = opts.selfPid ?? process.pid;
  }

  /** True when some processes are excluded beyond the agent itself. */
  get restricted(): boolean {
    return this.pids.size > 0 || this.exe !== undefined || this.cmdline !== undefined;
  }

  /** Whether to report `pid`; an unknown pid passes only when nothing but the agent is excluded. */
  accepts(pid: number | undefined): boolean {
    if (pid === undefined) return !this.restricted;
    if (pid === this.selfPid) return false;
    if (!this.restricted) return true;
    let v = this.cache.get(pid);
    if (v === undefined) {
      v = this.evaluate(pid);
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(pid, v);
    }
    return v;
  }

  /** Forgets cached verdicts (call periodically: a pid may now be another process). */
  forget(): void {
    this.cache.clear();
  }

  private evaluate(pid: number): boolean {
    if (this.pids.size > 0 && !this.pids.has(pid)) return false;
    if (this.exe) {
      let exe: string;
      try {
        exe = readlinkSync(`/proc/${pid}/exe`);
      } catch {
        return false; // exited or not visible: cannot prove it matches
      }
      if (!this.exe.test(exe)) return false;
    }
    if (this.cmdline) {
      let cmd: string;
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
      } catch {
        return false;
      }
      if (!this.cmdline.test(cmd)) return false;
    }
    return true;
  }
}
