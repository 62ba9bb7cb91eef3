// The Collector's `tls` settings block (configtls), shared by receivers and exporters.
import { readFileSync } from 'node:fs';

export interface TlsSettings {
  insecure: boolean;
  insecure_skip_verify: boolean;
  ca_file: string;
  cert_file: string;
  key_file: string;
  client_ca_file: string;
  server_name_override: string;
  min_version: string;
  max_version: string;
}

export const tlsDefaults = (): TlsSettings => ({
  insecure: false,
  insecure_skip_verify: false,
  ca_file: '',
  cert_file: '',
  key_file: '',
  client_ca_file: '',
  server_name_override: '',
  min_version: '',
  max_version: '',
});

export function validateTls(t: TlsSettings, what: string): void {
  if ((t.cert_file === '') !== (t.key_file === '')) throw new Error(`${what}: tls.cert_file and tls.key_file must be set together`);
}

export interface TlsMaterial { ca?: Buffer; cert?: Buffer; key?: Buffer }

/** Reads the PEM files a tls block names; errors say which file could not be read. */
export function readTlsFiles(t: TlsSettings, what: string, caKey: 'ca_file' | 'client_ca_file' = 'ca_file'): TlsMaterial {
  const read = (file: string, key: string) => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${what}: cannot read tls.${key} "${file}": ${(err as Error).message}`);
    }
  };
  return { ca: read(t[caKey], caKey), cert: read(t.cert_file, 'cert_file'), key: read(t.key_file, 'key_file') };
}
