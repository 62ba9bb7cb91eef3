// The scrapers: each reads its /proc files (or statfs) once and records the Collector's metrics.
// /proc rather than systeminformation: it is what the Collector's gopsutil reads on Linux, so the
// values are the same counters, and it costs one file read, with no child processes.
import { readFile, statfs } from 'node:fs/promises';
import { compileFilter, compileIncludeExclude, type NameFilterConfig, type ScraperConfig } from './config.js';
import type { MetricsBuilder } from './metadata.js';
import {
  countTcpStates, parseDiskstats, parseKeyValues, parseMeminfo, parseMounts, parseNetDev, parseNodevFilesystems,
  parseProcStat, parseSwaps, tcpStates,
} from './procfs.js';

/** Linux's USER_HZ; the kernel exports /proc/stat in these ticks on every architecture. */
const ticksPerSecond = 100;
const sectorBytes = 512;
const cpuStates = ['user', 'nice', 'system', 'idle', 'wait', 'interrupt', 'softirq', 'steal'];

export interface ScrapeContext {
  /** `root_path`: prefix for /proc and mount points (the host's / mounted into a container). */
  root: string;
  cfg: ScraperConfig;
  mb: MetricsBuilder;
  /** Per-receiver memory between scrapes (cpu utilization needs the previous ticks). */
  state: Map<string, unknown>;
}

/** A /proc path. With root_path, per-namespace files are read through PID 1 to see the host's. */
export function procFile(root: string, rel: string, perNamespace = false): string {
  if (root === '') return `/proc/${perNamespace ? 'self/' : ''}${rel}`;
  return `${root}/proc/${perNamespace ? '1/' : ''}${rel}`;
}

const read = (path: string) => readFile(path, 'utf8');

async function scrapeCpu({ root, mb, state }: ScrapeContext): Promise<void> {
  const stat = parseProcStat(await read(procFile(root, 'stat')));
  const prev = state.get('cpu') as Map<string, number[]> | undefined;
  for (const [cpu, ticks] of stat.cpus) {
    ticks.forEach((t, i) => mb.add('system.cpu.time', t / ticksPerSecond, { cpu, state: cpuStates[i]! }));
    const before = prev?.get(cpu);
    if (!before) continue;
    const deltas = ticks.map((t, i) => t - (before[i] ?? 0));
    const total = deltas.reduce((a, b) => a + b, 0);
    if (total > 0) deltas.forEach((d, i) => mb.add('system.cpu.utilization', d / total, { cpu, state: cpuStates[i]! }));
  }
  state.set('cpu', stat.cpus);
}

async function scrapeMemory({ root, mb }: ScrapeContext): Promise<void> {
  const m = parseMeminfo(await read(procFile(root, 'meminfo')));
  const total = m.MemTotal ?? 0;
  const sreclaimable = m.SReclaimable ?? 0;
  // As gopsutil: cached includes reclaimable slab, and used is what the other four leave of the total.
  const cached = (m.Cached ?? 0) + sreclaimable;
  const free = m.MemFree ?? 0;
  const buffered = m.Buffers ?? 0;
  const states: Record<string, number> = {
    used: total - free - buffered - cached, free, buffered, cached,
    slab_reclaimable: sreclaimable, slab_unreclaimable: m.SUnreclaim ?? 0,
  };
  for (const [s, v] of Object.entries(states)) {
    mb.add('system.memory.usage', v, { state: s });
    if (total > 0) mb.add('system.memory.utilization', v / total, { state: s });
  }
}

async function scrapeLoad({ root, cfg, mb }: ScrapeContext): Promise<void> {
  const [l1, l5, l15] = (await read(procFile(root, 'loadavg'))).trim().split(/\s+/).map(Number);
  let divisor = 1;
  if (cfg.cpu_average) divisor = Math.max(1, parseProcStat(await read(procFile(root, 'stat'))).cpus.size);
  mb.add('system.cpu.load_average.1m', l1! / divisor);
  mb.add('system.cpu.load_average.5m', l5! / divisor);
  mb.add('system.cpu.load_average.15m', l15! / divisor);
}

function includeExclude(cfg: ScraperConfig, inc: keyof ScraperConfig, exc: keyof ScraperConfig, listKey: string) {
  return compileIncludeExclude(
    compileFilter(cfg[inc] as NameFilterConfig | undefined, listKey, String(inc)),
    compileFilter(cfg[exc] as NameFilterConfig | undefined, listKey, String(exc)),
  );
}

async function scrapeDisk({ root, cfg, mb }: ScrapeContext): Promise<void> {
  const wanted = includeExclude(cfg, 'include', 'exclude', 'devices');
  for (const d of parseDiskstats(await read(procFile(root, 'diskstats')))) {
    if (!wanted(d.device)) continue;
    const device = d.device;
    mb.add('system.disk.io', d.sectorsRead * sectorBytes, { device, direction: 'read' });
    mb.add('system.disk.io', d.sectorsWritten * sectorBytes, { device, direction: 'write' });
    mb.add('system.disk.operations', d.readsCompleted, { device, direction: 'read' });
    mb.add('system.disk.operations', d.writesCompleted, { device, direction: 'write' });
    mb.add('system.disk.io_time', d.msIo / 1000, { device });
    mb.add('system.disk.operation_time', d.msReading / 1000, { device, direction: 'read' });
    mb.add('system.disk.operation_time', d.msWriting / 1000, { device, direction: 'write' });
    mb.add('system.disk.weighted_io_time', d.weightedMsIo / 1000, { device });
    mb.add('system.disk.pending_operations', d.inProgress, { device });
    mb.add('system.disk.merged', d.readsMerged, { device, direction: 'read' });
    mb.add('system.disk.merged', d.writesMerged, { device, direction: 'write' });
  }
}

async function scrapeNetwork({ root, cfg, mb }: ScrapeContext): Promise<void> {
  const wanted = includeExclude(cfg, 'include', 'exclude', 'interfaces');
  for (const n of parseNetDev(await read(procFile(root, 'net/dev', true)))) {
    if (!wanted(n.device)) continue;
    for (const [direction, c] of [['receive', n.rx], ['transmit', n.tx]] as const) {
      const attrs = { device: n.device, direction };
      mb.add('system.network.io', c[0]!, attrs);
      mb.add('system.network.packets', c[1]!, attrs);
      mb.add('system.network.errors', c[2]!, attrs);
      mb.add('system.network.dropped', c[3]!, attrs);
    }
  }
  if (!mb.enabled('system.network.connections')) return;
  const counts = new Map(tcpStates.map((s) => [s, 0]));
  for (const file of ['net/tcp', 'net/tcp6']) {
    const text = await read(procFile(root, file, true)).catch(() => ''); // no IPv6 on this host
    countTcpStates(text, counts);
  }
  for (const [state, n] of counts) mb.add('system.network.connections', n, { protocol: 'tcp', state });
}

async function scrapeFilesystem({ root, cfg, mb }: ScrapeContext): Promise<void> {
  const devices = includeExclude(cfg, 'include_devices', 'exclude_devices', 'devices');
  const types = includeExclude(cfg, 'include_fs_types', 'exclude_fs_types', 'fs_types');
  const mounts = includeExclude(cfg, 'include_mount_points', 'exclude_mount_points', 'mount_points');
  // Like gopsutil's Partitions(all=false): only filesystems backed by a device unless asked.
  const nodev = cfg.include_virtual_filesystems ? new Set<string>() : parseNodevFilesystems(await read(procFile(root, 'filesystems')));
  const seen = new Set<string>();
  for (const m of parseMounts(await read(procFile(root, 'mounts', true)))) {
    if (nodev.has(m.type) || m.device === 'none' || !devices(m.device) || !types(m.type) || !mounts(m.mountpoint)) continue;
    const key = `${m.device}\0${m.mountpoint}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let st;
    try {
      st = await statfs(`${root}${m.mountpoint}`);
    } catch {
      continue; // unmounted since /proc/mounts was read, or not permitted: skip it, as the Collector does
    }
    const attrs = { device: m.device, mode: m.options.includes('ro') ? 'ro' : 'rw', mountpoint: m.mountpoint, type: m.type };
    const used = (st.blocks - st.bfree) * st.bsize;
    const free = st.bavail * st.bsize;
    const reserved = (st.bfree - st.bavail) * st.bsize;
    mb.add('system.filesystem.usage', used, { ...attrs, state: 'used' });
    mb.add('system.filesystem.usage', free, { ...attrs, state: 'free' });
    mb.add('system.filesystem.usage', reserved, { ...attrs, state: 'reserved' });
    mb.add('system.filesystem.inodes.usage', st.files - st.ffree, { ...attrs, state: 'used' });
    mb.add('system.filesystem.inodes.usage', st.ffree, { ...attrs, state: 'free' });
    if (used + free > 0) mb.add('system.filesystem.utilization', used / (used + free), attrs);
  }
}

async function scrapePaging({ root, mb }: ScrapeContext): Promise<void> {
  for (const s of parseSwaps(await read(procFile(root, 'swaps')))) {
    mb.add('system.paging.usage', s.usedBytes, { device: s.device, state: 'used' });
    mb.add('system.paging.usage', s.sizeBytes - s.usedBytes, { device: s.device, state: 'free' });
    if (s.sizeBytes > 0) {
      mb.add('system.paging.utilization', s.usedBytes / s.sizeBytes, { device: s.device, state: 'used' });
      mb.add('system.paging.utilization', (s.sizeBytes - s.usedBytes) / s.sizeBytes, { device: s.device, state: 'free' });
    }
  }
  const vm = parseKeyValues(await read(procFile(root, 'vmstat')));
  mb.add('system.paging.operations', vm.pswpin ?? 0, { direction: 'page_in', type: 'major' });
  mb.add('system.paging.operations', vm.pswpout ?? 0, { direction: 'page_out', type: 'major' });
  mb.add('system.paging.operations', vm.pgpgin ?? 0, { direction: 'page_in', type: 'minor' });
  mb.add('system.paging.operations', vm.pgpgout ?? 0, { direction: 'page_out', type: 'minor' });
  mb.add('system.paging.faults', vm.pgmajfault ?? 0, { type: 'major' });
  mb.add('system.paging.faults', (vm.pgfault ?? 0) - (vm.pgmajfault ?? 0), { type: 'minor' });
}

async function scrapeProcesses({ root, mb }: ScrapeContext): Promise<void> {
  const stat = parseProcStat(await read(procFile(root, 'stat')));
  mb.add('system.processes.count', stat.procsRunning, { status: 'running' });
  mb.add('system.processes.count', stat.procsBlocked, { status: 'blocked' });
  mb.add('system.processes.created', stat.processesCreated);
}

export const scrapers: Record<string, (ctx: ScrapeContext) => Promise<void>> = {
  cpu: scrapeCpu,
  memory: scrapeMemory,
  load: scrapeLoad,
  disk: scrapeDisk,
  network: scrapeNetwork,
  filesystem: scrapeFilesystem,
  paging: scrapePaging,
  processes: scrapeProcesses,
};

/** Host boot time (for the start time of cumulative sums), from /proc/stat btime. */
export async function bootTimeNs(root: string): Promise<bigint> {
  return BigInt(parseProcStat(await read(procFile(root, 'stat'))).bootTimeSec) * 1_000_000_000n;
}
