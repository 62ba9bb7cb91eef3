// The `otlphttp` exporter (alias `otlp_http`): OTLP over HTTP (protobuf or JSON, gzip), behind
// the exporterhelper. Retries only 429/502/503/504 and honours Retry-After; other statuses are
// permanent. Error bodies (google.rpc.Status) are decoded into the error message.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { CreateSettings, Host } from '../../component.js';
import type { ConsumeContext } from '../../consumer.js';
import type { OtlpClientConfig } from '../../internal/exporterhelper/config.js';
import { ExportError, isRetryableHttpStatus, parseRetryAfter } from '../../internal/exporterhelper/errors.js';
import { ExporterHelper } from '../../internal/exporterhelper/exporterhelper.js';
import { readTlsFiles } from '../../internal/tls.js';
import type { Signal, SignalData } from '../../pdata/model.js';
import { decodeResponse, decodeStatus, encodeRequestAsync, OTLP_HTTP_PATHS, type PartialSuccess } from '../../pdata/otlp.js';

const gzipAsync = promisify(gzip);

/**
 * gzip level 1 (BestSpeed) unless `compression_params.level` says otherwise. The Collector's
 * default is zlib's 6; on OTLP spans level 6 costs about 4× the CPU of level 1 for a body only
 * ~12% smaller (docs/collector.md, Benchmark), and an agent on every node pays that CPU.
 */
export const GZIP_DEFAULT_LEVEL = 1;

export type OtlpHttpExporterConfig = OtlpClientConfig & {
  traces_endpoint: string;
  metrics_endpoint: string;
  logs_endpoint: string;
  encoding: 'proto' | 'json';
  compression_params: { level: number };
  // Accepted for compatibility with Collector configs; node's HTTP agent manages these itself.
  read_buffer_size: number | null;
  write_buffer_size: number | null;
  max_idle_conns: number | null;
  max_idle_conns_per_host: number | null;
  max_conns_per_host: number | null;
  idle_conn_timeout: string | null;
  proxy_url: string | null;
  auth: unknown;
};

/** The URL for one signal: `<signal>_endpoint` if set, else `endpoint` + `/v1/<signal>`. */
export function signalUrl(cfg: OtlpHttpExporterConfig, signal: Signal): string {
  const specific = cfg[`${signal}_endpoint` as const];
  if (specific) return specific;
  return cfg.endpoint.replace(/\/+$/, '') + OTLP_HTTP_PATHS[signal];
}

function readAll(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

export class OtlpHttpExporter<S extends Signal> {
  private readonly helper: ExporterHelper<S>;
  private readonly url: URL;
  private agent?: HttpAgent;

  constructor(private readonly signal: S, private readonly settings: CreateSettings, private readonly cfg: OtlpHttpExporterConfig) {
    this.url = new URL(signalUrl(cfg, signal));
    this.helper = new ExporterHelper(signal, settings, cfg, (data, abort) => this.send(data, abort));
  }

  consume(data: SignalData[S], ctx?: ConsumeContext): Promise<void> {
    return this.helper.consume(data, ctx);
  }

  async start(host: Host): Promise<void> {
    if (this.url.protocol === 'https:') {
      const { ca, cert, key } = readTlsFiles(this.cfg.tls, `exporters::${this.settings.id}`);
      this.agent = new HttpsAgent({ keepAlive: true, ca, cert, key, rejectUnauthorized: !this.cfg.tls.insecure_skip_verify, servername: this.cfg.tls.server_name_override || undefined });
    } else {
      this.agent = new HttpAgent({ keepAlive: true });
    }
    this.helper.start(host);
  }

  private async send(data: SignalData[S], abort: AbortSignal): Promise<PartialSuccess | void> {
    // Encoded per attempt into a buffer of this attempt's own (never reused while it is in flight).
    let body = await encodeRequestAsync(this.signal, data, this.cfg.encoding);
    const contentType = this.cfg.encoding === 'json' ? 'application/json' : 'application/x-protobuf';
    const headers: Record<string, string> = { ...this.cfg.headers, 'content-type': contentType, 'user-agent': 'sonde-otlphttp' };
    if (this.cfg.compression === 'gzip') {
      body = await gzipAsync(body, { level: this.cfg.compression_params.level });
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = String(body.length);
    const request = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(this.url, { method: 'POST', headers, agent: this.agent, signal: abort }, resolve);
      req.on('error', (err) => reject(new ExportError(`failed to make an HTTP request to ${this.url}: ${err.message}`, true, undefined, { cause: err })));
      req.end(body);
    });
    let respBody: Buffer;
    try {
      respBody = await readAll(res);
    } catch (err) {
      throw new ExportError(`failed to read the response from ${this.url}: ${(err as Error).message}`, true);
    }
    const status = res.statusCode ?? 0;
    const respType = (res.headers['content-type'] ?? '').split(';')[0]!.trim();
    const respEncoding = respType === 'application/json' ? 'json' : 'proto';
    if (status >= 200 && status < 300) {
      if (respBody.length === 0) return undefined;
      try {
        return decodeResponse(this.signal, respBody, respEncoding);
      } catch {
        return undefined; // the data was accepted; an unreadable success body is not worth a retry
      }
    }
    let detail = '';
    if (respBody.length) {
      try {
        detail = decodeStatus(respBody, respEncoding).message;
      } catch {
        detail = respBody.subarray(0, 200).toString('utf8');
      }
    }
    const retryable = isRetryableHttpStatus(status);
    const throttle = retryable ? parseRetryAfter(res.headers['retry-after']) : undefined;
    throw new ExportError(`error exporting items, request to ${this.url} responded with HTTP Status Code ${status}${detail ? `, Message=${detail}` : ''}`, retryable, throttle);
  }

  async shutdown(deadline?: AbortSignal): Promise<void> {
    await this.helper.shutdown(deadline);
    this.agent?.destroy();
  }
}
