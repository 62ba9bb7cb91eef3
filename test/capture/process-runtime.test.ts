// Runtime detection: Go programs by their ELF sections (their in-process links are inferred), Python by its executable.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ProcessRuntimes, isGoExecutable } from '../../src/capture/process-runtime.js';
import { toolOrSkip } from '../helpers/env.js';

test('a Go toolchain binary is Go; node, a script and a missing file are not', (t) => {
  assert.equal(isGoExecutable(process.execPath), false);
  const dir = mkdtempSync(join(tmpdir(), 'sonde-go-'));
  writeFileSync(join(dir, 'script'), '#!/bin/sh\necho .go.buildinfo\n');
  writeFileSync(join(dir, 'short'), '\x7fELF');
  for (const f of ['script', 'short', 'missing']) assert.equal(isGoExecutable(join(dir, f)), false, f);
  assert.equal(new ProcessRuntimes().of(process.pid), 'other', 'this node process');
  if (!toolOrSkip(t, 'go', 'apt-get install golang-go')) return;
  const goroot = spawnSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).stdout.trim();
  assert.equal(isGoExecutable(join(goroot, 'bin', 'gofmt')), true);
});

test('a python3 process is Python', async (t) => {
  if (!toolOrSkip(t, 'python3')) return;
  // Debian's interpreter itself: a version manager's python3 on PATH may be a shell script that execs it later.
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const child = spawn(python, ['-c', 'print("up", flush=True); import time; time.sleep(5)']);
  try {
    await once(child.stdout!, 'data');
    assert.equal(new ProcessRuntimes().of(child.pid!), 'python');
  } finally {
    child.kill();
  }
});
