// isGoExecutable: Go programs are told apart by their ELF sections (their in-process links are inferred).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GoProcesses, isGoExecutable } from '../../src/capture/go-binary.js';
import { toolOrSkip } from '../helpers/env.js';

test('a Go toolchain binary is Go; node, a script and a missing file are not', (t) => {
  assert.equal(isGoExecutable(process.execPath), false);
  const dir = mkdtempSync(join(tmpdir(), 'sonde-go-'));
  writeFileSync(join(dir, 'script'), '#!/bin/sh\necho .go.buildinfo\n');
  writeFileSync(join(dir, 'short'), '\x7fELF');
  for (const f of ['script', 'short', 'missing']) assert.equal(isGoExecutable(join(dir, f)), false, f);
  assert.equal(new GoProcesses().has(process.pid), false, 'this node process');
  if (!toolOrSkip(t, 'go', 'apt-get install golang-go')) return;
  const goroot = spawnSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).stdout.trim();
  assert.equal(isGoExecutable(join(goroot, 'bin', 'gofmt')), true);
});
