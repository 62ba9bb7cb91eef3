// Drain benchmark: a child process drives many small loopback TCP messages (ping-pong on N
// connections, TCP_NODELAY: one packet per message and direction) while this process runs the real
// probes and drains the ring buffer on its timer. Prints records/s delivered, agent CPU per million
// records, and kernel drops, next to the same load without probes (the traced side's cost); then a
// burst phase measures how fast draining empties a ring the agent left to fill.
//   node dist/bench/drain.js [--duration 5] [--conns 8] [--bytes 64] [--capture 256] [--interval 20]
import { parseArgs } from 'node:util';
import { CaptureProbes } from '../src/ebpf/index.js';
import { startChildLoad } from './child-load.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    conns: { type: 'string', default: '8' },
    bytes: { type: 'string', default: '64' },
    capture: { type: 'string', default: '256' },
    interval: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
  },
});
const durationS = Number(values.duration);
const conns = Number(values.conns);
const bytes = Number(values.bytes);

/** The load: a server and `conns` clients in one child process, ping-ponging `bytes`-byte messages. */
function startLoad(seconds: number) {
  const script = `
    const net = require('node:net');
    const msg = Buffer.alloc(${bytes}, 'p');
    let messages = 0;
    const server = net.createServer((s) => { s.setNoDelay(true); s.on('data', (d) => s.write(d)); });
    server.listen(0, '127.0.0.1', () => {
      const port = server.address().port;
      process.stdout.write(JSON.stringify({ port }) + '\\n');
      const end = Date.now() + ${seconds * 1000};
      for (let i = 0; i < ${conns}; i++) {
        const c = net.connect(port, '127.0.0.1', () => { c.setNoDelay(true); c.write(msg); });
        c.on('data', () => { messages++; if (Date.now() < end) c.write(msg); else c.end(); });
      }
      setTimeout(() => { process.stdout.write(JSON.stringify({ messages }) + '\\n'); process.exit(0); }, ${seconds * 1000 + 200});
    });`;
  return startChildLoad(script);
}

/** The same load with no probes attached: the traced side's own rate, for the overhead figure. */
async function baseline() {
  const load = startLoad(durationS);
  const { messages } = await load.line('messages');
  await load.exited;
  return { phase: 'baseline (no probes)', seconds: durationS, messages, messages_per_s: Math.round(messages! / durationS) };
}

async function sustained() {
  const load = startLoad(durationS);
  const { port } = await load.line('port');
  const probes = CaptureProbes.open({ ports: [port!], captureBytes: Number(values.capture), drainIntervalMs: Number(values.interval) });
  let records = 0;
  probes.onPayloadEvents((ev) => (records += ev.length));
  probes.onConnectionEvents((ev) => (records += ev.length));
  const s0 = probes.stats();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const { messages } = await load.line('messages');
  await load.exited;
  probes.drain();
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const s1 = probes.stats();
  probes.close();
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return {
    phase: 'sustained',
    seconds: +wallS.toFixed(2),
    messages,
    messages_per_s: Math.round(messages! / durationS),
    records,
    records_per_s: Math.round(records / wallS),
    agent_cpu_s_per_million_records: +((cpuS / records) * 1e6).toFixed(3),
    agent_cpu_percent: +((cpuS / wallS) * 100).toFixed(1),
    kernel_emitted: s1.payloadEvents + s1.connEvents - s0.payloadEvents - s0.connEvents,
    kernel_dropped: s1.dropped - s0.dropped,
  };
}

/** Lets the ring fill without draining, then times draining it all at once. */
async function burst() {
  const load = startLoad(1);
  const { port } = await load.line('port');
  const probes = CaptureProbes.open({ ports: [port!], captureBytes: Number(values.capture), drainIntervalMs: 1000, ringBufferBytes: 32 << 20 });
  let records = 0;
  probes.onPayloadEvents((ev) => (records += ev.length));
  probes.onConnectionEvents((ev) => (records += ev.length));
  await new Promise((r) => setTimeout(r, 900)); // the first timer tick is at 1000 ms
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (let n = probes.drain(); n > 0; n = probes.drain());
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const dropped = probes.stats().dropped;
  probes.close();
  load.child.kill();
  return {
    phase: 'burst',
    records,
    drain_ms: +(s * 1000).toFixed(1),
    records_per_s: Math.round(records / s),
    cpu_ns_per_record: Math.round(((cpu.user + cpu.system) * 1000) / records),
    kernel_dropped: dropped,
  };
}

const results = [await baseline(), await sustained(), await burst()];
for (const r of results) console.log(values.json ? JSON.stringify(r) : Object.entries(r).map(([k, v]) => `${k}=${v}`).join('  '));
