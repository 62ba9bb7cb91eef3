// Tests that need root/BPF or an optional tool skip with a one-line reason on a laptop, and FAIL in
// CI, where SONDE_REQUIRE_BPF=1 / SONDE_REQUIRE_TOOLS=1 say that the capability must be there.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';

const required = (v: string | undefined) => v === '1' || v === 'true';

/** Why this host cannot run BPF tests, or undefined when it can. */
export function bpfUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (BPF tests need root or CAP_BPF+CAP_PERFMON+CAP_NET_ADMIN)';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'no kernel BTF at /sys/kernel/btf/vmlinux';
  return undefined;
}

/** Skips (or, when SONDE_REQUIRE_BPF=1, fails) the test when BPF cannot run here. Returns true when it can. */
export function bpfOrSkip(t: TestContext): boolean {
  const reason = bpfUnavailableReason();
  if (!reason) return true;
  if (required(process.env.SONDE_REQUIRE_BPF)) throw new Error(`BPF required (SONDE_REQUIRE_BPF=1) but unavailable: ${reason}`);
  t.skip(`skip: no BPF: ${reason}`);
  return false;
}

/** Skips (or, when SONDE_REQUIRE_TOOLS=1, fails) the test when an executable is not on PATH. */
export function toolOrSkip(t: TestContext, tool: string, hint = `apt-get install ${tool}`): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).status === 0;
  if (found) return true;
  if (required(process.env.SONDE_REQUIRE_TOOLS)) throw new Error(`${tool} required (SONDE_REQUIRE_TOOLS=1) but not on PATH: ${hint}`);
  t.skip(`skip: ${tool} not installed (${hint})`);
  return false;
}
