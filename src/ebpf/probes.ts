// CaptureProbes: loads bpf/capture.bpf.o (cgroup_skb ingress/egress on the cgroup v2 root,
// sock:inet_sock_set_state, cgroup/connect4|6), configures it through .rodata, drains its ring
// buffer on a timer and delivers decoded records in batches. Everything is attached through BPF
// links owned by this process, so nothing outlives it, not even after SIGKILL.
import { closeSync, existsSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BpfError, errnoName } from './errors.js';
import { BTF_REMEDY, CGROUP2_REMEDY, PRIVILEGE_REMEDY, TRACEFS, btfProblem, cgroup2Root, ensureTracefs, privilegeProblem } from './host.js';
import {
  CONN_EVENT, CONSTANTS, PAYLOAD_EVENT, STATS, decodeConnectionEvent, decodePayloadEvent, encodeConfig,
  type CaptureEvent, type ConnectionEvent, type PayloadEvent, type ProbeConfig,
} from './layout.js';
import { getLibbpf, type Libbpf } from './libbpf.js';
import { bpfObjectPath } from './paths.js';
import { RingBufferReader } from './ringbuf.js';

export interface CaptureOptions {
  /** Head bytes captured per payload packet, 1..1024. Default 256. */
  captureBytes?: number;
  /** Capture payload only for these ports (local or remote), at most 16. Default: all ports. */
  ports?: number[];
  /** Capture payload only for sockets created in this cgroup v2 directory (path). Default: all. */
  cgroupPath?: string;
  /** The same by cgroup v2 id (the directory's inode number); cgroupPath wins when both are set. */
  cgroupId?: bigint;
  /** Emit only payload packets that start an HTTP/1 message or the HTTP/2 preface. Default false. */
  messageStartOnly?: boolean;
  /** Capture payload at all (false = connection events only). Default true. */
  payload?: boolean;
  /**
   * HTTP/2 framing: for connections the kernel saw send the client preface, or that markHttp2 named,
   * the probes walk frame headers and copy every header block and control frame whole but only the
   * first 5 bytes (the gRPC prefix) of each DATA payload; such records are `framed`. Default true.
   */
  http2?: boolean;
  /** Ring buffer size in bytes, a power of two ≥ 4096. Default 8 MiB. */
  ringBufferBytes?: number;
  /** Drain period in ms (10..1000). Default 20. */
  drainIntervalMs?: number;
  /** Where to attach the cgroup programs. Default: the cgroup v2 root found in /proc/mounts. */
  attachCgroup?: string;
  /** The BPF object. Default: <repo>/bpf/capture.bpf.o. */
  objectPath?: string;
  /** Receives operational notes (e.g. "mounted tracefs"). Default: ignored. */
  log?: (msg: string) => void;
}

/** Counters summed over CPUs from the probes' per-CPU stats map. */
export interface ProbeStats {
  payloadEvents: number;
  connEvents: number;
  /** Records lost in the kernel because the ring buffer was full. */
  dropped: number;
  /** Payload packets skipped by the port/cgroup/message-start filters. */
  filtered: number;
  /** Packets of HTTP/2 connections walked by frames in the kernel. */
  h2Packets: number;
  /** Payload bytes of those packets not copied (DATA beyond its gRPC prefix). */
  h2SkippedBytes: number;
  /** Times the kernel lost an HTTP/2 direction's frame boundaries (reordering, > 64 frames in a packet). */
  h2Desyncs: number;
  /** Times the kernel found (or found again) a direction's frame boundaries. */
  h2Anchors: number;
}

export interface AttachedProgram {
  name: string;
  section: string;
  /** Kernel program id (from bpf_obj_get_info_by_fd). */
  id: number;
  /** Kernel id of the BPF link that attaches it. */
  linkId: number;
}

const PROGRAMS = [
  { name: 'sonde_skb_in', section: 'cgroup_skb/ingress', cgroup: true },
  { name: 'sonde_skb_eg', section: 'cgroup_skb/egress', cgroup: true },
  { name: 'sonde_state', section: 'tracepoint/sock/inet_sock_set_state', cgroup: false, tracepoint: 'sock:inet_sock_set_state', since: 'Linux ≥ 4.16' },
  { name: 'sonde_conn4', section: 'cgroup/connect4', cgroup: true },
  { name: 'sonde_conn6', section: 'cgroup/connect6', cgroup: true },
  // Optional: without it calls are not linked to the request their thread serves.
  { name: 'sonde_recv', section: 'raw_tp/tcp_rcv_space_adjust', cgroup: false, tracepoint: 'tcp:tcp_rcv_space_adjust', since: 'Linux ≥ 4.15', optional: 'in-process parent links (calls made while serving a request)' },
] as const satisfies ReadonlyArray<{ name: string; section: string; cgroup: boolean; tracepoint?: string; since?: string; optional?: string }>;

/** Whether the kernel has a tracepoint (`group:name`). */
function tracepointExists(tracepoint: string): boolean {
  return existsSync(join(TRACEFS, 'events', tracepoint.replace(':', '/')));
}

const LOG_BUF_BYTES = 1 << 20;
const BPF_NOEXIST = 1;
const EEXIST = 17;
const EAGAIN = 11;
const VERIFIER_TAIL_LINES = 25;

const open = new Set<CaptureProbes>();
let signalsHooked = false;

/** Closes every open probe set on SIGINT/SIGTERM/exit, then lets the signal do what it would have done. */
function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  const onSignal = (sig: NodeJS.Signals) => {
    for (const p of [...open]) p.close();
    process.removeListener(sig, onSignal);
    // Only re-raise when nobody else handles the signal; otherwise the app decides when to exit.
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => { for (const p of [...open]) p.close(); });
}

function checkPrivileges(): void {
  const priv = privilegeProblem();
  if (priv) throw new BpfError(`cannot load eBPF probes: ${priv}`, PRIVILEGE_REMEDY);
  const btf = btfProblem();
  if (btf) throw new BpfError(`cannot load CO-RE probes: ${btf}`, BTF_REMEDY);
}

function resolveConfig(o: CaptureOptions): ProbeConfig & { cgroupLabel: string } {
  const captureBytes = o.captureBytes ?? 256;
  if (!Number.isInteger(captureBytes) || captureBytes < 1 || captureBytes > CONSTANTS.SONDE_MAX_CAPTURE) {
    throw new BpfError(`invalid captureBytes ${captureBytes}`, `use an integer between 1 and ${CONSTANTS.SONDE_MAX_CAPTURE}`);
  }
  const ports = o.ports ?? [];
  if (ports.length > CONSTANTS.SONDE_MAX_PORTS || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw new BpfError(`invalid ports [${ports.join(', ')}]`, `list at most ${CONSTANTS.SONDE_MAX_PORTS} ports between 1 and 65535`);
  }
  let cgroupId = o.cgroupId ?? 0n;
  if (o.cgroupPath) {
    try {
      cgroupId = BigInt(statSync(o.cgroupPath).ino); // a cgroup v2 id is its directory's inode number
    } catch (err) {
      throw new BpfError(`cgroup filter ${o.cgroupPath}: ${(err as Error).message}`, 'give the path of a cgroup v2 directory, e.g. /sys/fs/cgroup/system.slice/nginx.service', { cause: err });
    }
  }
  return {
    captureBytes, ports, cgroupId, messageStartOnly: o.messageStartOnly ?? false, payload: o.payload ?? true,
    http2: o.http2 ?? true, cgroupLabel: o.cgroupPath ?? '',
  };
}

function cString(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 ? buf.length : end);
}

/** The last lines of a verifier log, which say why the program was rejected. */
function verifierTail(log: string): string {
  const lines = log.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(-VERIFIER_TAIL_LINES).join('\n');
}

/** Kernel id of a BPF object fd (program or link): struct bpf_{prog,link}_info has `id` at offset 4. */
export function bpfObjectId(lib: Libbpf, fd: number): number {
  const info = Buffer.alloc(256);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(info.length);
  const rc = lib.bpf_obj_get_info_by_fd([fd, info, len]) as number;
  if (rc !== 0) throw new BpfError(`bpf_obj_get_info_by_fd(${fd}) failed: ${errnoName(rc)}`, 'check that the fd is a BPF object');
  return info.readUInt32LE(4);
}

export class CaptureProbes {
  private readonly lib: Libbpf;
  private obj = 0;
  private links: number[] = [];
  private reader?: RingBufferReader;
  private timer?: NodeJS.Timeout;
  private statsFd = -1;
  private h2MarksFd = -1;
  private h2MarkCountsFd = -1;
  private readonly ncpu: number;
  private readonly connListeners: ((events: ConnectionEvent[]) => void)[] = [];
  private readonly payloadListeners: ((events: PayloadEvent[]) => void)[] = [];
  private readonly orderedListeners: ((events: CaptureEvent[]) => void)[] = [];
  private readonly errorListeners: ((err: Error) => void)[] = [];
  /** Ring-buffer records the agent could not decode (should stay 0). */
  malformedRecords = 0;
  readonly programs: AttachedProgram[] = [];
  /** Optional programs this kernel cannot run: the tracepoint it lacks, since when kernels have it, and what is lost without it. */
  readonly missing: Array<{ name: string; section: string; tracepoint: string; since: string; loses: string }> = [];
  readonly config: ProbeConfig;
  readonly attachCgroup: string;

  private constructor(lib: Libbpf, config: ProbeConfig, attachCgroup: string) {
    this.lib = lib;
    this.config = config;
    this.attachCgroup = attachCgroup;
    this.ncpu = lib.libbpf_num_possible_cpus([]) as number;
  }

  /**
   * Opens, configures, loads and attaches the capture probes and starts draining. Throws a BpfError
   * saying what failed and how to fix it; nothing stays loaded when it throws.
   */
  static open(opts: CaptureOptions = {}): CaptureProbes {
    checkPrivileges();
    const config = resolveConfig(opts);
    const cgroup = opts.attachCgroup ?? cgroup2Root();
    if (!cgroup) throw new BpfError('no cgroup v2 hierarchy is mounted (none in /proc/mounts)', CGROUP2_REMEDY);
    ensureTracefs(opts.log);
    const probes = new CaptureProbes(getLibbpf(), config, cgroup);
    try {
      probes.load(opts.objectPath ?? bpfObjectPath('capture'), opts.ringBufferBytes ?? 8 << 20);
      probes.attach();
    } catch (err) {
      probes.close();
      throw err;
    }
    open.add(probes);
    hookSignals();
    const interval = Math.min(1000, Math.max(10, opts.drainIntervalMs ?? 20));
    probes.timer = setInterval(() => probes.drain(), interval);
    return probes;
  }

  private load(path: string, ringBytes: number): void {
    const lib = this.lib;
    if (ringBytes < 4096 || (ringBytes & (ringBytes - 1)) !== 0) {
      throw new BpfError(`invalid ringBufferBytes ${ringBytes}`, 'use a power of two of at least 4096, e.g. 8388608');
    }
    const opened = lib.bpf_object__open_file([path, 0]);
    if (!opened.value) {
      throw new BpfError(`opening BPF object ${path} failed: ${opened.errnoMessage} (errno ${opened.errnoCode})`,
        'reinstall the package (the committed bpf/*.bpf.o must be present), or rebuild it: make -C bpf', { errno: opened.errnoCode });
    }
    this.obj = opened.value;
    let rodata = 0, events = 0;
    for (let m = lib.bpf_object__next_map([this.obj, 0]) as number; m; m = lib.bpf_object__next_map([this.obj, m]) as number) {
      const name = lib.bpf_map__name([m]) as string;
      if (name.endsWith('.rodata')) rodata = m;
      if (name === 'sonde_events') events = m;
    }
    if (!rodata || !events) throw new BpfError(`${path} lacks its .rodata config or sonde_events map`, 'rebuild the object from bpf/: make -C bpf');
    const cfg = encodeConfig(this.config);
    let rc = lib.bpf_map__set_initial_value([rodata, Buffer.from(cfg), cfg.length]) as number;
    if (rc) throw new BpfError(`setting the probe config (.rodata, ${cfg.length} bytes) failed: ${errnoName(rc)}`, 'the object does not match this agent version: rebuild it (make -C bpf) and the agent (npm run build)');
    rc = lib.bpf_map__set_max_entries([events, ringBytes]) as number;
    if (rc) throw new BpfError(`sizing the ring buffer to ${ringBytes} bytes failed: ${errnoName(rc)}`, 'use a power of two of at least 4096');

    // libbpf loads without a log first and, on failure, retries with log level 1 into these buffers.
    const logs = new Map<string, Buffer>();
    for (const p of PROGRAMS) {
      const prog = lib.bpf_object__find_program_by_name([this.obj, p.name]) as number;
      if (!prog && !('optional' in p)) throw new BpfError(`program ${p.name} not found in ${path}`, 'rebuild the object from bpf/: make -C bpf');
      // An optional program is left out where the kernel lacks its hook (or the object was built without it).
      if ('optional' in p && (!prog || !tracepointExists(p.tracepoint))) {
        lib.bpf_program__set_autoload([prog, 0]);
        this.missing.push({ name: p.name, section: p.section, tracepoint: p.tracepoint, since: p.since, loses: p.optional });
        continue;
      }
      const buf = Buffer.alloc(LOG_BUF_BYTES);
      logs.set(p.name, buf);
      lib.bpf_program__set_log_buf([prog, buf, buf.length]);
    }
    rc = lib.bpf_object__load([this.obj]) as number;
    if (rc === -EAGAIN) {
      // The verifier stops when a signal is pending; libbpf retried a few times and every attempt
      // was interrupted (node --cpu-prof sends SIGPROF every millisecond).
      throw new BpfError(`loading ${path} was interrupted by signals each time libbpf tried (EAGAIN)`,
        'do not run the agent under a sampling profiler while it loads (node --cpu-prof); start the profiler once the probes are attached (node:inspector Profiler.start)', { errno: EAGAIN });
    }
    if (rc) {
      const rejected = [...logs].map(([name, buf]) => [name, cString(buf)] as const).filter(([, log]) => log.length > 0);
      const verifierLog = rejected.map(([name, log]) => `[${name}]\n${verifierTail(log)}`).join('\n');
      const what = rejected.length
        ? `the kernel verifier rejected ${rejected.map(([n]) => n).join(', ')} from ${path} (${errnoName(rc)})`
        : `loading ${path} failed: ${errnoName(rc)}`;
      const remedy = Math.abs(rc) === 1
        ? PRIVILEGE_REMEDY
        : rejected.length
          ? 'this kernel rejects the program: report the log below with `uname -r`; libbpf printed the full log on stderr'
          : 'check the libbpf messages printed above (CO-RE relocation against /sys/kernel/btf/vmlinux, map creation limits)';
      throw new BpfError(what, remedy, { errno: -rc, verifierLog: verifierLog || undefined });
    }
    this.statsFd = this.mapFd('sonde_stats');
    this.h2MarksFd = this.mapFd('sonde_h2_marks');
    this.h2MarkCountsFd = this.mapFd('sonde_h2_mark_counts');
    this.reader = new RingBufferReader(lib.bpf_map__fd([events]) as number, ringBytes);
  }

  private mapFd(name: string): number {
    for (let m = this.lib.bpf_object__next_map([this.obj, 0]) as number; m; m = this.lib.bpf_object__next_map([this.obj, m]) as number) {
      if (this.lib.bpf_map__name([m]) === name) return this.lib.bpf_map__fd([m]) as number;
    }
    throw new BpfError(`map ${name} missing from the BPF object`, 'rebuild the object from bpf/: make -C bpf');
  }

  private attach(): void {
    const lib = this.lib;
    const cgroupFd = openSync(this.attachCgroup, 'r');
    try {
      for (const p of PROGRAMS) {
        if (this.missing.some((m) => m.name === p.name)) continue;
        const prog = lib.bpf_object__find_program_by_name([this.obj, p.name]) as number;
        const r = p.cgroup ? lib.bpf_program__attach_cgroup([prog, cgroupFd]) : lib.bpf_program__attach([prog]);
        if (!r.value) {
          const where = 'tracepoint' in p ? `tracepoint ${p.tracepoint}` : `cgroup ${this.attachCgroup}`;
          const remedy = r.errnoCode === 1 || r.errnoCode === 13
            ? PRIVILEGE_REMEDY
            : 'tracepoint' in p
              ? `check that tracefs is mounted at /sys/kernel/tracing and the kernel has the ${p.tracepoint} tracepoint (${p.since})`
              : 'check that the path is a cgroup v2 directory and that the kernel supports BPF links for cgroups (Linux ≥ 5.7)';
          throw new BpfError(`attaching ${p.name} (${p.section}) to ${where} failed: ${r.errnoMessage} (errno ${r.errnoCode})`, remedy, { errno: r.errnoCode });
        }
        this.links.push(r.value);
        this.programs.push({
          name: p.name, section: p.section,
          id: bpfObjectId(lib, lib.bpf_program__fd([prog]) as number),
          linkId: bpfObjectId(lib, lib.bpf_link__fd([r.value]) as number),
        });
      }
    } finally {
      closeSync(cgroupFd); // the links hold the cgroup
    }
  }

  /** Connection lifecycle records (connect, TCP state changes), in batches, in ring order. */
  onConnectionEvents(cb: (events: ConnectionEvent[]) => void): this {
    this.connListeners.push(cb);
    return this;
  }

  /**
   * Payload records, in batches, in ring order. head/tail are Uint8Array views (not Buffers) into a
   * buffer allocated for this batch: they stay valid after the callback returns (copy them if you
   * keep many batches alive).
   */
  onPayloadEvents(cb: (events: PayloadEvent[]) => void): this {
    this.payloadListeners.push(cb);
    return this;
  }

  /**
   * Both kinds of record in one batch, in ring order (the order the kernel produced them): use this
   * when a payload must be seen before a later state change of its connection (e.g. a ConnectionTable).
   */
  onEvents(cb: (events: CaptureEvent[]) => void): this {
    this.orderedListeners.push(cb);
    return this;
  }

  /** Errors thrown by listeners (they do not stop the drain). Default: printed to stderr. */
  onError(cb: (err: Error) => void): this {
    this.errorListeners.push(cb);
    return this;
  }

  /** Drains the ring buffer now and delivers what was pending. Returns the number of records. */
  drain(): number {
    if (!this.reader) return 0;
    let count = 0;
    this.reader.drain((out, used) => {
      // One copy per batch: records' head/tail become views into this slab. A plain Uint8Array,
      // not a Buffer: Buffer#subarray runs through JS (FastBuffer) and showed up at two views per
      // record, here and again in every parser that slices a head.
      const slab = new Uint8Array(out.buffer.slice(out.byteOffset, out.byteOffset + used));
      const view = new DataView(slab.buffer);
      const conns: ConnectionEvent[] = [];
      const payloads: PayloadEvent[] = [];
      const ordered: CaptureEvent[] | undefined = this.orderedListeners.length ? [] : undefined;
      for (let off = 0; off + 8 <= used;) {
        const len = view.getUint32(off, true);
        const rec = off + 8;
        off = rec + ((len + 7) & ~7);
        if (len < 4 || off > used) { this.malformedRecords++; break; }
        const kind = view.getUint32(rec, true);
        if (kind === CONSTANTS.SONDE_REC_PAYLOAD && len >= PAYLOAD_EVENT.size) {
          const e = decodePayloadEvent(slab, view, rec, len);
          payloads.push(e);
          ordered?.push(e);
        } else if (kind === CONSTANTS.SONDE_REC_CONN && len >= CONN_EVENT.size) {
          const e = decodeConnectionEvent(slab, view, rec);
          conns.push(e);
          ordered?.push(e);
        } else {
          this.malformedRecords++;
        }
      }
      count += conns.length + payloads.length;
      if (ordered?.length) this.emit(this.orderedListeners, ordered);
      if (conns.length) this.emit(this.connListeners, conns);
      if (payloads.length) this.emit(this.payloadListeners, payloads);
    });
    return count;
  }

  private emit<T>(listeners: ((events: T[]) => void)[], events: T[]): void {
    for (const cb of listeners) {
      try {
        cb(events);
      } catch (err) {
        if (this.errorListeners.length === 0) console.error(`sonde: capture listener failed: ${(err as Error).stack}`);
        for (const e of this.errorListeners) e(err as Error);
      }
    }
  }

  /**
   * Tells the probes that a connection speaks HTTP/2 although they did not see its client preface
   * (the agent joined mid-stream, or an h2c upgrade they missed). The kernel picks the mark up with
   * the connection's next packet and frames each direction from its next packet that starts with a
   * plausible frame header; records before that stay ordinary. Returns false when a mark for this
   * cookie is still waiting for a packet (or framing is off). The connection's close consumes a mark
   * it never used.
   */
  markHttp2(cookie: bigint): boolean {
    if (this.h2MarksFd < 0 || !this.config.http2 || cookie === 0n) return false;
    const key = Buffer.alloc(8);
    key.writeBigUInt64LE(cookie);
    const rc = this.lib.bpf_map_update_elem([this.h2MarksFd, key, Buffer.alloc(4, 1), BPF_NOEXIST]) as number;
    if (rc === -EEXIST) return false;
    if (rc) throw new BpfError(`marking connection ${cookie} as HTTP/2 failed: ${errnoName(rc)}`, 'the probes may have been unloaded; reopen them');
    // Marks made, against marks the probes consumed: while they differ, packets of connections
    // without HTTP/2 state look their cookie up. The agent is this count's only writer.
    const made = Buffer.alloc(4);
    made.writeUInt32LE(CONSTANTS.SONDE_H2_MARKS_MADE);
    const count = Buffer.alloc(8);
    if (this.lib.bpf_map_lookup_elem([this.h2MarkCountsFd, made, count]) === 0) {
      count.writeBigUInt64LE(count.readBigUInt64LE() + 1n);
      this.lib.bpf_map_update_elem([this.h2MarkCountsFd, made, count, 0]);
    }
    return true;
  }

  /**
   * The kernel's HTTP/2 bookkeeping: sockets it gave HTTP/2 state (ever; only HTTP/2 connections get
   * any) and marks made by markHttp2 that no packet or close has consumed yet.
   */
  http2State(): { sockets: bigint; pendingMarks: bigint } {
    if (this.h2MarkCountsFd < 0) return { sockets: 0n, pendingMarks: 0n };
    const read = (index: number): bigint => {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(index);
      const value = Buffer.alloc(8);
      const rc = this.lib.bpf_map_lookup_elem([this.h2MarkCountsFd, key, value]) as number;
      if (rc) throw new BpfError(`reading sonde_h2_mark_counts[${index}] failed: ${errnoName(rc)}`, 'the probes may have been unloaded; reopen them');
      return value.readBigUInt64LE();
    };
    return { sockets: read(CONSTANTS.SONDE_H2_SOCKS), pendingMarks: read(CONSTANTS.SONDE_H2_MARKS_MADE) - read(CONSTANTS.SONDE_H2_MARKS_USED) };
  }

  /** Kernel-side counters summed over CPUs (for self-metrics). */
  stats(): ProbeStats {
    if (this.statsFd < 0) return { payloadEvents: 0, connEvents: 0, dropped: 0, filtered: 0, h2Packets: 0, h2SkippedBytes: 0, h2Desyncs: 0, h2Anchors: 0 };
    const stride = (STATS.size + 7) & ~7;
    const val = Buffer.alloc(stride * this.ncpu);
    const rc = this.lib.bpf_map_lookup_elem([this.statsFd, Buffer.alloc(4), val]) as number;
    if (rc) throw new BpfError(`reading the probes' stats map failed: ${errnoName(rc)}`, 'the probes may have been unloaded; reopen them');
    const sum = (off: number) => {
      let s = 0n;
      for (let c = 0; c < this.ncpu; c++) s += val.readBigUInt64LE(c * stride + off);
      return Number(s);
    };
    const f = STATS.fields;
    return {
      payloadEvents: sum(f.payload_events![0]), connEvents: sum(f.conn_events![0]), dropped: sum(f.dropped![0]), filtered: sum(f.filtered![0]),
      h2Packets: sum(f.h2_packets![0]), h2SkippedBytes: sum(f.h2_skipped![0]), h2Desyncs: sum(f.h2_desyncs![0]), h2Anchors: sum(f.h2_anchors![0]),
    };
  }

  /** Bytes waiting in the ring buffer (backlog). */
  pendingBytes(): number {
    return this.reader?.pending() ?? 0;
  }

  get closed(): boolean {
    return this.obj === 0;
  }

  /** Stops draining, detaches every link and unloads the object. Idempotent. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.reader) {
      this.drain(); // deliver what the kernel already produced
      this.reader.close();
      this.reader = undefined;
    }
    for (const link of this.links) this.lib.bpf_link__destroy([link]);
    this.links = [];
    if (this.obj) this.lib.bpf_object__close([this.obj]);
    this.obj = 0;
    this.statsFd = -1;
    this.h2MarksFd = -1;
    this.h2MarkCountsFd = -1;
    open.delete(this);
  }
}
