// Sonde's own version for `telemetry.sdk.version` and the instrumentation scope, read once from the
// repository's package.json, found by walking up from this file (works from dist/ and dist-*/ alike).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest directory at or above `fromUrl` that holds a package.json. */
export function findRepoRoot(fromUrl: string): string {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json found in any directory above ${fileURLToPath(fromUrl)}`);
    dir = parent;
  }
}

let cached: string | undefined;

export function sondeVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(join(findRepoRoot(import.meta.url), 'package.json'), 'utf8')) as { version?: unknown };
    cached = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  }
  return cached;
}
