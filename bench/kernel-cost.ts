// Kernel time of the capture probes per HTTP request, from the kernel's own BPF run-time accounting
// (kernel.bpf_stats_enabled=1; run_time_ns/run_cnt of every program this process loaded, as the
// kernel reports them, listLoadedPrograms) while wrk drives bench/fixtures/http-server.cjs GET /trivial.
// The socket-read tracepoint (sonde_recv) runs for every TCP read on the host, so its time here also
// covers wrk's reads: both ends of each request, as for the cgroup_skb programs.
// Needs root and wrk. Leaves kernel.bpf_stats_enabled as it found it.
//   node dist/bench/kernel-cost.js [--object bpf/capture.bpf.o] [--capture 512] [--http2 true]
//        [--payload true] [--seconds 3] [--header 'Name: value' ...] [--rounds 3] [--compare OTHER.o]
// --compare: rounds alternate between the two objects (before/after in one run, same load), and
// the last line gives both medians and the difference. Both must follow this agent's record layout
// (bpf/sonde.h): an object of an older layout cannot be decoded; compare against an older commit
// with that commit's own build instead (README, "In-kernel cost per request").
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CaptureProbes, listLoadedPrograms } from '../src/ebpf/index.js';
import { bpfObjectPath, repoRoot } from '../src/ebpf/paths.js';

const { values } = parseArgs({
  options: {
    object: { type: 'string', default: bpfObjectPath('capture') },
    capture: { type: 'string', default: '512' },
    http2: { type: 'string', default: 'true' },
    payload: { type: 'string', default: 'true' },
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    header: { type: 'string', multiple: true, default: [] },
    compare: { type: 'string' },
  },
});

async function round(object: string) {
  const server = spawn(process.execPath, [join(repoRoot(), 'bench', 'fixtures', 'http-server.cjs'), '--work-iterations', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [first] = (await once(server.stdout!, 'data')) as [Buffer];
    const port = (JSON.parse(first.toString()) as { port: number }).port;
    const probes = CaptureProbes.open({
      objectPath: object, ports: [port], captureBytes: Number(values.capture),
      http2: values.http2 === 'true', payload: values.payload === 'true',
    });
    try {
      let records = 0;
      probes.onPayloadEvents((ev) => (records += ev.length));
      const ids = new Set(probes.programs.map((p) => p.id));
      const ours = () => listLoadedPrograms().filter((p) => ids.has(p.id));
      const start = ours();
      const wrk = spawn('wrk', ['-t1', '-c50', `-d${values.seconds}s`, ...values.header.flatMap((h) => ['-H', h]), `http://127.0.0.1:${port}/trivial`]);
      let out = '';
      wrk.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await once(wrk, 'exit');
      const end = ours();
      await new Promise((r) => setTimeout(r, 100)); // one more drain
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      if (!requests) throw new Error(`wrk reported no requests: ${out}`);
      const row: Record<string, number | string> = { requests };
      let ns = 0;
      for (const e of end) {
        const s = start.find((p) => p.id === e.id);
        const dt = Number(e.runTimeNs - (s?.runTimeNs ?? 0n));
        const dc = Number(e.runCount - (s?.runCount ?? 0n));
        ns += dt;
        if (dc > 0) {
          row[`${e.name} ns/run`] = Math.round(dt / dc);
          row[`${e.name} runs/request`] = Number((dc / requests).toFixed(2));
        }
      }
      row['ns/request'] = Math.round(ns / requests);
      row['records/request'] = Number((records / requests).toFixed(2));
      row.dropped = probes.stats().dropped;
      return row;
    } finally {
      probes.close();
    }
  } finally {
    server.kill();
  }
}

const STATS = '/proc/sys/kernel/bpf_stats_enabled';
const wasEnabled = readFileSync(STATS, 'utf8').trim();
writeFileSync(STATS, '1');
try {
  const objects = values.compare ? [values.object, values.compare] : [values.object];
  const rows: Array<Record<string, number | string>> = [];
  for (let i = 0; i < Number(values.rounds); i++) {
    for (const object of objects) rows.push({ object, ...(await round(object)) });
  }
  for (const r of rows) console.log(JSON.stringify(r));
  const median = (object: string) => {
    const v = rows.filter((r) => r.object === object).map((r) => r['ns/request'] as number).sort((a, b) => a - b);
    return v[v.length >> 1]!;
  };
  const summary: Record<string, unknown> = { capture: values.capture, http2: values.http2, payload: values.payload };
  for (const object of objects) summary[`median ns/request ${object}`] = median(object);
  if (values.compare) summary['difference ns/request (object - compare)'] = median(values.object) - median(values.compare);
  console.log(JSON.stringify(summary));
} finally {
  writeFileSync(STATS, wasEnabled);
}
