import type { Btf } from '../btf.js';
import { IntEncoding } from '../kinds.js';
import type { EnumType, IntType } from '../types.js';
import { BtfValueError, show } from './errors.js';
import { intRange, toBigInt, toSmallInt } from './integers.js';
import type { CodecNode } from './node.js';

/** Scalar nodes: integers, bools, floats, pointers and enums, in the BTF's byte order. */

/** "u8", "s32", "u64": the kernel's names, which say size and signedness at a glance. */
export function intLabel(bits: number, signed: boolean): string {
  return `${signed ? 's' : 'u'}${bits}`;
}

export function isSignedInt(t: IntType): boolean {
  return (t.encoding & IntEncoding.SIGNED) !== 0;
}

export function boolNode(): CodecNode {
  return {
    size: 1,
    label: 'bool',
    read: (view, at) => view.getUint8(at) !== 0,
    write(view, at, value) {
      if (typeof value !== 'boolean') throw new BtfValueError(`expected a boolean, got ${show(value)}`);
      view.setUint8(at, value ? 1 : 0);
    },
  };
}

/** A whole (non-bitfield) integer of 1, 2, 4, 8 or 16 bytes. */
export function intNode(size: number, signed: boolean, little: boolean): CodecNode {
  const label = intLabel(size * 8, signed);
  const range = intRange(size * 8, signed, label);
  switch (size) {
    case 1:
      return signed
        ? { size, label, read: (v, at) => v.getInt8(at), write: (v, at, x) => v.setInt8(at, toSmallInt(x, range)) }
        : { size, label, read: (v, at) => v.getUint8(at), write: (v, at, x) => v.setUint8(at, toSmallInt(x, range)) };
    case 2:
      return signed
        ? { size, label, read: (v, at) => v.getInt16(at, little), write: (v, at, x) => v.setInt16(at, toSmallInt(x, range), little) }
        : { size, label, read: (v, at) => v.getUint16(at, little), write: (v, at, x) => v.setUint16(at, toSmallInt(x, range), little) };
    case 4:
      return signed
        ? { size, label, read: (v, at) => v.getInt32(at, little), write: (v, at, x) => v.setInt32(at, toSmallInt(x, range), little) }
        : { size, label, read: (v, at) => v.getUint32(at, little), write: (v, at, x) => v.setUint32(at, toSmallInt(x, range), little) };
    case 8:
      return signed
        ? { size, label, read: (v, at) => v.getBigInt64(at, little), write: (v, at, x) => v.setBigInt64(at, toBigInt(x, range), little) }
        : { size, label, read: (v, at) => v.getBigUint64(at, little), write: (v, at, x) => v.setBigUint64(at, toBigInt(x, range), little) };
    case 16:
      return int128Node(signed, little, label, range);
    default:
      throw new BtfValueError(`integers of ${size} bytes are not supported`);
  }
}

function int128Node(signed: boolean, little: boolean, label: string, range: ReturnType<typeof intRange>): CodecNode {
  const mask64 = (1n << 64n) - 1n;
  return {
    size: 16,
    label,
    read(view, at) {
      const lo = view.getBigUint64(at + (little ? 0 : 8), little);
      const hi = view.getBigUint64(at + (little ? 8 : 0), little);
      const u = (hi << 64n) | lo;
      return signed ? BigInt.asIntN(128, u) : u;
    },
    write(view, at, x) {
      const u = BigInt.asUintN(128, toBigInt(x, range));
      view.setBigUint64(at + (little ? 0 : 8), u & mask64, little);
      view.setBigUint64(at + (little ? 8 : 0), u >> 64n, little);
    },
  };
}

export function floatNode(size: number, little: boolean): CodecNode {
  const label = `f${size * 8}`;
  const check = (x: unknown): number => {
    if (typeof x !== 'number') throw new BtfValueError(`expected a number (${label}), got ${show(x)}`);
    return x;
  };
  if (size === 4) {
    return {
      size,
      label,
      read: (v, at) => v.getFloat32(at, little),
      write(v, at, x) {
        const n = check(x);
        // A finite double that rounds to infinity in 32 bits would silently change meaning.
        if (Number.isFinite(n) && !Number.isFinite(Math.fround(n))) throw new BtfValueError(`${n} does not fit ${label}`);
        v.setFloat32(at, n, little);
      },
    };
  }
  if (size === 8) return { size, label, read: (v, at) => v.getFloat64(at, little), write: (v, at, x) => v.setFloat64(at, check(x), little) };
  return rawBytesNode(size, label);
}

/** Bytes passed through as a Uint8Array of exactly `size` bytes (long double, odd sizes). */
export function rawBytesNode(size: number, label: string): CodecNode {
  return {
    size,
    label,
    read: (v, at) => new Uint8Array(v.buffer, v.byteOffset + at, size).slice(),
    write(v, at, x) {
      if (!(x instanceof Uint8Array) || x.length !== size) throw new BtfValueError(`expected a Uint8Array of ${size} bytes (${label}), got ${show(x)}`);
      new Uint8Array(v.buffer, v.byteOffset + at, size).set(x);
    },
  };
}

/** A pointer: an address, bigint for 64-bit pointers and number for 32-bit ones. */
export function pointerNode(size: number, little: boolean): CodecNode {
  const label = `${size * 8}-bit pointer`;
  const range = intRange(size * 8, false, label);
  if (size === 4) return { size, label, read: (v, at) => v.getUint32(at, little), write: (v, at, x) => v.setUint32(at, toSmallInt(x, range), little) };
  return { size: 8, label, read: (v, at) => v.getBigUint64(at, little), write: (v, at, x) => v.setBigUint64(at, toBigInt(x, range), little) };
}

/** What an enum needs besides its storage: names both ways and how wide its JS values are. */
export interface EnumInfo {
  label: string;
  signed: boolean;
  /** Values are bigints (an enum64 with a member beyond 2^53), as dumpTs declares them. */
  wide: boolean;
  byValue: Map<bigint, string>;
  byName: Map<string, bigint>;
}

export function enumInfo(btf: Btf, t: EnumType): EnumInfo {
  const wide = t.kind === 'enum64' && t.values.some((v) => v.value > BigInt(Number.MAX_SAFE_INTEGER) || v.value < BigInt(Number.MIN_SAFE_INTEGER));
  const byValue = new Map<bigint, string>();
  const byName = new Map<string, bigint>();
  for (const v of t.values) {
    if (!byValue.has(v.value)) byValue.set(v.value, v.name);
    byName.set(v.name, v.value);
  }
  return { label: btf.describe(t.id), signed: t.kflag, wide, byValue, byName };
}

/**
 * An enum value for encoding: a member name, or an integer. Any integer the storage can
 * hold is taken, signed or unsigned, since C lets an enum variable hold either.
 */
export function enumToBigInt(value: unknown, info: EnumInfo, bits: number): bigint {
  if (typeof value === 'string') {
    const v = info.byName.get(value);
    if (v === undefined) throw new BtfValueError(`${show(value)} is not a member of ${info.label} (members: ${[...info.byName.keys()].join(', ')})`);
    return v;
  }
  const range = { ...intRange(bits, true, `${info.label} (${bits} bits)`), max: (1n << BigInt(bits)) - 1n, maxN: 2 ** bits - 1 };
  return toBigInt(value, range);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/**
 * The decoded form of an enum's stored integer. A value a number cannot hold exactly
 * comes back as a bigint even for a "number" enum (clang 14 writes 64-bit enums as
 * 8-byte `enum`): a wrong number would be worse than an unexpected type.
 */
export function enumFromBigInt(raw: bigint, info: EnumInfo, names: boolean): unknown {
  if (names) {
    const name = info.byValue.get(raw);
    if (name !== undefined) return name;
  }
  if (info.wide || raw > MAX_SAFE || raw < MIN_SAFE) return raw;
  return Number(raw);
}

export function enumNode(btf: Btf, t: EnumType, little: boolean, names: boolean): CodecNode {
  const info = enumInfo(btf, t);
  const size = t.size;
  const bits = size * 8;
  const signed = info.signed;
  const read = (v: DataView, at: number): bigint => {
    switch (size) {
      case 1:
        return BigInt(signed ? v.getInt8(at) : v.getUint8(at));
      case 2:
        return BigInt(signed ? v.getInt16(at, little) : v.getUint16(at, little));
      case 4:
        return BigInt(signed ? v.getInt32(at, little) : v.getUint32(at, little));
      default:
        return signed ? v.getBigInt64(at, little) : v.getBigUint64(at, little);
    }
  };
  if (size !== 1 && size !== 2 && size !== 4 && size !== 8) return rawBytesNode(size, info.label);
  // The common case, a 4-byte enum decoded to numbers, skips the bigint round trip.
  const fastRead =
    size === 4 && !names ? (signed ? (v: DataView, at: number) => v.getInt32(at, little) : (v: DataView, at: number) => v.getUint32(at, little)) : undefined;
  return {
    size,
    label: info.label,
    read: fastRead ?? ((v, at) => enumFromBigInt(read(v, at), info, names)),
    write(v, at, x) {
      const n = BigInt.asUintN(bits, enumToBigInt(x, info, bits));
      switch (size) {
        case 1:
          v.setUint8(at, Number(n));
          break;
        case 2:
          v.setUint16(at, Number(n), little);
          break;
        case 4:
          v.setUint32(at, Number(n), little);
          break;
        default:
          v.setBigUint64(at, n, little);
      }
    },
  };
}
