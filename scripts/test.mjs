// `npm test`: build, then run every compiled test file with Node's test runner, one file at a time
// (probe tests attach to the host's root cgroup and must not overlap).
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });

const find = (dir) => readdirSync(dir).flatMap((name) => {
  const p = join(dir, name);
  return statSync(p).isDirectory() ? find(p) : p.endsWith('.test.js') ? [p] : [];
});
const filter = process.argv.slice(2);
const files = find(join(root, 'dist/test')).filter((f) => filter.length === 0 || filter.some((x) => f.includes(x))).sort();
const res = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=300000', ...files], { stdio: 'inherit', cwd: root });
process.exit(res.status ?? 1);
