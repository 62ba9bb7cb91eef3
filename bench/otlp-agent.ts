// The agent side of bench/otlp.ts: a Sonde Service in its own process (so its CPU and RSS are
// measured alone), built from the YAML in SONDE_BENCH_CONFIG. Reports on IPC when asked.
import pino from 'pino';
import { Service } from '../src/collector/service/service.js';

const svc = await Service.fromYaml(process.env.SONDE_BENCH_CONFIG ?? '', { logger: pino({ level: 'warn' }) });
await svc.start();
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 50);
process.on('message', async (msg: { cmd: string }) => {
  if (msg.cmd === 'usage') {
    const cpu = process.cpuUsage();
    process.send!({ cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRss: Math.max(peakRss, process.resourceUsage().maxRSS * 1024) });
  } else if (msg.cmd === 'stop') {
    clearInterval(sampler);
    await svc.shutdown();
    process.exit(0);
  }
});
process.send!({ ready: true });
