import { BtfValueError, show } from './errors.js';
import { intRange, toBigInt, toSmallInt } from './integers.js';
import type { CodecNode } from './node.js';
import { enumFromBigInt, enumToBigInt, type EnumInfo } from './scalars.js';

/**
 * Bitfields. BTF gives a bit offset from the start of the struct; what "bit N" means
 * follows the byte order, as in C compilers: little-endian numbers bits from the least
 * significant bit of byte 0, big-endian from the most significant bit of byte 0. So a
 * bitfield is a run of bits inside the bytes it touches, read as one little- or
 * big-endian integer. Runs of up to 32 bits use number arithmetic; wider ones bigint.
 */

export interface BitfieldSpec {
  /** Bit offset from the start of the enclosing struct. */
  bitOffset: number;
  bits: number;
  little: boolean;
  /** What the bits mean. */
  as: { kind: 'int'; signed: boolean } | { kind: 'bool' } | { kind: 'enum'; info: EnumInfo; names: boolean };
}

export function bitfieldNode(spec: BitfieldSpec): CodecNode {
  const { bits, little } = spec;
  const first = spec.bitOffset >> 3;
  const within = spec.bitOffset & 7;
  const nbytes = (within + bits + 7) >> 3;
  // Distance of the field's least significant bit from the run's least significant bit.
  const shift = little ? within : nbytes * 8 - within - bits;
  const signed = spec.as.kind === 'int' ? spec.as.signed : spec.as.kind === 'enum' ? spec.as.info.signed : false;
  const label = `${bits}-bit ${signed ? 'signed' : 'unsigned'} bitfield`;
  const range = intRange(bits, signed, label);
  const narrow = nbytes <= 4;

  const loadN = (v: DataView, at: number): number => {
    let raw = 0;
    for (let i = 0; i < nbytes; i++) raw = raw * 256 + v.getUint8(at + first + (little ? nbytes - 1 - i : i));
    return raw;
  };
  const storeN = (v: DataView, at: number, raw: number): void => {
    for (let i = 0; i < nbytes; i++) {
      v.setUint8(at + first + (little ? i : nbytes - 1 - i), raw % 256);
      raw = Math.floor(raw / 256);
    }
  };
  const loadB = (v: DataView, at: number): bigint => {
    let raw = 0n;
    for (let i = 0; i < nbytes; i++) raw = (raw << 8n) | BigInt(v.getUint8(at + first + (little ? nbytes - 1 - i : i)));
    return raw;
  };
  const storeB = (v: DataView, at: number, raw: bigint): void => {
    for (let i = 0; i < nbytes; i++) {
      v.setUint8(at + first + (little ? i : nbytes - 1 - i), Number(raw & 0xffn));
      raw >>= 8n;
    }
  };

  const pow = 2 ** bits;
  const div = 2 ** shift;
  const bShift = BigInt(shift);
  const bMask = (1n << BigInt(bits)) - 1n;

  /** The field's bits as an unsigned integer (number when ≤32 bits). */
  const readU = narrow
    ? (v: DataView, at: number): number | bigint => Math.floor(loadN(v, at) / div) % pow
    : (v: DataView, at: number): number | bigint => {
        const u = (loadB(v, at) >> bShift) & bMask;
        return bits <= 32 ? Number(u) : u;
      };
  /** Replace the field's bits with `u` (already in range, two's complement for negatives). */
  const writeU = narrow
    ? (v: DataView, at: number, u: number): void => {
        const raw = loadN(v, at);
        const old = Math.floor(raw / div) % pow;
        storeN(v, at, raw + (u - old) * div);
      }
    : (v: DataView, at: number, u: bigint): void => {
        const raw = loadB(v, at);
        storeB(v, at, (raw & ~(bMask << bShift)) | ((u & bMask) << bShift));
      };

  const toSigned = (u: number | bigint): number | bigint => {
    if (!signed) return u;
    if (typeof u === 'number') return u >= pow / 2 ? u - pow : u;
    return BigInt.asIntN(bits, u);
  };

  const write = (v: DataView, at: number, n: number | bigint): void => {
    if (narrow) {
      const x = Number(n);
      (writeU as (v: DataView, at: number, u: number) => void)(v, at, x < 0 ? x + pow : x);
    } else (writeU as (v: DataView, at: number, u: bigint) => void)(v, at, BigInt.asUintN(bits, BigInt(n)));
  };

  const as = spec.as;
  if (as.kind === 'bool') {
    return {
      size: 0,
      label: `${bits}-bit bool bitfield`,
      read: (v, at) => readU(v, at) != 0,
      write(v, at, x) {
        if (typeof x !== 'boolean') throw new BtfValueError(`expected a boolean, got ${show(x)}`);
        write(v, at, x ? 1 : 0);
      },
    };
  }
  if (as.kind === 'enum') {
    return {
      size: 0,
      label: `${as.info.label} (${label})`,
      read: (v, at) => enumFromBigInt(BigInt(toSigned(readU(v, at))), as.info, as.names),
      write(v, at, x) {
        const n = enumToBigInt(x, as.info, bits);
        write(v, at, n);
      },
    };
  }
  return {
    size: 0,
    label,
    read: (v, at) => toSigned(readU(v, at)),
    write: (v, at, x) => write(v, at, bits <= 32 ? toSmallInt(x, range) : toBigInt(x, range)),
  };
}
