// Agent CPU per captured exchange: a Node keep-alive client makes N sequential requests to a Node
// `http` server on 127.0.0.1 while the `ebpf` receiver (in this process, sink exporter) captures
// both ends. Prints the CPU this process used (drain, decode, reassembly, parsing, spans, metrics).
//   node dist/bench/ebpf-receiver/exchange-cpu.js [N=5000] [capture_bytes=512]   (as root)
import { appPath, run, startAgent, startNodeApp } from '../../test/integration/harness.js';

const n = Number(process.argv[2] ?? 5000);
const captureBytes = Number(process.argv[3] ?? 512);
const { child, port } = await startNodeApp('http-server', ['127.0.0.1']);
const agent = await startAgent([port], { ebpfExtra: `    capture_bytes: ${captureBytes}` });
const cpu0 = process.cpuUsage();
const t0 = Date.now();
const r = await run(process.execPath, [appPath('http-client'), 'keepalive', String(n), `http://127.0.0.1:${port}/bench`], 300_000);
const wallMs = Date.now() - t0;
await new Promise((res) => setTimeout(res, 500)); // the last drains and flushes
const cpu = process.cpuUsage(cpu0);
const exchanges = agent.sink.spans().filter((s) => s.attributes['url.path'] === '/bench').length;
await agent.stop();
await child.stop();
const cpuUs = cpu.user + cpu.system;
console.log(`requests ${n} (client exit ${r.code}), capture_bytes ${captureBytes}, wall ${wallMs} ms, exchanges seen ${exchanges} (both ends)`);
console.log(`agent CPU ${(cpuUs / 1000).toFixed(0)} ms: ${(cpuUs / n).toFixed(1)} µs per request, ${(cpuUs / Math.max(1, exchanges)).toFixed(1)} µs per exchange`);
