// Agent CPU per captured exchange: a Node keep-alive client makes N sequential requests to a Node
// `http` server on 127.0.0.1 while the `ebpf` receiver (in this process, sink exporter) captures
// both ends. Prints the CPU this process used (drain, decode, reassembly, parsing, spans, metrics),
// after WARMUP unmeasured requests (JIT compilation of the hot paths costs ~0.3 s of CPU once,
// which would otherwise dominate short runs).
//   node dist/bench/ebpf-receiver/exchange-cpu.js [N=20000] [capture_bytes=512] [WARMUP=5000]   (as root)
import { appPath, run, startAgent, startNodeApp } from '../../test/integration/harness.js';

const n = Number(process.argv[2] ?? 20000);
const captureBytes = Number(process.argv[3] ?? 512);
const warmup = Number(process.argv[4] ?? 5000);
const { child, port } = await startNodeApp('http-server', ['127.0.0.1']);
const agent = await startAgent([port], { ebpfExtra: `    capture_bytes: ${captureBytes}` });
const client = (count: number, path: string) => run(process.execPath, [appPath('http-client'), 'keepalive', String(count), `http://127.0.0.1:${port}${path}`], 300_000);
if (warmup > 0) {
  await client(warmup, '/warmup');
  await new Promise((res) => setTimeout(res, 500)); // its last drains and flushes
}
const cpu0 = process.cpuUsage();
const t0 = Date.now();
const r = await client(n, '/bench');
const wallMs = Date.now() - t0;
await new Promise((res) => setTimeout(res, 500)); // the last drains and flushes
const cpu = process.cpuUsage(cpu0);
const exchanges = agent.sink.spans().filter((s) => s.attributes['url.path'] === '/bench').length;
await agent.stop();
await child.stop();
const cpuUs = cpu.user + cpu.system;
console.log(`requests ${n} after ${warmup} warm-up (client exit ${r.code}), capture_bytes ${captureBytes}, wall ${wallMs} ms, exchanges seen ${exchanges} (both ends)`);
console.log(`agent CPU ${(cpuUs / 1000).toFixed(0)} ms: ${(cpuUs / n).toFixed(1)} µs per request, ${(cpuUs / Math.max(1, exchanges)).toFixed(1)} µs per exchange`);
