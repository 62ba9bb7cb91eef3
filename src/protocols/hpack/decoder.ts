// HPACK (RFC 7541) decoder for one direction of one connection.
//
// Synchronised mode is plain RFC 7541. Desynchronised mode exists because the agent may join a
// connection mid-stream, or lose a header block in a capture hole: the peer's dynamic table then
// holds entries we never saw. The rule (see docs/http2-parser.md):
//
//   A dynamic table is always the most recent insertions, newest first. So after losing sync we
//   model the table as K entries we saw inserted (newest first) followed by an UNKNOWN tail.
//   Dynamic index 62 + j resolves iff j < K (it is exactly our j-th newest insertion, whatever the
//   peer's real table size is: if that entry had been evicted the peer could not reference it);
//   any other dynamic index yields `undefined` (counted), never a guess.
//   Losing another header block resets K to 0 (its insertions are unknown and shift every index).
//   We return to synchronised mode when the unknown tail must be empty: a dynamic table size
//   update to 0 is seen, or a size update to M is seen and our entries (lower-bound sizes) plus one
//   minimal 32-byte entry exceed M.
//
// Static-table references and literals always decode, so `:method`, `:scheme`, `:status` and
// literal `:path` values come through even when desynchronised.

import { decodeText } from '../bytes.js';
import { decodeHuffman, huffmanDecodedMaxLength } from './huffman.js';
import { STATIC_TABLE, STATIC_TABLE_LENGTH } from './static-table.js';

export const DEFAULT_HEADER_TABLE_SIZE = 4096;
const ENTRY_OVERHEAD = 32;
/** Longest header string we decode; larger ones are skipped (value unknown) to bound memory. */
const MAX_STRING_LENGTH = 64 * 1024;

interface DynamicEntry {
  /** undefined when the name came from an unknown dynamic entry. */
  name: string | undefined;
  value: string | undefined;
  /** Octets of the name (a lower bound when unknown). */
  nameBytes: number;
  /** RFC 7541 4.1 size: octets + 32; a lower bound when name or value is unknown. */
  size: number;
}

export interface DecodedHeaderBlock {
  /** Fields whose name and value are both known, in order. */
  fields: Array<[name: string, value: string]>;
  /** Fields that referenced unknown dynamic entries (desynchronised) or had oversized strings. */
  unresolved: number;
  /** The block was malformed (bad integer, index, Huffman or truncation); fields decoded so far are kept. */
  error?: string;
}

export interface HpackDecoderStats {
  blocks: number;
  fields: number;
  unresolvedFields: number;
  errors: number;
  desyncs: number;
  resyncs: number;
  tableSizeUpdates: number;
  evictions: number;
}

class HpackBlockError extends Error {}

export class HpackDecoder {
  /** Newest first. */
  private entries: DynamicEntry[] = [];
  private size = 0;
  private maxSize: number;
  /** The largest size the peer may use: our side's SETTINGS_HEADER_TABLE_SIZE. */
  private settingsMaxSize: number;
  private synchronised: boolean;
  /** Whether maxSize is the peer's real current maximum (always true when synchronised). */
  private maxSizeKnown: boolean;
  private scratch = new Uint8Array(256);
  /** Octets of the string last read by readString (a lower bound when it was skipped). */
  private lastStringBytes = 0;
  readonly stats: HpackDecoderStats = {
    blocks: 0, fields: 0, unresolvedFields: 0, errors: 0, desyncs: 0, resyncs: 0, tableSizeUpdates: 0, evictions: 0,
  };

  constructor(options: { maxTableSize?: number; synchronised?: boolean } = {}) {
    this.maxSize = options.maxTableSize ?? DEFAULT_HEADER_TABLE_SIZE;
    this.settingsMaxSize = this.maxSize;
    this.synchronised = options.synchronised ?? true;
    this.maxSizeKnown = this.synchronised;
  }

  get isSynchronised(): boolean { return this.synchronised; }
  get tableSize(): number { return this.size; }
  get tableMaxSize(): number { return this.maxSize; }
  /** Dynamic entries newest first (undefined parts are unknown). */
  get dynamicEntries(): ReadonlyArray<Readonly<DynamicEntry>> { return this.entries; }

  /** The decoding side announced SETTINGS_HEADER_TABLE_SIZE; the encoder's maximum is capped by it. */
  setSettingsMaxSize(n: number): void {
    // The encoder acknowledges a change with a size update in its next block; blocks already in
    // flight still use the old maximum, so nothing is evicted here.
    this.settingsMaxSize = n;
  }

  /** A header block was lost (capture hole, oversized, malformed): our table no longer matches. */
  markDesynchronised(): void {
    this.stats.desyncs++;
    this.synchronised = false;
    this.maxSizeKnown = false;
    this.entries = [];
    this.size = 0;
  }

  decode(block: Uint8Array): DecodedHeaderBlock {
    this.stats.blocks++;
    const out: DecodedHeaderBlock = { fields: [], unresolved: 0 };
    const cursor = { pos: 0 };
    try {
      let fieldsSeen = false;
      while (cursor.pos < block.length) {
        const b = block[cursor.pos]!;
        if (b & 0x80) {
          // Indexed header field.
          const index = this.readInt(block, cursor, 7);
          if (index === 0) throw new HpackBlockError('indexed field with index 0');
          const entry = this.lookup(index);
          this.emit(out, entry?.name, entry?.value);
          fieldsSeen = true;
        } else if ((b & 0xe0) === 0x20) {
          // Dynamic table size update: only at the start of a block.
          if (fieldsSeen) throw new HpackBlockError('dynamic table size update after a header field');
          const n = this.readInt(block, cursor, 5);
          this.applySizeUpdate(n);
        } else {
          const incremental = (b & 0xc0) === 0x40;
          const prefix = incremental ? 6 : 4; // 0000xxxx without indexing, 0001xxxx never indexed
          const nameIndex = this.readInt(block, cursor, prefix);
          let name: string | undefined;
          let nameBytes: number;
          if (nameIndex === 0) {
            name = this.readString(block, cursor);
            nameBytes = this.lastStringBytes;
          } else {
            const entry = this.lookup(nameIndex);
            name = entry?.name;
            nameBytes = entry?.nameBytes ?? 0;
          }
          const value = this.readString(block, cursor);
          if (incremental) this.insert(name, value, nameBytes, this.lastStringBytes);
          this.emit(out, name, value);
          fieldsSeen = true;
        }
      }
    } catch (err) {
      if (!(err instanceof HpackBlockError)) throw err;
      this.stats.errors++;
      out.error = err.message;
      // Whatever the block would have inserted after the error is unknown to us.
      this.markDesynchronised();
    }
    return out;
  }

  private emit(out: DecodedHeaderBlock, name: string | undefined, value: string | undefined): void {
    if (name === undefined || value === undefined) {
      out.unresolved++;
      this.stats.unresolvedFields++;
      return;
    }
    this.stats.fields++;
    out.fields.push([name, value]);
  }

  private lookup(index: number): DynamicEntry | undefined {
    if (index <= STATIC_TABLE_LENGTH) {
      const [name, value] = STATIC_TABLE[index - 1]!;
      return { name, value, nameBytes: name.length, size: 0 }; // static names are ASCII
    }
    const j = index - STATIC_TABLE_LENGTH - 1;
    if (j < this.entries.length) return this.entries[j];
    if (this.synchronised) throw new HpackBlockError(`index ${index} beyond the dynamic table (${this.entries.length} entries)`);
    return undefined; // an entry inserted before we were in sync: unknown, never guessed
  }

  private insert(name: string | undefined, value: string | undefined, nameBytes: number, valueBytes: number): void {
    const size = nameBytes + valueBytes + ENTRY_OVERHEAD;
    if (this.maxSizeKnown && size > this.maxSize) {
      // RFC 7541 4.4: an entry larger than the table empties it and is not inserted. That also
      // empties any unknown tail, so a desynchronised decoder is back in sync.
      this.stats.evictions += this.entries.length;
      this.entries = [];
      this.size = 0;
      if (!this.synchronised) { this.synchronised = true; this.stats.resyncs++; }
      return;
    }
    this.entries.unshift({ name, value, nameBytes, size });
    this.size += size;
    this.evict();
    this.maybeResync();
  }

  private evict(): void {
    while (this.size > this.maxSize && this.entries.length > 0) {
      this.size -= this.entries.pop()!.size;
      this.stats.evictions++;
    }
  }

  private applySizeUpdate(n: number): void {
    this.stats.tableSizeUpdates++;
    // A size above our SETTINGS value is a peer error; we keep decoding with it rather than lose the
    // connection (we may simply have missed the SETTINGS frame that allowed it).
    if (n > this.settingsMaxSize && this.synchronised) this.stats.errors++;
    this.maxSize = n;
    this.maxSizeKnown = true;
    this.evict();
    if (n === 0 && !this.synchronised) {
      this.synchronised = true;
      this.stats.resyncs++;
      return;
    }
    this.maybeResync();
  }

  /** When the known maximum cannot hold one more (unknown) entry, the unknown tail is gone. */
  private maybeResync(): void {
    if (this.synchronised || !this.maxSizeKnown) return;
    // Sizes are exact or lower bounds, so this is a proof that the peer's table holds nothing else.
    // Entries with unknown parts stay unknown; they only make us keep more entries than the peer.
    if (this.size + ENTRY_OVERHEAD > this.maxSize) {
      this.synchronised = true;
      this.stats.resyncs++;
    }
  }

  private readInt(buf: Uint8Array, cursor: { pos: number }, prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let value = buf[cursor.pos++]! & max;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      if (cursor.pos >= buf.length) throw new HpackBlockError('truncated integer');
      const b = buf[cursor.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(b & 0x80)) break;
      if (shift > 28) throw new HpackBlockError('integer longer than 5 bytes');
    }
    if (value > 0x7fffffff) throw new HpackBlockError('integer overflow');
    return value;
  }

  /** Returns the string, or undefined when it is too long to keep (skipped, still parsed). */
  private readString(buf: Uint8Array, cursor: { pos: number }): string | undefined {
    if (cursor.pos >= buf.length) throw new HpackBlockError('truncated string length');
    const huffman = (buf[cursor.pos]! & 0x80) !== 0;
    const length = this.readInt(buf, cursor, 7);
    const start = cursor.pos;
    const end = start + length;
    if (end > buf.length) throw new HpackBlockError(`string of ${length} bytes overruns the block`);
    cursor.pos = end;
    if (length > MAX_STRING_LENGTH) {
      this.lastStringBytes = huffman ? Math.ceil((length * 8) / 30) : length;
      return undefined;
    }
    this.lastStringBytes = length;
    if (!huffman) return decodeText(buf, start, end);
    const need = huffmanDecodedMaxLength(length);
    if (this.scratch.length < need) this.scratch = new Uint8Array(Math.max(need, this.scratch.length * 2));
    const n = decodeHuffman(buf, start, end, this.scratch);
    if (n < 0) throw new HpackBlockError('invalid Huffman string');
    this.lastStringBytes = n;
    return decodeText(this.scratch, 0, n);
  }
}
