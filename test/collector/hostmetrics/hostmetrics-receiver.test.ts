// The hostmetrics receiver on this machine: started through its factory with a short interval,
// it delivers real scrapes to a sink consumer; the values are checked against independent sources
// (os module, df, /proc/uptime) and against traffic and processes the test itself creates.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { after, describe, it } from 'node:test';
import type { Lifecycle } from '../../../src/collector/component.js';
import type { MetricsConsumer } from '../../../src/collector/consumer.js';
import { AggregationTemporality, type Metric, type Metrics, type NumberDataPoint } from '../../../src/collector/pdata/model.js';
import { hostMetricsReceiverFactory } from '../../../src/collector/receivers/hostmetrics/index.js';
import { parseMounts, parseNetDev } from '../../../src/collector/receivers/hostmetrics/procfs.js';
import { testHost, testSettings } from '../prometheus/support.js';

/** Collects batches; `next(n)` resolves once n batches have arrived (or fails after 10 s). */
class SinkConsumer implements MetricsConsumer {
  readonly batches: Metrics[] = [];
  private waiters: Array<() => void> = [];
  async consumeMetrics(md: Metrics): Promise<void> {
    this.batches.push(md);
    for (const w of this.waiters.splice(0)) w();
  }
  async waitFor(n: number): Promise<Metrics[]> {
    const deadline = Date.now() + 10_000;
    while (this.batches.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.batches.length} of ${n} scrapes arrived in 10 s`);
      await new Promise<void>((resolve) => { this.waiters.push(resolve); setTimeout(resolve, 200); });
    }
    return this.batches.slice(0, n);
  }
}

const allMetrics = (md: Metrics): Metric[] => md.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
function metricOf(md: Metrics, name: string): Metric {
  const m = allMetrics(md).find((x) => x.name === name);
  assert.ok(m, `${name} missing; got ${allMetrics(md).map((x) => x.name).join(', ')}`);
  return m;
}
const points = (md: Metrics, name: string) => (metricOf(md, name).data as { dataPoints: NumberDataPoint[] }).dataPoints;
const point = (md: Metrics, name: string, attrs: Record<string, string>) => {
  const p = points(md, name).find((dp) => Object.entries(attrs).every(([k, v]) => dp.attributes[k] === v));
  assert.ok(p, `${name}${JSON.stringify(attrs)} missing`);
  return p.value;
};
const near = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);

const running: Lifecycle[] = [];
after(async () => { await Promise.all(running.map((r) => r.shutdown())); });

async function startReceiver(cfg: Record<string, unknown>): Promise<SinkConsumer> {
  const full = { ...hostMetricsReceiverFactory.createDefaultConfig(), ...cfg };
  hostMetricsReceiverFactory.validate!(full);
  const sink = new SinkConsumer();
  const host = testHost();
  const r = hostMetricsReceiverFactory.createReceiver(testSettings('receiver', 'hostmetrics', host), full, { metrics: sink });
  await r.start(host);
  running.push(r);
  return sink;
}

describe('hostmetrics receiver', () => {
  it('has the Collector defaults', () => {
    assert.deepEqual(hostMetricsReceiverFactory.createDefaultConfig(), { collection_interval: '1m', initial_delay: '1s', root_path: '', scrapers: {} });
  });

  it('scrapes cpu, memory, load, disk, network, filesystem, paging and processes from this host', async () => {
    // Loopback traffic and a child process between two scrapes must show up in the counters.
    const server = createServer((_req, res) => res.end(Buffer.alloc(2_000_000, 1)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const sink = await startReceiver({
      collection_interval: '400ms', initial_delay: '0s',
      scrapers: {
        cpu: { metrics: { 'system.cpu.utilization': { enabled: true } } },
        memory: { metrics: { 'system.memory.utilization': { enabled: true } } },
        load: null, disk: null, network: null, filesystem: null, paging: null, processes: null,
      },
    });
    const [first] = await sink.waitFor(1);
    await (await fetch(`http://127.0.0.1:${port}/`)).arrayBuffer();
    execFileSync('true');
    server.close();
    const [, second] = await sink.waitFor(2);
    const md1 = first!;
    const md2 = second!;
    assert.deepEqual(md1.resourceMetrics[0]!.resource.attributes, {}, 'no resource attributes by default, as the Collector');

    // cpu: cumulative seconds per cpu and state; the states of one cpu add up to about the uptime.
    const cpuTime = metricOf(md2, 'system.cpu.time');
    assert.equal(cpuTime.unit, 's');
    assert.ok(cpuTime.data.type === 'sum' && cpuTime.data.isMonotonic && cpuTime.data.aggregationTemporality === AggregationTemporality.CUMULATIVE);
    const cpus = new Set(points(md2, 'system.cpu.time').map((p) => p.attributes.cpu));
    assert.equal(cpus.size, os.cpus().length);
    assert.deepEqual(new Set(points(md2, 'system.cpu.time').map((p) => p.attributes.state)),
      new Set(['user', 'nice', 'system', 'idle', 'wait', 'interrupt', 'softirq', 'steal']));
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const cpu0 = points(md2, 'system.cpu.time').filter((p) => p.attributes.cpu === 'cpu0').reduce((a, p) => a + p.value, 0);
    near(cpu0, uptime, uptime * 0.1 + 2, 'cpu0 seconds across states vs /proc/uptime');
    assert.ok(points(md2, 'system.cpu.time')[0]!.startTimeUnixNano > 0n, 'start time is the boot time');
    // utilization needs two scrapes; per cpu the states add up to 1.
    assert.equal(allMetrics(md1).some((m) => m.name === 'system.cpu.utilization'), false);
    const util0 = points(md2, 'system.cpu.utilization').filter((p) => p.attributes.cpu === 'cpu0').reduce((a, p) => a + p.value, 0);
    near(util0, 1, 1e-9, 'cpu0 utilization summed over states');

    // memory: used + free + buffered + cached is MemTotal; free agrees with /proc/meminfo read here.
    const mem = (s: string) => point(md2, 'system.memory.usage', { state: s });
    assert.equal(metricOf(md2, 'system.memory.usage').unit, 'By');
    assert.equal(mem('used') + mem('free') + mem('buffered') + mem('cached'), os.totalmem());
    const memFree = Number(/MemFree:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
    near(mem('free'), memFree, os.totalmem() * 0.05, 'free memory vs /proc/meminfo');
    assert.ok(mem('used') > 0 && mem('slab_unreclaimable') > 0);
    near(point(md2, 'system.memory.utilization', { state: 'used' }), mem('used') / os.totalmem(), 1e-9, 'memory utilization');

    // load averages are gauges in {thread} and match os.loadavg().
    const load = metricOf(md2, 'system.cpu.load_average.1m');
    assert.equal(load.unit, '{thread}');
    assert.equal(load.data.type, 'gauge');
    near(points(md2, 'system.cpu.load_average.15m')[0]!.value, os.loadavg()[2]!, 0.5, '15m load');

    // network: the 2 MB loopback response appears on lo, both directions.
    assert.equal(metricOf(md2, 'system.network.io').unit, 'By');
    const loRx = (md: Metrics) => point(md, 'system.network.io', { device: 'lo', direction: 'receive' });
    assert.ok(loRx(md2) - loRx(md1) >= 2_000_000, `lo receive grew by ${loRx(md2) - loRx(md1)} bytes`);
    const devs = parseNetDev(readFileSync('/proc/net/dev', 'utf8')).map((d) => d.device).sort();
    assert.deepEqual([...new Set(points(md2, 'system.network.packets').map((p) => p.attributes.device))].sort(), devs);
    for (const name of ['system.network.errors', 'system.network.dropped']) assert.ok(points(md2, name).length === devs.length * 2, name);
    assert.ok(point(md2, 'system.network.connections', { protocol: 'tcp', state: 'LISTEN' }) >= 0);

    // disk: one set per /proc/diskstats device.
    assert.equal(metricOf(md2, 'system.disk.io').unit, 'By');
    const disks = new Set(points(md2, 'system.disk.operations').map((p) => p.attributes.device));
    for (const name of readFileSync('/proc/diskstats', 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/)[2])) assert.ok(disks.has(name!), `disk ${name}`);

    // filesystem: every reported mount agrees with df (used and available bytes).
    const fsPoints = points(md2, 'system.filesystem.usage');
    const mountsHere = parseMounts(readFileSync('/proc/self/mounts', 'utf8'));
    for (const mp of new Set(fsPoints.map((p) => p.attributes.mountpoint as string))) {
      const [size, used, avail] = execFileSync('df', ['-B1', '--output=size,used,avail', mp], { encoding: 'utf8' }).trim().split('\n')[1]!.trim().split(/\s+/).map(Number);
      const fsUsed = point(md2, 'system.filesystem.usage', { mountpoint: mp, state: 'used' });
      near(fsUsed, used!, size! * 0.01, `used bytes on ${mp}`);
      near(point(md2, 'system.filesystem.usage', { mountpoint: mp, state: 'free' }), avail!, size! * 0.01, `free bytes on ${mp}`);
      const m = mountsHere.find((x) => x.mountpoint === mp)!;
      assert.equal(fsPoints.find((p) => p.attributes.mountpoint === mp)!.attributes.type, m.type);
    }

    // processes: the child spawned between the scrapes was counted as created.
    const created = (md: Metrics) => points(md, 'system.processes.created')[0]!.value;
    assert.ok(created(md2) - created(md1) >= 1, 'system.processes.created grew');
    assert.ok(point(md2, 'system.processes.count', { status: 'running' }) >= 1);
    assert.ok(points(md2, 'system.paging.faults').length === 2);
  });

  it('applies interface filters and reports virtual filesystems only when asked', async () => {
    const sink = await startReceiver({
      collection_interval: '1h', initial_delay: '0s',
      scrapers: {
        network: { include: { interfaces: ['l.'], match_type: 'regexp' }, metrics: { 'system.network.connections': { enabled: false } } },
        filesystem: { include_virtual_filesystems: true, include_fs_types: { fs_types: ['tmpfs', 'proc'] } },
      },
    });
    const [md] = await sink.waitFor(1);
    assert.deepEqual([...new Set(points(md!, 'system.network.io').map((p) => p.attributes.device))], ['lo']);
    assert.equal(allMetrics(md!).some((m) => m.name === 'system.network.connections'), false);
    const types = new Set(points(md!, 'system.filesystem.usage').map((p) => p.attributes.type));
    assert.ok(types.size > 0 && [...types].every((t) => t === 'tmpfs' || t === 'proc'), `types ${[...types]}`);
  });

  it('rejects bad configuration with the option path', () => {
    const v = (scrapers: unknown, extra: Record<string, unknown> = {}) => () =>
      hostMetricsReceiverFactory.validate!({ ...hostMetricsReceiverFactory.createDefaultConfig(), scrapers, ...extra } as never);
    assert.throws(v({}), /scrapers: must specify at least one scraper/);
    assert.throws(v({ gpu: null }), /unknown scraper "gpu"/);
    assert.throws(v({ cpu: { metrics: { 'system.cpu.nope': { enabled: true } } } }), /unknown metric "system.cpu.nope"/);
    assert.throws(v({ disk: { include: { devices: ['('], match_type: 'regexp' } } }), /scrapers::disk::include.devices: invalid regexp/);
    assert.throws(v({ disk: { include: { interfaces: ['x'] } } }), /devices: expected a list of strings/);
    assert.throws(v({ load: { cpu_average: 'yes' } }), /cpu_average: must be true or false/);
    assert.throws(v({ cpu: null }, { collection_interval: '0s' }), /collection_interval: must be positive/);
  });
});
