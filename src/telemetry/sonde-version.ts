// Sonde's own version for `telemetry.sdk.version` and the instrumentation scope, read once from the
// package root's package.json (works from dist/ and dist-*/ alike).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';

let cached: string | undefined;

export function sondeVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    cached = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  }
  return cached;
}
