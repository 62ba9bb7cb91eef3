// `sonde connections [--duration S] [--json]`: prints TCP connections as the probes see them open
// and close, with the process on our side of each.
import { parseArgs } from 'node:util';
import { ConnectionTable, type Connection, type ConnectionChange } from '../capture/index.js';
import { BpfError, CaptureProbes } from '../ebpf/index.js';
import { MonotonicClock } from '../telemetry/clock.js';

const HELP = `usage: sonde connections [--duration S] [--json]

Prints every TCP connection on this host as it opens and closes (needs root).
  --duration S   stop after S seconds (default: until Ctrl-C)
  --json         one JSON object per line: event, pid, comm, role, local, remote, state,
                 open_ts, close_ts, bytes_received, bytes_sent, pid_source, cookie`;

const endpoint = (addr: string, port: number) => (addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`);

/** Converts kernel monotonic ns to ISO wall-clock time (the offset measured once at start). */
function wallClock(): (ns: bigint | undefined) => string | null {
  const clock = new MonotonicClock();
  return (ns) => (ns === undefined ? null : new Date(Number(clock.toUnixNs(ns) / 1_000_000n)).toISOString());
}

function connectionRecord(c: Connection, change: ConnectionChange, toWall: (ns: bigint | undefined) => string | null) {
  return {
    event: change,
    pid: c.pid ?? null,
    comm: c.comm ?? null,
    role: c.role,
    local: endpoint(c.localAddr, c.localPort),
    remote: endpoint(c.remoteAddr, c.remotePort),
    state: c.state,
    established: c.established,
    open_ts: toWall(c.openTsNs),
    close_ts: toWall(c.closeTsNs),
    bytes_received: c.bytesReceived,
    bytes_sent: c.bytesSent,
    pid_source: c.pidSource ?? null,
    family: c.family === 4 ? 'ipv4' : 'ipv6',
    cookie: c.cookie ? c.cookie.toString() : null, // a server socket gets its cookie with its first packet
  };
}

function humanLine(r: ReturnType<typeof connectionRecord>): string {
  const who = r.pid === null ? '?' : `${r.comm ?? '?'}(${r.pid})`;
  const arrow = r.role === 'server' ? '←' : '→';
  const tail = r.event === 'close' ? `  ${r.established ? '' : 'never established  '}rx ${r.bytes_received} B  tx ${r.bytes_sent} B` : '';
  return `${r.event.toUpperCase().padEnd(6)} ${r.role.padEnd(7)} ${who.padEnd(22)} ${r.local.padEnd(24)} ${arrow} ${r.remote.padEnd(24)} ${r.state}${tail}`;
}

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, options: { duration: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    console.error(`sonde connections: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args.values.help) {
    console.log(HELP);
    return 0;
  }
  const duration = args.values.duration === undefined ? undefined : Number(args.values.duration);
  if (duration !== undefined && !(duration > 0)) {
    console.error(`sonde connections: --duration must be a positive number of seconds, got "${args.values.duration}"`);
    return 2;
  }
  const json = args.values.json ?? false;
  let probes: CaptureProbes;
  try {
    // Payload heads are only needed for the sender pid of egress packets: capture as few bytes as possible
    // (and no HTTP/2 framing, which copies header blocks whole).
    probes = CaptureProbes.open({ captureBytes: 16, http2: false, log: (m) => console.error(`sonde: ${m}`) });
  } catch (err) {
    console.error(`sonde connections: ${err instanceof BpfError ? err.message : (err as Error).stack}`);
    return 1;
  }
  const toWall = wallClock();
  const table = new ConnectionTable();
  if (!json) console.log(`${'EVENT'.padEnd(6)} ${'ROLE'.padEnd(7)} ${'PROCESS'.padEnd(22)} ${'LOCAL'.padEnd(24)}   ${'REMOTE'.padEnd(24)} STATE`);
  table.onChange((c, change) => {
    const r = connectionRecord(c, change, toWall);
    console.log(json ? JSON.stringify(r) : humanLine(r));
  });
  // Ring order: a response's sender pid must be applied before the close that follows it.
  probes.onEvents((ev) => table.apply(ev));
  const sweeper = setInterval(() => table.sweep(), 1000);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (duration !== undefined) setTimeout(stop, duration * 1000);
  });
  clearInterval(sweeper);
  probes.drain();
  const s = probes.stats();
  probes.close();
  console.error(`sonde: kernel events: ${s.connEvents} connection, ${s.payloadEvents} payload; dropped ${s.dropped}; filtered ${s.filtered}`);
  return 0;
}
