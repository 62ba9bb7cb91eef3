// What this host offers for capture: privileges, kernel BTF, tracefs, cgroup v2. Used by the probe
// loader (to fail early with a remedy) and by `sonde doctor`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { BpfError } from './errors.js';

export const TRACEFS = '/sys/kernel/tracing';
export const BTF_PATH = '/sys/kernel/btf/vmlinux';

const CAP = { NET_ADMIN: 12, SYS_ADMIN: 21, PERFMON: 38, BPF: 39 } as const;

function effectiveCaps(): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

const hasCap = (caps: bigint, bit: number) => (caps >> BigInt(bit)) & 1n ? true : false;

/** undefined when this process may load and attach Sonde's probes, otherwise why not. */
export function privilegeProblem(): string | undefined {
  const caps = effectiveCaps();
  const sys = hasCap(caps, CAP.SYS_ADMIN);
  const missing: string[] = [];
  if (!sys && !hasCap(caps, CAP.BPF)) missing.push('CAP_BPF');
  if (!sys && !hasCap(caps, CAP.PERFMON)) missing.push('CAP_PERFMON');
  if (!sys && !hasCap(caps, CAP.NET_ADMIN)) missing.push('CAP_NET_ADMIN');
  if (missing.length === 0) return undefined;
  return `uid ${process.getuid?.()} lacks ${missing.join(', ')}`;
}

export const PRIVILEGE_REMEDY =
  'run as root (sudo npx sonde …), or grant the capabilities: setcap cap_bpf,cap_perfmon,cap_net_admin+ep $(readlink -f $(which node)); in Kubernetes set securityContext.privileged or add those capabilities';

export function btfProblem(): string | undefined {
  return existsSync(BTF_PATH) ? undefined : `no kernel BTF at ${BTF_PATH}`;
}

export const BTF_REMEDY = 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y (default on Debian ≥ 11, Ubuntu ≥ 20.10, RHEL ≥ 8.2)';

/** Mount points of a filesystem type, from /proc/mounts. */
function mountsOf(type: string): string[] {
  return readFileSync('/proc/mounts', 'utf8').split('\n')
    .map((line) => line.split(' '))
    .filter(([, mountPoint, fsType]) => fsType === type && mountPoint)
    .map(([, mountPoint]) => mountPoint!.replace(/\\040/g, ' '));
}

/** The first cgroup v2 mount in /proc/mounts (e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified). */
export function cgroup2Root(): string | undefined {
  return mountsOf('cgroup2')[0];
}

export const CGROUP2_REMEDY =
  'mount the cgroup v2 hierarchy: mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 none /sys/fs/cgroup/unified (or boot with systemd.unified_cgroup_hierarchy=1)';

/** From /proc/mounts: the tracefs directory itself is readable by root only. */
export function tracefsMounted(): boolean {
  return mountsOf('tracefs').includes(TRACEFS);
}

/**
 * Makes sure tracefs is mounted (libbpf needs it to attach tracepoints). Mounts it when missing and
 * reports that it did through `log`. Throws a BpfError with a remedy when it cannot.
 */
export function ensureTracefs(log: (msg: string) => void = () => {}): void {
  if (tracefsMounted()) return;
  const r = spawnSync('mount', ['-t', 'tracefs', 'tracefs', TRACEFS], { encoding: 'utf8' });
  if (r.status === 0 && tracefsMounted()) {
    log(`tracefs was not mounted: mounted it at ${TRACEFS} (mount -t tracefs tracefs ${TRACEFS})`);
    return;
  }
  const why = r.error ? r.error.message : (r.stderr || `exit ${r.status}`).trim();
  throw new BpfError(`tracefs is not mounted at ${TRACEFS} and mounting it failed: ${why}`,
    `mount it: mount -t tracefs tracefs ${TRACEFS} (needs root / CAP_SYS_ADMIN)`);
}
