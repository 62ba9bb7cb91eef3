// The `otlp` exporter (alias `otlp_grpc`): OTLP over gRPC with grpc-js, messages encoded by our
// codec, behind the exporterhelper (queue, retry, timeout). gRPC status codes are classified by
// the OTLP spec; RESOURCE_EXHAUSTED is retried only when the server sent RetryInfo, whose delay
// is honoured.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { CreateSettings, Host } from '../../component.js';
import type { ConsumeContext } from '../../consumer.js';
import type { OtlpClientConfig } from '../../internal/exporterhelper/config.js';
import { ExportError, isRetryableGrpcCode } from '../../internal/exporterhelper/errors.js';
import { ExporterHelper } from '../../internal/exporterhelper/exporterhelper.js';
import { readTlsFiles } from '../../internal/tls.js';
import type { Signal, SignalData } from '../../pdata/model.js';
import { decodeResponse, encodeRequestAsync, OTLP_GRPC_SERVICES, type PartialSuccess } from '../../pdata/otlp.js';

export type OtlpGrpcExporterConfig = OtlpClientConfig & { balancer_name: string; authority: string; keepalive: unknown; auth: unknown };

/** `host:port`, `http://host:port` (plaintext) or `https://host:port` (TLS) → grpc target and security. */
export function grpcTarget(endpoint: string, insecure: boolean): { target: string; secure: boolean } {
  const m = /^(https?):\/\/(.*?)\/?$/.exec(endpoint);
  if (m) return { target: m[2]!, secure: m[1] === 'https' };
  return { target: endpoint, secure: !insecure };
}

/** Delay from a google.rpc.RetryInfo in the grpc-status-details-bin trailer, if any. */
function retryInfoDelayMs(md: grpc.Metadata | undefined): number | undefined {
  const bin = md?.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(bin)) return undefined;
  try {
    const status = decodeRawStatusDetails(bin);
    const info = status.find((d) => d.typeUrl.endsWith('google.rpc.RetryInfo'));
    if (!info) return undefined;
    // RetryInfo { Duration retry_delay = 1 } ; Duration { int64 seconds = 1; int32 nanos = 2 }
    const r = protobuf.Reader.create(info.value);
    let ms = 0;
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag >>> 3 !== 1) { r.skipType(tag & 7); continue; }
      const d = protobuf.Reader.create(r.bytes());
      while (d.pos < d.len) {
        const t = d.uint32();
        if (t >>> 3 === 1) ms += Number(d.int64().toString()) * 1000;
        else if (t >>> 3 === 2) ms += d.int32() / 1e6;
        else d.skipType(t & 7);
      }
    }
    return ms;
  } catch {
    return undefined;
  }
}

function decodeRawStatusDetails(bin: Buffer): Array<{ typeUrl: string; value: Uint8Array }> {
  const r = protobuf.Reader.create(bin);
  const out: Array<{ typeUrl: string; value: Uint8Array }> = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 !== 3) { r.skipType(tag & 7); continue; }
    const a = protobuf.Reader.create(r.bytes());
    let typeUrl = '';
    let value: Uint8Array = new Uint8Array(0);
    while (a.pos < a.len) {
      const t = a.uint32();
      if (t >>> 3 === 1) typeUrl = a.string();
      else if (t >>> 3 === 2) value = a.bytes();
      else a.skipType(t & 7);
    }
    out.push({ typeUrl, value });
  }
  return out;
}

export class OtlpGrpcExporter<S extends Signal> {
  private client?: grpc.Client;
  private readonly helper: ExporterHelper<S>;
  private readonly metadata = new grpc.Metadata();

  constructor(private readonly signal: S, private readonly settings: CreateSettings, private readonly cfg: OtlpGrpcExporterConfig) {
    for (const [k, v] of Object.entries(cfg.headers)) this.metadata.set(k.toLowerCase(), String(v));
    this.helper = new ExporterHelper(signal, settings, cfg, (data, abort) => this.send(data, abort));
  }

  consume(data: SignalData[S], ctx?: ConsumeContext): Promise<void> {
    return this.helper.consume(data, ctx);
  }

  async start(host: Host): Promise<void> {
    const { target, secure } = grpcTarget(this.cfg.endpoint, this.cfg.tls.insecure);
    let creds: grpc.ChannelCredentials;
    if (secure) {
      const m = readTlsFiles(this.cfg.tls, `exporters::${this.settings.id}`);
      creds = grpc.credentials.createSsl(m.ca ?? null, m.key ?? null, m.cert ?? null,
        this.cfg.tls.insecure_skip_verify ? { checkServerIdentity: () => undefined } : undefined);
    } else {
      creds = grpc.credentials.createInsecure();
    }
    const options: grpc.ChannelOptions = {
      'grpc.default_compression_algorithm': this.cfg.compression === 'gzip' ? 2 : 0,
      ...(this.cfg.tls.server_name_override ? { 'grpc.ssl_target_name_override': this.cfg.tls.server_name_override } : {}),
      ...(this.cfg.authority ? { 'grpc.default_authority': this.cfg.authority } : {}),
    };
    this.client = new grpc.Client(target, creds, options);
    this.helper.start(host);
  }

  private async send(data: SignalData[S], abort: AbortSignal): Promise<PartialSuccess | void> {
    // Encoded per attempt into a buffer of this attempt's own (never reused while it is in flight).
    const body = await encodeRequestAsync(this.signal, data, 'proto');
    // The attempt's timeout (or shutdown) may have fired while encoding yielded.
    if (abort.aborted) throw new ExportError(`export to ${OTLP_GRPC_SERVICES[this.signal]} aborted (timeout or shutdown) before the request was sent`, true);
    const client = this.client!;
    return new Promise((resolve, reject) => {
      const call = client.makeUnaryRequest<Buffer, Buffer>(
        `/${OTLP_GRPC_SERVICES[this.signal]}/Export`,
        (b) => b,
        (b) => b,
        body,
        this.metadata.clone(),
        {},
        (err, resp) => {
          abort.removeEventListener('abort', onAbort);
          if (err) {
            const delay = retryInfoDelayMs(err.metadata);
            const retryable = isRetryableGrpcCode(err.code, delay !== undefined);
            reject(new ExportError(`rpc error: code = ${grpc.status[err.code] ?? err.code} desc = ${err.details}`, retryable, delay));
            return;
          }
          try {
            resolve(decodeResponse(this.signal, resp ?? Buffer.alloc(0), 'proto'));
          } catch (e) {
            reject(new ExportError((e as Error).message, false));
          }
        },
      );
      const onAbort = () => call.cancel();
      abort.addEventListener('abort', onAbort, { once: true });
    });
  }

  async shutdown(deadline?: AbortSignal): Promise<void> {
    await this.helper.shutdown(deadline);
    this.client?.close();
  }
}
