// Config of the `otlp` receiver (alias `otlp_grpc`), with the Collector's option names and defaults.
import { parseEndpoint } from '../../internal/endpoint.js';
import { type TlsSettings, tlsDefaults, validateTls } from '../../internal/tls.js';

export interface GrpcServerConfig {
  endpoint: string;
  transport: string;
  max_recv_msg_size_mib: number;
  max_concurrent_streams: number;
  include_metadata: boolean;
  tls: TlsSettings | null;
  // Accepted for compatibility with Collector configs; grpc-js manages these itself.
  read_buffer_size: number | null;
  write_buffer_size: number | null;
  keepalive: unknown;
  auth: unknown;
}

export interface HttpServerConfig {
  endpoint: string;
  include_metadata: boolean;
  max_request_body_size: number;
  traces_url_path: string;
  metrics_url_path: string;
  logs_url_path: string;
  cors: { allowed_origins: string[]; allowed_headers: string[]; max_age: number } | null;
  tls: TlsSettings | null;
  response_headers: Record<string, string> | null;
  compression_algorithms: string[] | null;
  auth: unknown;
}

export interface OtlpReceiverConfig {
  /** A protocol is enabled only when it is listed (its value may be empty: `grpc:`). */
  protocols: { grpc: GrpcServerConfig | null; http: HttpServerConfig | null };
}

export const grpcDefaults = (): GrpcServerConfig => ({
  endpoint: 'localhost:4317',
  transport: 'tcp',
  max_recv_msg_size_mib: 4,
  max_concurrent_streams: 0,
  include_metadata: false,
  tls: tlsDefaults(),
  read_buffer_size: null,
  write_buffer_size: null,
  keepalive: null,
  auth: null,
});

export const httpDefaults = (): HttpServerConfig => ({
  endpoint: 'localhost:4318',
  include_metadata: false,
  max_request_body_size: 20 * 1024 * 1024,
  traces_url_path: '/v1/traces',
  metrics_url_path: '/v1/metrics',
  logs_url_path: '/v1/logs',
  cors: { allowed_origins: [], allowed_headers: [], max_age: 0 },
  tls: tlsDefaults(),
  response_headers: null,
  compression_algorithms: null,
  auth: null,
});

export function createDefaultConfig(): OtlpReceiverConfig {
  return { protocols: { grpc: grpcDefaults(), http: httpDefaults() } };
}

/** Only the protocols the user listed stay enabled, as in the Collector. */
export function unmarshal(merged: OtlpReceiverConfig, user: Record<string, unknown>): OtlpReceiverConfig {
  const protocols = (user.protocols ?? {}) as Record<string, unknown>;
  return {
    protocols: {
      grpc: 'grpc' in protocols ? merged.protocols.grpc : null,
      http: 'http' in protocols ? merged.protocols.http : null,
    },
  };
}

export function validate(cfg: OtlpReceiverConfig): void {
  const { grpc, http } = cfg.protocols;
  if (!grpc && !http) throw new Error('must specify at least one protocol when using the OTLP receiver');
  if (grpc) {
    parseEndpoint(grpc.endpoint, 'protocols::grpc::endpoint');
    if (grpc.transport !== 'tcp') throw new Error(`protocols::grpc::transport: only "tcp" is supported, got "${grpc.transport}"`);
    if (!(grpc.max_recv_msg_size_mib > 0)) throw new Error('protocols::grpc::max_recv_msg_size_mib must be > 0');
    if (grpc.tls) validateTls(grpc.tls, 'protocols::grpc');
  }
  if (http) {
    parseEndpoint(http.endpoint, 'protocols::http::endpoint');
    if (!(http.max_request_body_size > 0)) throw new Error('protocols::http::max_request_body_size must be > 0');
    for (const k of ['traces_url_path', 'metrics_url_path', 'logs_url_path'] as const) {
      if (!http[k].startsWith('/')) throw new Error(`protocols::http::${k} must start with "/", got "${http[k]}"`);
    }
    if (http.tls) validateTls(http.tls, 'protocols::http');
  }
}
