// Failures say what failed and how to fix it.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BpfError, CaptureProbes, listLoadedPrograms } from '../../src/ebpf/index.js';
import { bpfOrSkip, toolOrSkip } from '../helpers/env.js';

test('invalid options are rejected before anything is loaded', (t) => {
  if (!bpfOrSkip(t)) return;
  assert.throws(() => CaptureProbes.open({ captureBytes: 0 }), (e: BpfError) => e instanceof BpfError && /captureBytes/.test(e.message) && /1 and 1024/.test(e.remedy));
  assert.throws(() => CaptureProbes.open({ ports: Array.from({ length: 17 }, (_, i) => i + 1) }), /at most 16 ports/);
  assert.throws(() => CaptureProbes.open({ ringBufferBytes: 5000 }), /power of two/);
  assert.throws(() => CaptureProbes.open({ cgroupPath: '/nonexistent/cgroup' }), /cgroup filter/);
});

test('a missing or corrupt object file names the file and the fix', (t) => {
  if (!bpfOrSkip(t)) return;
  assert.throws(() => CaptureProbes.open({ objectPath: '/nonexistent/capture.bpf.o' }),
    (e: BpfError) => /opening BPF object \/nonexistent\/capture.bpf.o failed/.test(e.message) && /make -C bpf/.test(e.remedy));
  const bogus = join(mkdtempSync(join(tmpdir(), 'sonde-bogus-')), 'capture.bpf.o');
  writeFileSync(bogus, 'not an ELF file');
  assert.throws(() => CaptureProbes.open({ objectPath: bogus }), /opening BPF object/);
});

test('attaching to something that is not a cgroup fails with a remedy and leaves nothing loaded', async (t) => {
  if (!bpfOrSkip(t)) return;
  const before = new Set(listLoadedPrograms().map((p) => p.id));
  assert.throws(() => CaptureProbes.open({ attachCgroup: tmpdir() }),
    (e: BpfError) => e instanceof BpfError && /attaching sonde_skb_in \(cgroup_skb\/ingress\)/.test(e.message) && /cgroup v2/.test(e.remedy));
  // The kernel frees programs after an RCU grace period: poll briefly.
  let leaked = [] as { id: number; name: string }[];
  for (let i = 0; i < 40; i++) {
    leaked = listLoadedPrograms().filter((p) => !before.has(p.id) && p.name.startsWith('sonde_'));
    if (leaked.length === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(leaked, [], 'programs loaded by the failed open() were released');
});

test('a verifier rejection carries the relevant verifier log lines', async (t) => {
  if (!bpfOrSkip(t) || !toolOrSkip(t, 'clang', 'apt-get install clang llvm libbpf-dev') || !toolOrSkip(t, 'make')) return;
  const { spawnSync } = await import('node:child_process');
  const { repoRoot } = await import('../../src/ebpf/paths.js');
  const out = mkdtempSync(join(tmpdir(), 'sonde-reject-'));
  const r = spawnSync('make', ['-s', '-C', join(repoRoot(), 'bpf'), `OUT=${out}`, 'EXTRA_CFLAGS=-DSONDE_TEST_VERIFIER_REJECT'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.throws(() => CaptureProbes.open({ objectPath: join(out, 'capture.bpf.o') }), (e: BpfError) => {
    assert.match(e.message, /the kernel verifier rejected sonde_skb_in/);
    assert.match(e.verifierLog ?? '', /\[sonde_skb_in\]/);
    assert.match(e.verifierLog ?? '', /variable ctx access|invalid bpf_context access|dereference of modified ctx/);
    return true;
  });
});

test('a load interrupted by a sampling profiler (SIGPROF) says so instead of blaming the verifier', async (t) => {
  if (!bpfOrSkip(t)) return;
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const probes = fileURLToPath(new URL('../../src/ebpf/index.js', import.meta.url));
  // SIGPROF every 100 µs: the capture programs take milliseconds to verify, so every libbpf attempt is interrupted.
  const script = `import(${JSON.stringify(probes)}).then(({ CaptureProbes }) => {
    try { CaptureProbes.open({ ports: [9] }).close(); console.log('loaded'); } catch (err) { console.log(JSON.stringify({ message: err.message, remedy: err.remedy })); }
  });`;
  const dir = mkdtempSync(join(tmpdir(), 'sonde-prof-'));
  const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', dir, '-e', script], { encoding: 'utf8', timeout: 60_000 });
  const out = r.stdout.trim().split('\n').pop() ?? '';
  assert.notEqual(out, 'loaded', 'the probes loaded despite SIGPROF every 100 µs: this test no longer exercises the interrupted load');
  const err = JSON.parse(out) as { message: string; remedy: string };
  assert.match(err.message, /interrupted by signals .*EAGAIN/);
  assert.match(err.remedy, /--cpu-prof/);
});
