// The runtimes whose scheduling decides how a call is matched to the request it serves:
// - Go: the runtime moves goroutines between threads, so the thread that sent a call is not known
//   to be the one that read the request (links are inferred). A Go executable carries a
//   `.go.buildinfo` section (kept by `strip`); only the ELF header, the section headers and their
//   name table are read.
// - Python: an asyncio loop reads every ready socket of a turn first and runs the handlers after,
//   in the order read, where Node.js and nginx run a handler inside the read's own callback.
// Answers are cached per pid, checked against its start time (pids are reused).
import { closeSync, openSync, readSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';

export type Runtime = 'go' | 'python' | 'other';

const ELF_MAGIC = 0x464c457f; // "\x7fELF", little-endian u32
const GO_SECTIONS = new Set(['.go.buildinfo', '.gopclntab']);
const MAX_CACHED = 4096;
/** Section name tables larger than this are not read (a Go binary's is a few hundred bytes). */
const MAX_SHSTRTAB = 1 << 16;

function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, position);
  return buf.subarray(0, n);
}

/** Whether the ELF file at `path` has a Go section; false for anything unreadable or not 64-bit little-endian ELF. */
export function isGoExecutable(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const h = readAt(fd, 64, 0);
    if (h.length < 64 || h.readUInt32LE(0) !== ELF_MAGIC || h[4] !== 2 || h[5] !== 1) return false;
    const shoff = Number(h.readBigUInt64LE(0x28));
    const shentsize = h.readUInt16LE(0x3a);
    const shnum = h.readUInt16LE(0x3c);
    const shstrndx = h.readUInt16LE(0x3e);
    if (shoff === 0 || shentsize < 64 || shnum === 0 || shstrndx >= shnum) return false;
    const sections = readAt(fd, shentsize * shnum, shoff);
    if (sections.length < shentsize * shnum) return false;
    const strtab = sections.subarray(shstrndx * shentsize);
    const strOff = Number(strtab.readBigUInt64LE(0x18));
    const strSize = Number(strtab.readBigUInt64LE(0x20));
    if (strSize > MAX_SHSTRTAB) return false;
    const names = readAt(fd, strSize, strOff);
    for (let i = 0; i < shnum; i++) {
      const nameOff = sections.readUInt32LE(i * shentsize);
      const end = names.indexOf(0, nameOff);
      if (end > nameOff && GO_SECTIONS.has(names.toString('latin1', nameOff, end))) return true;
    }
    return false;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** The start time of a process (field 22 of /proc/PID/stat), or undefined when it is gone. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Cached answers are checked against the process's start time at most this often. */
const REVALIDATE_MS = 10_000;

function detectRuntime(pid: number): Runtime {
  let exe: string;
  try {
    exe = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return 'other';
  }
  if (/^python[\d.]*$/.test(basename(exe))) return 'python';
  return isGoExecutable(`/proc/${pid}/exe`) ? 'go' : 'other';
}

/** The runtime of running processes, cached per pid (re-validated by start time every 10 s). */
export class ProcessRuntimes {
  private readonly cache = new Map<number, { start: string | undefined; runtime: Runtime; checkedMs: number }>();

  of(pid: number): Runtime {
    const now = Date.now();
    const hit = this.cache.get(pid);
    if (hit && now - hit.checkedMs < REVALIDATE_MS) return hit.runtime;
    const start = startTime(pid);
    if (hit && hit.start === start) {
      hit.checkedMs = now;
      return hit.runtime;
    }
    const runtime = start === undefined ? 'other' : detectRuntime(pid);
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(pid, { start, runtime, checkedMs: now });
    return runtime;
  }
}
