// root_path: a host filesystem mounted elsewhere (as in a DaemonSet with /hostfs). A fixed /proc
// tree written here pins the exact arithmetic of every scraper against known kernel-format input.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import type { Metrics, NumberDataPoint } from '../../../src/collector/pdata/model.js';
import { hostMetricsReceiverFactory } from '../../../src/collector/receivers/hostmetrics/index.js';
import { testHost, testSettings } from '../prometheus/support.js';

const root = mkdtempSync(join(tmpdir(), 'sonde-hostfs-'));
after(() => rmSync(root, { recursive: true, force: true }));
const files: Record<string, string> = {
  'proc/stat': 'cpu  300 0 200 1000 10 0 5 0 0 0\ncpu0 100 0 50 500 10 0 5 0 0 0\ncpu1 200 0 150 500 0 0 0 0 0 0\nbtime 1700000000\nprocesses 4242\nprocs_running 3\nprocs_blocked 1\n',
  'proc/meminfo': 'MemTotal:       1000 kB\nMemFree:         100 kB\nBuffers:          50 kB\nCached:          200 kB\nSReclaimable:     30 kB\nSUnreclaim:       20 kB\n',
  'proc/loadavg': '0.50 1.00 2.00 1/100 12345\n',
  'proc/diskstats': '   8       0 sda 10 1 80 7 20 2 160 9 3 100 150 0 0 0 0\n',
  'proc/1/net/dev': 'Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n  eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0\n',
  'proc/1/net/tcp': '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2\n',
  'proc/1/mounts': `/dev/sdz1 /data\\040dir ext4 ro,relatime 0 0\ntmpfs /run tmpfs rw 0 0\n`,
  'proc/filesystems': 'nodev\ttmpfs\n\text4\n',
  'proc/swaps': 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile                               file\t\t2048\t\t512\t\t-2\n',
  'proc/vmstat': 'pgpgin 11\npgpgout 12\npswpin 3\npswpout 4\npgfault 100\npgmajfault 7\n',
};
for (const [path, text] of Object.entries(files)) {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}
mkdirSync(join(root, 'data dir'));

it('reads every scraper from root_path with exact values', async () => {
  const cfg = {
    ...hostMetricsReceiverFactory.createDefaultConfig(), root_path: `${root}/`,
    scrapers: { cpu: null, memory: null, load: { cpu_average: true }, disk: null, network: null, filesystem: null, paging: null, processes: null },
  };
  hostMetricsReceiverFactory.validate!(cfg);
  const host = testHost();
  const r = hostMetricsReceiverFactory.createReceiver(testSettings('receiver', 'hostmetrics', host), cfg, { metrics: { consumeMetrics: async () => {} } });
  const md = await (r as unknown as { scrape(): Promise<Metrics> }).scrape();
  const all = md.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
  const v = (name: string, attrs: Record<string, string> = {}) => {
    const dps = all.find((m) => m.name === name)?.data.dataPoints as NumberDataPoint[] | undefined;
    const p = dps?.find((dp) => Object.entries(attrs).every(([k, x]) => dp.attributes[k] === x));
    assert.ok(p, `${name} ${JSON.stringify(attrs)}`);
    return p.value;
  };
  assert.equal(v('system.cpu.time', { cpu: 'cpu1', state: 'system' }), 1.5);
  assert.equal(v('system.cpu.time', { cpu: 'cpu0', state: 'wait' }), 0.1);
  assert.equal(v('system.cpu.time', { cpu: 'cpu0', state: 'softirq' }), 0.05);
  assert.equal((all.find((m) => m.name === 'system.cpu.time')!.data.dataPoints[0] as NumberDataPoint).startTimeUnixNano, 1_700_000_000_000_000_000n);
  // cached = Cached + SReclaimable = 230 kB; used = 1000 - 100 - 50 - 230 = 620 kB.
  assert.equal(v('system.memory.usage', { state: 'cached' }), 230 * 1024);
  assert.equal(v('system.memory.usage', { state: 'used' }), 620 * 1024);
  assert.equal(v('system.memory.usage', { state: 'slab_unreclaimable' }), 20 * 1024);
  assert.equal(v('system.cpu.load_average.15m'), 1, 'cpu_average divides by 2 CPUs');
  assert.equal(v('system.disk.io', { device: 'sda', direction: 'write' }), 160 * 512);
  assert.equal(v('system.disk.operation_time', { device: 'sda', direction: 'read' }), 0.007);
  assert.equal(v('system.disk.weighted_io_time', { device: 'sda' }), 0.15);
  assert.equal(v('system.disk.pending_operations', { device: 'sda' }), 3);
  assert.equal(v('system.disk.merged', { device: 'sda', direction: 'write' }), 2);
  assert.equal(v('system.network.io', { device: 'eth0', direction: 'transmit' }), 2000);
  assert.equal(v('system.network.dropped', { device: 'eth0', direction: 'receive' }), 2);
  assert.equal(v('system.network.connections', { state: 'LISTEN' }), 1);
  assert.equal(v('system.network.connections', { state: 'ESTABLISHED' }), 1);
  assert.equal(v('system.network.connections', { state: 'TIME_WAIT' }), 0);
  // Only the ext4 mount (tmpfs is nodev); the escaped space in its mount point is decoded.
  const fs = all.find((m) => m.name === 'system.filesystem.usage')!.data.dataPoints as NumberDataPoint[];
  assert.deepEqual([...new Set(fs.map((p) => JSON.stringify([p.attributes.device, p.attributes.mountpoint, p.attributes.mode, p.attributes.type])))],
    [JSON.stringify(['/dev/sdz1', '/data dir', 'ro', 'ext4'])]);
  assert.ok(v('system.filesystem.usage', { state: 'free' }) > 0, 'statfs of <root_path>/data dir');
  assert.equal(v('system.paging.usage', { device: '/swapfile', state: 'free' }), 1536 * 1024);
  assert.equal(v('system.paging.operations', { direction: 'page_out', type: 'major' }), 4);
  assert.equal(v('system.paging.faults', { type: 'minor' }), 93);
  assert.equal(v('system.processes.created'), 4242);
  assert.equal(v('system.processes.count', { status: 'blocked' }), 1);
});
