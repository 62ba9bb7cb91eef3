// Nothing of ours stays loaded: after close(), and after SIGKILL of a process holding the probes.
// Checked against the kernel's own lists of programs and links (bpf_prog_get_next_id /
// bpf_link_get_next_id), not against CaptureProbes' bookkeeping.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { CaptureProbes, listLinkIds, listLoadedPrograms } from '../../src/ebpf/index.js';
import { bpfOrSkip } from '../helpers/env.js';

/** Polls until none of `ids` is listed by `list` (the kernel frees programs after an RCU grace period). */
async function waitGone(what: string, ids: number[], list: () => number[]): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const live = new Set(list());
    const left = ids.filter((id) => live.has(id));
    if (left.length === 0) return;
    if (i === 99) assert.fail(`${what} still loaded: ${left.join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const progIds = () => listLoadedPrograms().map((p) => p.id);

test('close() detaches every link and unloads every program', async (t) => {
  if (!bpfOrSkip(t)) return;
  const probes = CaptureProbes.open();
  const progs = probes.programs.map((p) => p.id);
  const links = probes.programs.map((p) => p.linkId);
  assert.equal(progs.length, 6);
  const loaded = listLoadedPrograms();
  for (const p of probes.programs) assert.ok(loaded.some((l) => l.id === p.id && l.name === p.name), `${p.name} (id ${p.id}) is in the kernel`);
  assert.ok(links.every((id) => listLinkIds().includes(id)), 'links are in the kernel');
  probes.close();
  probes.close(); // idempotent
  await waitGone('links', links, listLinkIds);
  await waitGone('programs', progs, progIds);
});

test('SIGKILL of a process that loaded the probes leaves nothing loaded', async (t) => {
  if (!bpfOrSkip(t)) return;
  const { child, programs } = await probeChild('');
  assert.equal(programs.length, 6);
  const live = new Set(progIds());
  assert.ok(programs.every((p) => live.has(p.id)), 'the child loaded its programs');
  child.kill('SIGKILL');
  await once(child, 'exit');
  await waitGone('links of the killed process', programs.map((p) => p.linkId), listLinkIds);
  await waitGone('programs of the killed process', programs.map((p) => p.id), progIds);
});

/** Starts a child that opens the probes (plus `extra` code) and resolves once it printed its programs. */
async function probeChild(extra: string) {
  const ebpf = new URL('../../src/ebpf/index.js', import.meta.url).href;
  const script = `
    const { CaptureProbes } = await import(${JSON.stringify(ebpf)});
    const p = CaptureProbes.open();
    ${extra}
    console.log(JSON.stringify(p.programs));
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 200 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 25));
  const programs = JSON.parse(out.split('\n')[0]!) as { id: number; linkId: number }[];
  return { child, programs, output: () => out };
}

test('SIGTERM without an app handler: probes closed, then the default action ends the process', async (t) => {
  if (!bpfOrSkip(t)) return;
  const { child, programs } = await probeChild('');
  child.kill('SIGTERM');
  const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
  assert.equal(signal, 'SIGTERM', 'the signal is re-raised after closing');
  await waitGone('programs after SIGTERM', programs.map((p) => p.id), progIds);
});

test('SIGINT with an app handler: probes are already closed when the app handler runs', async (t) => {
  if (!bpfOrSkip(t)) return;
  const { child, output } = await probeChild(`process.on('SIGINT', () => { console.log('closed=' + p.closed); process.exit(0); });`);
  child.kill('SIGINT');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
  assert.match(output(), /closed=true/);
});
