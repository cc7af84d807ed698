import { BtfValueError, show } from './errors.js';
import type { CodecNode } from './node.js';

/**
 * Arrays: JS arrays of their elements, except bytes, which are a Uint8Array (a copy) or,
 * for `char` arrays when asked, a string.
 */

export function arrayNode(elem: CodecNode, count: number, label: string): CodecNode {
  const stride = elem.size;
  return {
    size: stride * count,
    label,
    read(view, at) {
      const out = new Array<unknown>(count);
      for (let i = 0; i < count; i++) out[i] = elem.read(view, at + i * stride);
      return out;
    },
    write(view, at, value) {
      if (!Array.isArray(value)) throw new BtfValueError(`expected an array of ${count} (${label}), got ${show(value)}`);
      if (value.length !== count) throw new BtfValueError(`expected ${count} elements (${label}), got ${value.length}`);
      for (let i = 0; i < count; i++) {
        try {
          elem.write(view, at + i * stride, value[i]);
        } catch (error) {
          if (error instanceof BtfValueError) error.prepend(`[${i}]`);
          throw error;
        }
      }
    },
  };
}

/** Bytes: decoded as a Uint8Array; encoded from a Uint8Array or an array of byte values, of exactly `count`. */
export function byteArrayNode(count: number, signed: boolean, label: string): CodecNode {
  const min = signed ? -128 : 0;
  const max = signed ? 127 : 255;
  return {
    size: count,
    label,
    read: (view, at) => new Uint8Array(view.buffer, view.byteOffset + at, count).slice(),
    write(view, at, value) {
      const dest = new Uint8Array(view.buffer, view.byteOffset + at, count);
      writeBytes(dest, value, count, min, max, label);
    },
  };
}

function writeBytes(dest: Uint8Array, value: unknown, count: number, min: number, max: number, label: string): void {
  if (value instanceof Uint8Array) {
    if (value.length !== count) throw new BtfValueError(`expected ${count} bytes (${label}), got ${value.length}`);
    dest.set(value);
    return;
  }
  if (Array.isArray(value)) {
    if (value.length !== count) throw new BtfValueError(`expected ${count} bytes (${label}), got ${value.length}`);
    for (let i = 0; i < count; i++) {
      const b: unknown = value[i];
      if (typeof b !== 'number' || !Number.isInteger(b) || b < min || b > max) {
        throw new BtfValueError(`${show(b)} is not a byte (${min}..${max})`).prepend(`[${i}]`);
      }
      dest[i] = b & 0xff;
    }
    return;
  }
  throw new BtfValueError(`expected a Uint8Array of ${count} bytes (${label}), got ${show(value)}`);
}

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/**
 * A `char` array as a C string: decoded up to the first NUL (or the whole array), encoded
 * as UTF-8 of at most `count` bytes with the rest zero. A full array needs no NUL, as C
 * allows for `char name[N]` members such as `comm`.
 */
export function charArrayNode(count: number, label: string, decodeAsString: boolean): CodecNode {
  return {
    size: count,
    label,
    read(view, at) {
      const bytes = new Uint8Array(view.buffer, view.byteOffset + at, count);
      if (!decodeAsString) return bytes.slice();
      const end = bytes.indexOf(0);
      return utf8Decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
    },
    write(view, at, value) {
      const dest = new Uint8Array(view.buffer, view.byteOffset + at, count);
      if (typeof value !== 'string') {
        writeBytes(dest, value, count, -128, 255, label);
        return;
      }
      const encoded = utf8Encoder.encode(value);
      if (encoded.length > count) throw new BtfValueError(`${show(value)} is ${encoded.length} bytes in UTF-8, does not fit ${label}`);
      if (encoded.includes(0)) throw new BtfValueError(`${show(value)} holds a NUL, which would end the C string`);
      dest.set(encoded);
      dest.fill(0, encoded.length);
    },
  };
}
