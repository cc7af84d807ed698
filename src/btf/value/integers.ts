import { BtfValueError, show } from './errors.js';

/**
 * Integer checks shared by ints, enums, pointers and bitfields. Both numbers and bigints
 * are accepted for any width, as long as they are integers in range: the TypeScript
 * types say number for ≤32 bits and bigint above, but a caller writing `count: 1` to a
 * u64 means exactly that.
 */

/** Inclusive range of an integer of `bits` bits. */
export interface IntRange {
  min: bigint;
  max: bigint;
  /** Same bounds as numbers (exact up to 53 bits, which is all the fast path needs). */
  minN: number;
  maxN: number;
  label: string;
}

export function intRange(bits: number, signed: boolean, label: string): IntRange {
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  return { min, max, minN: Number(min), maxN: Number(max), label };
}

/** `value` as a number in range (for fields of at most 32 bits). */
export function toSmallInt(value: unknown, range: IntRange): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= range.minN && value <= range.maxN) return value;
    if (Number.isInteger(value)) throw new BtfValueError(`${value} does not fit ${range.label}`);
  } else if (typeof value === 'bigint') {
    if (value >= range.min && value <= range.max) return Number(value);
    throw new BtfValueError(`${value}n does not fit ${range.label}`);
  }
  throw new BtfValueError(`expected an integer (${range.label}), got ${show(value)}`);
}

/** `value` as a bigint in range (for fields wider than 32 bits). */
export function toBigInt(value: unknown, range: IntRange): bigint {
  let v: bigint;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
  else if (typeof value === 'number' && Number.isInteger(value)) throw new BtfValueError(`${value} is beyond 2^53: pass a bigint for ${range.label}`);
  else throw new BtfValueError(`expected an integer (${range.label}), got ${show(value)}`);
  if (v < range.min || v > range.max) throw new BtfValueError(`${show(v)} does not fit ${range.label}`);
  return v;
}
