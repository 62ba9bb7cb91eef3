// Locates repository files (BPF objects, the native library) from the running JS, whether it runs
// from dist/ or dist-<tag>/, relative to the package root.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot as repoRoot } from '../util/package-root.js';

// The ebpf tests and benches import the root from here.
export { repoRoot };

const here = dirname(fileURLToPath(import.meta.url));

/** The committed CO-RE object for a probe set, e.g. bpfObjectPath('capture') → <root>/bpf/capture.bpf.o. */
export function bpfObjectPath(name: string): string {
  return join(repoRoot(), 'bpf', `${name}.bpf.o`);
}

export const NATIVE_LIB_NAME = 'libsonde_ringbuf.so';

/** Where the native ring-buffer consumer may be: <root>/dist/native (scripts/build.mjs) or next to the built JS. */
export function nativeLibCandidates(): string[] {
  // here = <out>/src/ebpf, so <out>/native sits two levels up.
  return [join(repoRoot(), 'dist', 'native', NATIVE_LIB_NAME), join(here, '..', '..', 'native', NATIVE_LIB_NAME)];
}

export function findNativeLib(): string | undefined {
  return nativeLibCandidates().find((p) => existsSync(p));
}
