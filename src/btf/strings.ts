import { BtfError } from './errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });
const latin1 = new TextDecoder('latin1');

/**
 * A BTF string table: NUL-terminated strings addressed by byte offset. In split BTF the
 * offsets continue after the base table's length, so `start` is the first offset this
 * table owns and lower offsets go to `base`.
 */
export class StringTable {
  private readonly cache = new Map<number, string>();
  constructor(
    /** Raw bytes of this table (not including the base's). */
    readonly bytes: Uint8Array,
    readonly base?: StringTable,
    /** Part name for errors. */
    readonly part = 'strings',
  ) {}

  /** First offset owned by this table. */
  get start(): number {
    return this.base ? this.base.end : 0;
  }

  /** One past the last valid offset. */
  get end(): number {
    return this.start + this.bytes.length;
  }

  /** Is `offset` the start of a string somewhere in this table or its base? */
  has(offset: number): boolean {
    return Number.isInteger(offset) && offset >= 0 && offset < this.end;
  }

  /** The string at `offset`; a BtfError when the offset is outside the table. */
  get(offset: number): string {
    if (this.base && offset < this.start) return this.base.get(offset);
    const at = offset - this.start;
    if (!Number.isInteger(offset) || at < 0 || at >= this.bytes.length) {
      throw new BtfError(`string offset ${offset} outside the table (${this.end} bytes)`, this.part, offset);
    }
    const text = this.asciiText();
    if (text !== undefined) {
      // ASCII table (vmlinux, clang output): byte offsets are character offsets.
      const end = text.indexOf('\0', at);
      return text.slice(at, end < 0 ? text.length : end);
    }
    const cached = this.cache.get(offset);
    if (cached !== undefined) return cached;
    const b = this.bytes;
    let end = at;
    while (end < b.length && b[end] !== 0) end++;
    const str = utf8.decode(b.subarray(at, end));
    this.cache.set(offset, str);
    return str;
  }

  private ascii: string | null | undefined;

  /** The whole table as one string when it is pure ASCII (decoded once), else undefined. */
  private asciiText(): string | undefined {
    if (this.ascii === undefined) {
      const b = this.bytes;
      let ascii = true;
      for (let i = 0; i < b.length; i++) {
        if (b[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      this.ascii = ascii ? latin1.decode(b) : null;
    }
    return this.ascii ?? undefined;
  }
}

/**
 * Builds a string table for the encoder. It starts from an existing table's bytes (so
 * unchanged types keep their offsets and the output is byte-identical) and appends
 * strings that are not there yet.
 */
export class StringTableBuilder {
  private readonly chunks: Uint8Array[] = [];
  private readonly added = new Map<string, number>();
  private length: number;
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly original: StringTable | undefined,
    /** First offset of this table (the base's length for split BTF). */
    private readonly start: number,
  ) {
    if (original) {
      this.chunks.push(original.bytes);
      this.length = original.bytes.length;
    } else if (start === 0) {
      this.chunks.push(new Uint8Array(1)); // offset 0 is the empty string
      this.length = 1;
      this.added.set('', 0);
    } else {
      this.length = 0;
    }
  }

  /** Offset of `name`: `preferred` when it still names it, else an existing or new copy. */
  offsetOf(name: string, preferred: number): number {
    if (this.original?.has(preferred) && this.original.get(preferred) === name) return preferred;
    if (name === '') return 0;
    const known = this.added.get(name);
    if (known !== undefined) return known;
    const bytes = this.encoder.encode(name);
    if (bytes.includes(0)) throw new BtfError(`name ${JSON.stringify(name)} contains NUL`, 'strings');
    const off = this.start + this.length;
    const withNul = new Uint8Array(bytes.length + 1);
    withNul.set(bytes);
    this.chunks.push(withNul);
    this.length += withNul.length;
    this.added.set(name, off);
    return off;
  }

  result(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
