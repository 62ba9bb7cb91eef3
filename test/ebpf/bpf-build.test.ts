// The committed bpf/*.bpf.o were built from the current sources: rebuild into a temp dir with the
// Makefile and compare bytes. Needs clang + llvm-strip + libbpf-dev (CI installs them).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../src/ebpf/paths.js';
import { toolOrSkip } from '../helpers/env.js';

test('committed BPF objects are byte-identical to a fresh build of bpf/', (t) => {
  if (!toolOrSkip(t, 'clang', 'apt-get install clang llvm libbpf-dev') || !toolOrSkip(t, 'llvm-strip', 'apt-get install llvm') || !toolOrSkip(t, 'make')) return;
  if (!existsSync('/usr/include/bpf/bpf_helpers.h')) {
    if (process.env.SONDE_REQUIRE_TOOLS === '1') assert.fail('libbpf-dev required (SONDE_REQUIRE_TOOLS=1): apt-get install libbpf-dev');
    t.skip('skip: libbpf-dev not installed (apt-get install libbpf-dev)');
    return;
  }
  const bpfDir = join(repoRoot(), 'bpf');
  const out = mkdtempSync(join(tmpdir(), 'sonde-bpf-'));
  const r = spawnSync('make', ['-s', '-C', bpfDir, `OUT=${out}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, `make -C bpf failed:\n${r.stdout}${r.stderr}`);
  const built = readdirSync(out).filter((f) => f.endsWith('.bpf.o'));
  assert.ok(built.length > 0, 'the Makefile built objects');
  for (const f of built) {
    const committed = join(bpfDir, f);
    assert.ok(existsSync(committed), `${f} is committed in bpf/`);
    assert.ok(readFileSync(committed).equals(readFileSync(join(out, f))),
      `bpf/${f} differs from a fresh build of its sources: run make -C bpf and commit the result`);
  }
});
