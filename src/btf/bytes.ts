import { BtfError } from './errors.js';

/** Little- or big-endian, as in the ObjectSpec. */
export type Endian = 'little' | 'big';

/**
 * Bounds-checked reads from a byte range. Every read past the end becomes a BtfError
 * naming the part and the offset, never a RangeError from DataView.
 */
export class ByteReader {
  readonly view: DataView;
  readonly little: boolean;
  constructor(
    readonly bytes: Uint8Array,
    endian: Endian,
    /** Part name for errors. */
    readonly part: string,
    /** Added to offsets in error messages (where this range starts in its input). */
    readonly base = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.little = endian === 'little';
  }

  get length(): number {
    return this.bytes.length;
  }

  need(offset: number, size: number, what: string): void {
    if (offset < 0 || offset + size > this.bytes.length) {
      throw new BtfError(`${what} needs ${size} bytes, only ${Math.max(0, this.bytes.length - offset)} left`, this.part, this.base + offset);
    }
  }

  u8(offset: number): number {
    this.need(offset, 1, 'u8');
    return this.bytes[offset]!;
  }
  u16(offset: number): number {
    this.need(offset, 2, 'u16');
    return this.view.getUint16(offset, this.little);
  }
  u32(offset: number): number {
    this.need(offset, 4, 'u32');
    return this.view.getUint32(offset, this.little);
  }
  i32(offset: number): number {
    this.need(offset, 4, 'i32');
    return this.view.getInt32(offset, this.little);
  }

  error(reason: string, offset: number): BtfError {
    return new BtfError(reason, this.part, this.base + offset);
  }
}

/** Growable output buffer for the encoders. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;
  constructor(
    endian: Endian,
    capacity = 1024,
    private readonly little = endian === 'little',
  ) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, at + n));
      grown.set(this.buf.subarray(0, at));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length += n;
    return at;
  }

  u8(v: number): void {
    this.buf[this.reserve(1)] = v;
  }
  u16(v: number): void {
    this.view.setUint16(this.reserve(2), v, this.little);
  }
  u32(v: number): void {
    this.view.setUint32(this.reserve(4), v >>> 0, this.little);
  }
  i32(v: number): void {
    this.view.setInt32(this.reserve(4), v | 0, this.little);
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.reserve(b.length));
  }
  /** Overwrite a u32 already written at `at`. */
  patchU32(at: number, v: number): void {
    this.view.setUint32(at, v >>> 0, this.little);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Detect the byte order of data starting with a 16-bit magic. */
export function endianOfMagic(bytes: Uint8Array, magic: number): Endian | undefined {
  if (bytes.length < 2) return undefined;
  const le = bytes[0]! | (bytes[1]! << 8);
  if (le === magic) return 'little';
  const be = (bytes[0]! << 8) | bytes[1]!;
  if (be === magic) return 'big';
  return undefined;
}
