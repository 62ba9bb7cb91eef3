// Options shared by the OTLP exporters (otlp, otlphttp): the exporterhelper blocks plus the
// client settings the Collector's confighttp/configgrpc offer.
import { parseDuration } from '../duration.js';
import { type TlsSettings, tlsDefaults, validateTls } from '../tls.js';
import { type QueueSettings, queueDefaults, type RetrySettings, retryDefaults, validateHelperSettings } from './exporterhelper.js';

export interface OtlpClientConfig {
  endpoint: string;
  headers: Record<string, string>;
  compression: string;
  timeout: string;
  tls: TlsSettings;
  sending_queue: QueueSettings;
  retry_on_failure: RetrySettings;
}

export const otlpClientDefaults = (timeout: string): OtlpClientConfig => ({
  endpoint: '',
  headers: {},
  compression: 'gzip',
  timeout,
  tls: tlsDefaults(),
  sending_queue: queueDefaults(),
  retry_on_failure: retryDefaults(),
});

export const COMPRESSIONS = ['gzip', 'none', ''];

export function validateOtlpClient(cfg: OtlpClientConfig): void {
  if (!COMPRESSIONS.includes(cfg.compression)) throw new Error(`compression: "${cfg.compression}" is not supported (use gzip or none)`);
  for (const [k, v] of Object.entries(cfg.headers)) {
    if (typeof v !== 'string') throw new Error(`headers::${k}: value must be a string`);
  }
  validateTls(cfg.tls, 'tls');
  parseDuration(cfg.timeout, 'timeout');
  validateHelperSettings(cfg);
}
