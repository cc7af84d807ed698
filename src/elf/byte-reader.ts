import { ElfError } from './errors.js';

const TWO_32 = 2 ** 32;
const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Bounds-checked reads of fixed-width integers from a file image. Every read names the
 * part of the file it belongs to, so that a short or corrupt file gives an ElfError and
 * never a RangeError from a DataView.
 */
export class ByteReader {
  readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly little: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Throw unless [offset, offset + size) lies inside the file. */
  need(offset: number, size: number, part: string): void {
    if (!(offset >= 0 && size >= 0 && offset + size <= this.bytes.length)) {
      throw new ElfError(`needs ${size} bytes but the file is ${this.bytes.length} bytes long`, part, offset);
    }
  }

  u8(at: number): number {
    return this.view.getUint8(at);
  }
  u16(at: number): number {
    return this.view.getUint16(at, this.little);
  }
  u32(at: number): number {
    return this.view.getUint32(at, this.little);
  }
  i32(at: number): number {
    return this.view.getInt32(at, this.little);
  }
  /** Unsigned 64-bit value as a number (exact up to 2^53; addresses above lose low bits). */
  u64(at: number): number {
    const lo = this.view.getUint32(at + (this.little ? 0 : 4), this.little);
    const hi = this.view.getUint32(at + (this.little ? 4 : 0), this.little);
    return hi * TWO_32 + lo;
  }
  /** Signed 64-bit value as a number. */
  i64(at: number): number {
    const lo = this.view.getUint32(at + (this.little ? 0 : 4), this.little);
    const hi = this.view.getInt32(at + (this.little ? 4 : 0), this.little);
    return hi * TWO_32 + lo;
  }
  u64big(at: number): bigint {
    return this.view.getBigUint64(at, this.little);
  }
  /**
   * A 64-bit size or file offset: must be a safe integer, or the file is corrupt (no real
   * object is petabytes long, and a number above 2^53 would silently lose precision).
   */
  size64(at: number, what: string, part: string): number {
    const v = this.u64(at);
    if (v > Number.MAX_SAFE_INTEGER) throw new ElfError(`${what} ${v} is absurdly large`, part, at);
    return v;
  }
}

/**
 * The NUL-terminated string at `offset` in a string table. Throws when the offset is
 * outside the table or the string runs off its end.
 */
export function readCString(table: Uint8Array, offset: number, part: string, tableFileOffset: number): string {
  if (offset >= table.length || offset < 0) {
    if (offset === 0 && table.length === 0) return '';
    throw new ElfError(`string offset ${offset} is outside the ${table.length}-byte string table`, part, tableFileOffset);
  }
  const end = table.indexOf(0, offset);
  if (end < 0) throw new ElfError(`string at table offset ${offset} is not NUL-terminated`, part, tableFileOffset + offset);
  return decodeText(table, offset, end);
}

/** Decode bytes [start, end) as text: an ASCII fast path, UTF-8 otherwise. */
export function decodeText(bytes: Uint8Array, start: number, end: number): string {
  if (end - start < 64) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = bytes[i]!;
      if (c >= 0x80) return utf8.decode(bytes.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(bytes.subarray(start, end));
}
