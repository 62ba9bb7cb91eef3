// Loads the OTLP .proto files shipped next to this module's sources (src/collector/pdata/proto/)
// into one protobufjs Root. The files are located from the repository root, found by walking up
// from this module until a package.json appears, so it works from dist/ and dist-<tag>/ alike.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export function findRepoRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the Sonde package root (no package.json above ${from})`);
    dir = up;
  }
}

export const PROTO_DIR = join(findRepoRoot(), 'src', 'collector', 'pdata', 'proto');

const FILES = [
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  'google/rpc/status.proto',
];

let root: protobuf.Root | undefined;

/** The OTLP v1 protobuf root (traces, metrics, logs, the collector services, google.rpc.Status). */
export function otlpRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  r.loadSync(FILES, { keepCase: false });
  r.resolveAll();
  root = r;
  return r;
}
