// Finds Sonde's package root so code that needs repository files (OTLP protos, BPF objects, the
// native library, package.json) works whether it runs from dist/ or dist-<tag>/: walk up from this
// module until a package.json appears. src/util/ holds dependency-free helpers (Node built-ins
// only, nothing else from src/) that any layer may import, src/ebpf included; this one reads the
// file system, so the pure src/protocols has no use for it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The nearest directory at or above this module that holds a package.json. */
export function packageRoot(): string {
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`sonde: cannot find the package root (no package.json above ${here})`);
  }
}
