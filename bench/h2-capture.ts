// HTTP/2 capture cost: the same loopback load with no probes, with the probes but HTTP/2 framing off
// (256-byte head per packet), and with framing on (frame headers, header blocks and gRPC prefixes
// only). Three loads in a child process: gRPC unary calls (grpc-js, `--bytes` response,
// `--concurrency` calls in flight), HTTP/2 downloads (node:http2, 4 MiB bodies), and 64-byte TCP
// ping-pong that is not HTTP/2 (what framing costs everything else). For each phase: the load's rate,
// records and bytes the kernel copied per call / per MiB, kernel drops, the cgroup_skb programs'
// mean run time (kernel BPF stats, enabled for the run), and, for gRPC, how many calls the pure
// HTTP/2 parser fully recovered (grpc-status seen) from the server side's records.
//   node dist/bench/h2-capture.js [--duration 3] [--concurrency 8] [--bytes 2048] [--loads grpc,download,echo]
//                                 [--object bpf/capture.bpf.o] [--json]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConnectionStreams } from '../src/capture/index.js';
import { CaptureProbes, listLoadedPrograms, type PayloadEvent } from '../src/ebpf/index.js';
import { H2_EXTENT, PAYLOAD_EVENT } from '../src/ebpf/layout.js';
import { repoRoot } from '../src/ebpf/paths.js';
import { Http2Connection } from '../src/protocols/http2/index.js';
import { startChildLoad } from './child-load.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '8' },
    bytes: { type: 'string', default: '2048' },
    loads: { type: 'string', default: 'grpc,download,echo' },
    object: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const durationS = Number(values.duration);

const GRPC_LOAD = `
  const grpc = require('@grpc/grpc-js');
  const id = (b) => b;
  const def = { Echo: { path: '/sonde.Bench/Echo', requestStream: false, responseStream: false,
    requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } };
  const reply = Buffer.alloc(${Number(values.bytes)}, 'r');
  const server = new grpc.Server();
  server.addService(def, { Echo: (call, cb) => cb(null, reply) });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), async (err, port) => {
    process.stdout.write(JSON.stringify({ port }) + '\\n');
    await new Promise((r) => process.stdin.once('data', r)); // the agent has attached
    const client = new grpc.Client('127.0.0.1:' + port, grpc.credentials.createInsecure());
    const end = Date.now() + ${durationS * 1000};
    let units = 0;
    const loop = () => new Promise((resolve) => {
      const next = () => client.makeUnaryRequest('/sonde.Bench/Echo', id, id, Buffer.from('ping'), () => {
        units++;
        if (Date.now() < end) next(); else resolve();
      });
      next();
    });
    await Promise.all(Array.from({ length: ${Number(values.concurrency)} }, loop));
    client.close();
    server.tryShutdown(() => { process.stdout.write(JSON.stringify({ units }) + '\\n'); process.exit(0); });
  });`;

const DOWNLOAD_LOAD = `
  const http2 = require('node:http2');
  const body = Buffer.alloc(4 << 20, 'd');
  const server = http2.createServer((req, res) => res.end(body));
  server.listen(0, '127.0.0.1', async () => {
    const port = server.address().port;
    process.stdout.write(JSON.stringify({ port }) + '\\n');
    await new Promise((r) => process.stdin.once('data', r));
    const session = http2.connect('http://127.0.0.1:' + port);
    const end = Date.now() + ${durationS * 1000};
    let units = 0;
    while (Date.now() < end) {
      await new Promise((resolve) => { const r = session.request({ ':path': '/' }); r.on('data', (d) => (units += d.length)); r.on('end', resolve); r.end(); });
    }
    session.close();
    server.close(() => { process.stdout.write(JSON.stringify({ units: units / (1 << 20) }) + '\\n'); process.exit(0); });
  });`;

const ECHO_LOAD = `
  const net = require('node:net');
  const msg = Buffer.alloc(64, 'p');
  const server = net.createServer((s) => { s.setNoDelay(true); s.on('data', (d) => s.write(d)); });
  server.listen(0, '127.0.0.1', async () => {
    process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n');
    await new Promise((r) => process.stdin.once('data', r));
    const end = Date.now() + ${durationS * 1000};
    let units = 0, open = 8;
    for (let i = 0; i < 8; i++) {
      const c = net.connect(server.address().port, '127.0.0.1', () => { c.setNoDelay(true); c.write(msg); });
      c.on('data', () => { units++; if (Date.now() < end) c.write(msg); else if (!c.ended) { c.ended = true; c.end(); if (--open === 0) { process.stdout.write(JSON.stringify({ units }) + '\\n'); process.exit(0); } } });
    }
  });`;

const LOADS = { grpc: GRPC_LOAD, download: DOWNLOAD_LOAD, echo: ECHO_LOAD } as const;
const UNITS = { grpc: 'call', download: 'MiB', echo: 'message' } as const;

/** Server-side parse of the records: calls whose grpc-status the parser recovered, HPACK desyncs. */
class ServerParse {
  private readonly streams = new ConnectionStreams();
  private readonly parsers = new Map<bigint, Http2Connection>();
  withStatus = 0;

  constructor(private readonly port: number) {}

  push(e: PayloadEvent): void {
    if (e.localPort !== this.port) return;
    let p = this.parsers.get(e.cookie);
    if (!p) this.parsers.set(e.cookie, p = new Http2Connection({ role: 'server' }));
    for (const seg of this.streams.push(e)) for (const x of p.push(e.direction, seg)) if (x.response?.grpcStatus !== undefined) this.withStatus++;
  }

  hpackDesyncs(): number {
    let n = 0;
    for (const p of this.parsers.values()) n += p.stats.hpackDesyncs + p.stats.headerBlocksLost;
    return n;
  }
}

type Mode = 'none' | 'http2-off' | 'http2-on';

async function phase(load: keyof typeof LOADS, mode: Mode) {
  const l = startChildLoad(LOADS[load], repoRoot());
  const { port } = await l.line('port');
  let probes: CaptureProbes | undefined;
  let records = 0, copied = 0, ringBytes = 0;
  const parse = new ServerParse(port!);
  if (mode !== 'none') {
    probes = CaptureProbes.open({ ports: [port!], captureBytes: 256, http2: mode === 'http2-on', objectPath: values.object });
    probes.onPayloadEvents((evs) => {
      for (const e of evs) {
        records++;
        copied += e.head.length + e.tail.length;
        ringBytes += 8 + ((PAYLOAD_EVENT.size + e.head.length + H2_EXTENT.size * (e.extents?.length ?? 0) + 7) & ~7);
        if (load === 'grpc') parse.push(e);
      }
    });
  }
  const ids = new Set(probes?.programs.filter((p) => p.name.startsWith('sonde_skb')).map((p) => p.id));
  const progs = () => listLoadedPrograms().filter((p) => ids.has(p.id));
  const before = progs();
  const cpu0 = process.cpuUsage();
  l.go();
  const { units } = await l.line('units');
  await l.exited;
  probes?.drain();
  const cpu = process.cpuUsage(cpu0);
  const after = progs();
  const runs = after.reduce((s, p) => s + p.runCount, 0n) - before.reduce((s, p) => s + p.runCount, 0n);
  const runNs = after.reduce((s, p) => s + p.runTimeNs, 0n) - before.reduce((s, p) => s + p.runTimeNs, 0n);
  const st = probes?.stats();
  probes?.close();
  const unit = UNITS[load];
  return {
    load, mode,
    [`${unit}s_per_s`]: +(units! / durationS).toFixed(1),
    ...(mode === 'none' ? {} : {
      [`records_per_${unit}`]: +(records / units!).toFixed(2),
      [`copied_bytes_per_${unit}`]: Math.round(copied / units!),
      [`ring_bytes_per_${unit}`]: Math.round(ringBytes / units!),
      kernel_dropped: st!.dropped,
      skb_prog_runs: Number(runs),
      skb_prog_ns_per_run: runs > 0n ? Math.round(Number(runNs) / Number(runs)) : 0,
      [`skb_prog_ns_per_${unit}`]: Math.round(Number(runNs) / units!),
      verified_insns: after.map((p) => `${p.name}:${p.verifiedInsns}`).join(','),
      agent_cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
      h2_packets: st!.h2Packets, h2_skipped_bytes: st!.h2SkippedBytes, h2_desyncs: st!.h2Desyncs,
      ...(load === 'grpc' ? { calls_with_grpc_status: parse.withStatus, header_blocks_lost_or_desynced: parse.hpackDesyncs() } : {}),
    }),
  };
}

const STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';
const statsWas = readFileSync(STATS_SYSCTL, 'utf8').trim();
writeFileSync(STATS_SYSCTL, '1');
try {
  for (const load of values.loads.split(',') as (keyof typeof LOADS)[]) {
    if (!(load in LOADS)) throw new Error(`unknown load ${load}: use grpc, download or echo`);
    for (const mode of ['none', 'http2-off', 'http2-on'] as const) {
      const r = await phase(load, mode);
      console.log(values.json ? JSON.stringify(r) : Object.entries(r).map(([k, v]) => `${k}=${v}`).join('  '));
    }
  }
} finally {
  writeFileSync(STATS_SYSCTL, statsWas);
}
