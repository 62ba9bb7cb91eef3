// The `file` exporter: one OTLP export request per line as OTLP JSON (the Collector's default),
// or `format: proto` as length-prefixed protobuf (4-byte big-endian size, then the message).
// Each consume resolves once its bytes were handed to the OS, so a reader sees them afterwards.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Signal, SignalData } from '../../pdata/model.js';
import { encodeRequest } from '../../pdata/otlp.js';

export interface FileExporterConfig {
  path: string;
  append: boolean;
  format: 'json' | 'proto';
  // Accepted for compatibility with Collector configs; not implemented (validate rejects non-defaults).
  compression: string;
  rotation: unknown;
  flush_interval: string;
  group_by: unknown;
  encoding: unknown;
}

/** One open file per path, shared by the traces/metrics/logs instances of one exporter id. */
const openFiles = new Map<string, { stream: WriteStream; users: number }>();

export class FileExporter<S extends Signal> {
  private stream?: WriteStream;

  constructor(private readonly signal: S, private readonly cfg: FileExporterConfig) {}

  async start(): Promise<void> {
    let entry = openFiles.get(this.cfg.path);
    if (!entry) {
      mkdirSync(dirname(this.cfg.path), { recursive: true });
      const stream = createWriteStream(this.cfg.path, { flags: this.cfg.append ? 'a' : 'w' });
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', (err) => reject(new Error(`file exporter: cannot open "${this.cfg.path}" for writing: ${err.message}`)));
      });
      entry = { stream, users: 0 };
      openFiles.set(this.cfg.path, entry);
    }
    entry.users++;
    this.stream = entry.stream;
  }

  consume(data: SignalData[S]): Promise<void> {
    const stream = this.stream;
    if (!stream) return Promise.reject(new Error(`file exporter for "${this.cfg.path}" is not started`));
    let chunk: Buffer;
    if (this.cfg.format === 'proto') {
      const msg = encodeRequest(this.signal, data, 'proto');
      chunk = Buffer.allocUnsafe(4 + msg.length);
      chunk.writeUInt32BE(msg.length, 0);
      chunk.set(msg, 4);
    } else {
      chunk = Buffer.from(`${encodeRequest(this.signal, data, 'json')}\n`);
    }
    return new Promise((resolve, reject) => {
      stream.write(chunk, (err) => (err ? reject(new Error(`file exporter: cannot write to "${this.cfg.path}": ${err.message}`)) : resolve()));
    });
  }

  async shutdown(): Promise<void> {
    if (!this.stream) return;
    this.stream = undefined;
    const entry = openFiles.get(this.cfg.path);
    if (!entry || --entry.users > 0) return;
    openFiles.delete(this.cfg.path);
    await new Promise<void>((resolve) => entry.stream.end(() => resolve()));
  }
}
