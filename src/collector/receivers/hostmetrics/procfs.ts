// Parsers for the /proc files the scrapers read. Pure functions of the file text, so they are
// exact about the kernel's formats and testable against fixed input; reading happens in scrapers.ts.

export interface ProcStat {
  /** `cpu0`… → ticks: user nice system idle iowait irq softirq steal (USER_HZ). */
  cpus: Map<string, number[]>;
  bootTimeSec: number;
  processesCreated: number;
  procsRunning: number;
  procsBlocked: number;
}

export function parseProcStat(text: string): ProcStat {
  const out: ProcStat = { cpus: new Map(), bootTimeSec: 0, processesCreated: 0, procsRunning: 0, procsBlocked: 0 };
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const key = f[0] ?? '';
    if (/^cpu\d+$/.test(key)) out.cpus.set(key, f.slice(1, 9).map(Number));
    else if (key === 'btime') out.bootTimeSec = Number(f[1]);
    else if (key === 'processes') out.processesCreated = Number(f[1]);
    else if (key === 'procs_running') out.procsRunning = Number(f[1]);
    else if (key === 'procs_blocked') out.procsBlocked = Number(f[1]);
  }
  return out;
}

/** /proc/meminfo → bytes by field name (fields in kB are converted). */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s+(\d+)(\s+kB)?/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * (m[3] ? 1024 : 1);
  }
  return out;
}

export interface DiskStats {
  device: string;
  readsCompleted: number; readsMerged: number; sectorsRead: number; msReading: number;
  writesCompleted: number; writesMerged: number; sectorsWritten: number; msWriting: number;
  inProgress: number; msIo: number; weightedMsIo: number;
}

export function parseDiskstats(text: string): DiskStats[] {
  const out: DiskStats[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const n = f.slice(3, 14).map(Number);
    out.push({
      device: f[2]!,
      readsCompleted: n[0]!, readsMerged: n[1]!, sectorsRead: n[2]!, msReading: n[3]!,
      writesCompleted: n[4]!, writesMerged: n[5]!, sectorsWritten: n[6]!, msWriting: n[7]!,
      inProgress: n[8]!, msIo: n[9]!, weightedMsIo: n[10]!,
    });
  }
  return out;
}

export interface NetDevStats { device: string; rx: number[]; tx: number[] }

/** /proc/net/dev: per interface, receive and transmit columns (bytes packets errs drop …). */
export function parseNetDev(text: string): NetDevStats[] {
  const out: NetDevStats[] = [];
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 16) continue;
    out.push({ device: line.slice(0, colon).trim(), rx: f.slice(0, 8), tx: f.slice(8, 16) });
  }
  return out;
}

export interface MountEntry { device: string; mountpoint: string; type: string; options: string[] }

/** /proc/mounts escapes space, tab, newline and backslash as octal. */
const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 4) continue;
    out.push({ device: unescapeMount(f[0]!), mountpoint: unescapeMount(f[1]!), type: f[2]!, options: f[3]!.split(',') });
  }
  return out;
}

/** Filesystem types /proc/filesystems marks `nodev` (virtual: proc, tmpfs, overlay, …). */
export function parseNodevFilesystems(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'nodev' && f[1]) out.add(f[1]);
  }
  return out;
}

export interface SwapEntry { device: string; sizeBytes: number; usedBytes: number }

export function parseSwaps(text: string): SwapEntry[] {
  return text.split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 4)
    .map((f) => ({ device: f[0]!, sizeBytes: Number(f[2]) * 1024, usedBytes: Number(f[3]) * 1024 }));
}

/** /proc/vmstat and similar `name value` files. */
export function parseKeyValues(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

/** TCP states as /proc/net/tcp numbers them, named as gopsutil (and so the Collector) names them. */
export const tcpStates = ['ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING'];

/** Adds the connections of one /proc/net/tcp{,6} file to `counts` by state name. */
export function countTcpStates(text: string, counts: Map<string, number>): void {
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const state = tcpStates[parseInt(f[3]!, 16) - 1];
    if (state) counts.set(state, (counts.get(state) ?? 0) + 1);
  }
}
