// What the kernel has loaded, asked of the kernel itself (not our bookkeeping): used by tests to
// prove detach/exit leaves nothing behind, and by `sonde doctor`.
import { closeSync } from 'node:fs';
import { getLibbpf } from './libbpf.js';

export interface LoadedProgram {
  id: number;
  /** Kernel program name (up to 15 characters). */
  name: string;
  type: number;
  /** Cumulative run time and runs; counted only while /proc/sys/kernel/bpf_stats_enabled is 1. */
  runTimeNs: bigint;
  runCount: bigint;
  /** Instructions the verifier processed to accept the program (0 before Linux 5.16). */
  verifiedInsns: number;
}

/** Every BPF program loaded on the host (bpf_prog_get_next_id → fd → bpf_obj_get_info_by_fd). */
export function listLoadedPrograms(): LoadedProgram[] {
  const lib = getLibbpf();
  const next = Buffer.alloc(4);
  const info = Buffer.alloc(256);
  const len = Buffer.alloc(4);
  const out: LoadedProgram[] = [];
  for (let id = 0; lib.bpf_prog_get_next_id([id, next]) === 0;) {
    id = next.readUInt32LE(0);
    const fd = lib.bpf_prog_get_fd_by_id([id]) as number;
    if (fd < 0) continue; // unloaded meanwhile
    try {
      info.fill(0);
      len.writeUInt32LE(info.length);
      if (lib.bpf_obj_get_info_by_fd([fd, info, len]) !== 0) continue;
      // struct bpf_prog_info: type u32 @0, id u32 @4, name char[16] @64, run_time_ns u64 @192,
      // run_cnt u64 @200, verified_insns u32 @216 (older kernels leave the tail zero)
      const nameEnd = info.indexOf(0, 64);
      out.push({
        id: info.readUInt32LE(4), type: info.readUInt32LE(0), name: info.toString('utf8', 64, nameEnd < 0 || nameEnd > 80 ? 80 : nameEnd),
        runTimeNs: info.readBigUInt64LE(192), runCount: info.readBigUInt64LE(200), verifiedInsns: info.readUInt32LE(216),
      });
    } finally {
      closeSync(fd);
    }
  }
  return out;
}

/** Ids of every BPF link on the host. */
export function listLinkIds(): number[] {
  const lib = getLibbpf();
  const next = Buffer.alloc(4);
  const ids: number[] = [];
  for (let id = 0; lib.bpf_link_get_next_id([id, next]) === 0;) {
    id = next.readUInt32LE(0);
    ids.push(id);
  }
  return ids;
}
