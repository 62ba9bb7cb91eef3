// Loads the OTLP .proto files shipped next to this module's sources (src/collector/pdata/proto/)
// into one protobufjs Root. The files are located from the package root, so it works from dist/
// and dist-<tag>/ alike.
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { packageRoot } from '../../../util/package-root.js';

export const PROTO_DIR = join(packageRoot(), 'src', 'collector', 'pdata', 'proto');

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
