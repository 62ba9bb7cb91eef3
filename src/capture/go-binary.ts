// Whether a process runs a Go program: Go's runtime moves goroutines between threads, so the
// thread that sent a call is not known to be the one that read the request the call serves, and
// in-process links of Go programs are marked inferred. A Go executable carries a `.go.buildinfo`
// section (kept by `strip`); only the ELF header, the section headers and their name table are
// read. Answers are cached per pid, checked against its start time (pids are reused).
import { closeSync, openSync, readSync, readFileSync } from 'node:fs';

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

/** isGoExecutable of running processes, cached per pid (re-validated by start time every 10 s). */
export class GoProcesses {
  private readonly cache = new Map<number, { start: string | undefined; go: boolean; checkedMs: number }>();

  has(pid: number): boolean {
    const now = Date.now();
    const hit = this.cache.get(pid);
    if (hit && now - hit.checkedMs < REVALIDATE_MS) return hit.go;
    const start = startTime(pid);
    if (hit && hit.start === start) {
      hit.checkedMs = now;
      return hit.go;
    }
    const go = start !== undefined && isGoExecutable(`/proc/${pid}/exe`);
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(pid, { start, go, checkedMs: now });
    return go;
  }
}
