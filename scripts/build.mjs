// Builds everything a fresh clone needs: the TypeScript (tsc → dist/) and the native ring-buffer
// consumer (gcc, no -dev packages needed). Run by `npm install` (prepare) and by `npm test`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args, what) => {
  try {
    execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
  } catch (err) {
    console.error(`sonde build: ${what} failed (${cmd} ${args.join(' ')}): ${err.message}`);
    process.exit(1);
  }
};

run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], 'TypeScript compile');

const src = join(root, 'native/ringbuf.c');
const out = join(root, 'dist/native/libsonde_ringbuf.so');
if (existsSync(src) && (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs)) {
  mkdirSync(dirname(out), { recursive: true });
  // Header-free build: the C file declares the few libc prototypes it uses, so no libc6-dev is needed.
  run('gcc', ['-O2', '-fPIC', '-shared', '-nostdinc', '-nostdlib', '-Wall', '-Werror', '-o', out, src, '-l:libc.so.6'],
    'native ring-buffer consumer build (needs gcc: apt-get install gcc)');
}
