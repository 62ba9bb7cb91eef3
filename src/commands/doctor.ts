// `sonde doctor [--json]`: what this host supports for capture, each probe loaded and attached for
// real, and a remedy for every failure. Exit code 0 only when capture can work.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BpfError, CaptureProbes, cgroup2Root, ensureTracefs, listLoadedPrograms } from '../ebpf/index.js';
import { BTF_PATH, BTF_REMEDY, CGROUP2_REMEDY, PRIVILEGE_REMEDY, TRACEFS, btfProblem, privilegeProblem } from '../ebpf/host.js';
import { getLibbpf, getNativeRingbuf } from '../ebpf/libbpf.js';
import { bpfObjectPath } from '../ebpf/paths.js';

interface Check {
  check: string;
  ok: boolean;
  detail: string;
  remedy?: string;
}

const HELP = `usage: sonde doctor [--json]

Checks privileges, kernel BTF, tracefs, cgroup v2, libbpf, the native ring-buffer consumer and the
probes (each loaded and attached for a moment, then released). Exit code 0 only when capture can work.`;

function attempt(check: string, fn: () => string, remedy: string): Check {
  try {
    return { check, ok: true, detail: fn() };
  } catch (err) {
    const e = err as Error;
    return { check, ok: false, detail: e instanceof BpfError ? e.message.split('\n')[0]! : e.message, remedy: e instanceof BpfError ? e.remedy : remedy };
  }
}

function runChecks(): Check[] {
  const checks: Check[] = [];
  const priv = privilegeProblem();
  checks.push(priv
    ? { check: 'privileges', ok: false, detail: priv, remedy: PRIVILEGE_REMEDY }
    : { check: 'privileges', ok: true, detail: process.getuid?.() === 0 ? 'root' : 'CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN' });
  const btf = btfProblem();
  checks.push(btf ? { check: 'kernel BTF', ok: false, detail: btf, remedy: BTF_REMEDY } : { check: 'kernel BTF', ok: true, detail: BTF_PATH });
  const cg = cgroup2Root();
  checks.push(cg ? { check: 'cgroup v2', ok: true, detail: cg } : { check: 'cgroup v2', ok: false, detail: 'no cgroup2 mount in /proc/mounts', remedy: CGROUP2_REMEDY });
  const notes: string[] = [];
  checks.push(attempt('tracefs', () => {
    ensureTracefs((m) => notes.push(m));
    return notes.length ? `mounted it now at ${TRACEFS}` : TRACEFS;
  }, `mount -t tracefs tracefs ${TRACEFS}`));
  checks.push(attempt('libbpf.so.1', () => {
    getLibbpf();
    return 'loaded';
  }, 'apt-get install libbpf1'));
  checks.push(attempt('native ring-buffer consumer', () => {
    getNativeRingbuf();
    return 'loaded';
  }, 'npm run build (needs gcc)'));
  const obj = bpfObjectPath('capture');
  checks.push(existsSync(obj) ? { check: 'BPF object', ok: true, detail: obj } : { check: 'BPF object', ok: false, detail: `${obj} missing`, remedy: 'reinstall, or rebuild with make -C bpf (needs clang, libbpf-dev)' });
  if (!checks.every((c) => c.ok)) {
    checks.push({ check: 'probes', ok: false, detail: 'not tried: fix the failures above first' });
    return checks;
  }
  let probes: CaptureProbes | undefined;
  try {
    probes = CaptureProbes.open({ drainIntervalMs: 1000 });
    const loaded = new Set(listLoadedPrograms().map((p) => p.id));
    for (const p of probes.programs) {
      const inKernel = loaded.has(p.id);
      checks.push({
        check: `probe ${p.section}`,
        ok: inKernel,
        detail: inKernel ? `loaded and attached (${p.name}, prog id ${p.id})` : `attached but prog id ${p.id} is not listed by the kernel`,
        remedy: inKernel ? undefined : 'report this with `uname -r`',
      });
    }
    // Optional probes the kernel lacks: capture works, with less.
    for (const m of probes.missing) {
      checks.push({ check: `probe ${m.section}`, ok: true, detail: `not on this kernel (no ${m.tracepoint} tracepoint; ${m.since} has it): without it, no ${m.loses}` });
    }
  } catch (err) {
    const e = err as Error;
    checks.push({ check: 'probes', ok: false, detail: e.message, remedy: e instanceof BpfError ? e.remedy : undefined });
  } finally {
    probes?.close();
  }
  return checks;
}

export async function main(argv: string[]): Promise<number> {
  let json = false;
  try {
    const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    json = values.json ?? false;
  } catch (err) {
    console.error(`sonde doctor: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const checks = runChecks();
  const ok = checks.every((c) => c.ok);
  if (json) {
    console.log(JSON.stringify({ ok, checks }));
  } else {
    const width = Math.max(...checks.map((c) => c.check.length));
    for (const c of checks) {
      console.log(`${c.ok ? ' ok ' : 'FAIL'}  ${c.check.padEnd(width)}  ${c.detail}`);
      if (!c.ok && c.remedy) console.log(`      ${''.padEnd(width)}  fix: ${c.remedy}`);
    }
    console.log(ok ? '\ncapture can work on this host' : '\ncapture cannot work on this host until the failures above are fixed');
  }
  return ok ? 0 : 1;
}
