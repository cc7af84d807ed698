/**
 * Syscall structures described as data, and the encoder and decoder derived from them.
 *
 * A layout lists each field once — name, byte offset, type — so the bytes bpfkit hands
 * the kernel are defined in one table per structure (see bpf-attr.ts), never by
 * hand-written offsets at call sites.
 */
import { native, type RawBuffer } from './native.js';

/**
 * Field types: little-endian integers (x86-64/arm64 hosts), `ptr` (a user-space address
 * in a 64-bit field, given as a buffer or a bigint), and fixed-size NUL-padded strings.
 */
export type FieldType = 'u8' | 'u16' | 'u32' | 's32' | 'u64' | 'ptr' | `char[${number}]`;

/** One field: `[name, offset, type]`, and its C member path when that differs from `name` (union members). */
export type FieldDef = readonly [name: string, offset: number, type: FieldType, cPath?: string];

export interface Field {
  readonly name: string;
  readonly offset: number;
  readonly type: FieldType;
  readonly size: number;
  /** Path of the member in C, relative to the layout's `cMember`. */
  readonly cPath: string;
}

/** A value for a field: integers as number or bigint; `ptr` as a buffer, an address, or null; `char[N]` as a string. */
export type FieldValue = number | bigint | string | RawBuffer | null | undefined;

export interface StructLayout<Name extends string = string> {
  /** The C name, for messages and for the header cross-check test. */
  readonly name: string;
  /** Member of `union bpf_attr` holding these fields in C ('' for the anonymous structs). */
  readonly cMember: string;
  /** Bytes to pass: the end of the last field, rounded up to 8. */
  readonly size: number;
  readonly fields: Readonly<Record<Name, Field>>;
  /** Byte offset of a field. */
  offset(name: Name): number;
}

function fieldSize(type: FieldType): number {
  switch (type) {
    case 'u8':
      return 1;
    case 'u16':
      return 2;
    case 'u32':
    case 's32':
      return 4;
    case 'u64':
    case 'ptr':
      return 8;
    default:
      return Number(type.slice(5, -1));
  }
}

/** Describe a structure. Offsets are checked for alignment and overlap so a typo fails at import. */
export function defineStruct<const Defs extends readonly FieldDef[]>(
  name: string,
  cMember: string,
  defs: Defs,
): StructLayout<Defs[number][0]> {
  const fields = {} as Record<string, Field>;
  let end = 0;
  for (const [fieldName, offset, type, cPath] of defs) {
    const size = fieldSize(type);
    const align = type.startsWith('char') ? 1 : size;
    if (offset % align !== 0) throw new Error(`${name}.${fieldName}: offset ${offset} is not ${align}-aligned`);
    if (offset < end) throw new Error(`${name}.${fieldName}: offset ${offset} overlaps the previous field`);
    fields[fieldName] = { name: fieldName, offset, type, size, cPath: cPath ?? fieldName };
    end = offset + size;
  }
  const size = (end + 7) & ~7;
  return {
    name,
    cMember,
    size,
    fields: fields as Record<Defs[number][0], Field>,
    offset(field) {
      const f = fields[field];
      if (!f) throw new Error(`${name} has no field ${field}`);
      return f.offset;
    },
  };
}

/** A buffer whose bytes never move: an ArrayBuffer of its own (not V8's on-heap small arrays). */
export function stableBuffer(size: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(size));
}

/** Write `values` into `out` (zeroed first) following `layout`. Fields not given stay zero. */
export function encodeStruct<Name extends string>(
  layout: StructLayout<Name>,
  values: Partial<Record<Name, FieldValue>>,
  out: Uint8Array = stableBuffer(layout.size),
): Uint8Array {
  out.fill(0);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const key of Object.keys(values) as Name[]) {
    const field = layout.fields[key];
    if (!field) throw new Error(`${layout.name} has no field ${key}`);
    writeField(view, field, values[key], layout.name);
  }
  return out;
}

function writeField(view: DataView, field: Field, value: FieldValue, struct: string): void {
  if (value === undefined || value === null) return;
  const { offset, type } = field;
  switch (type) {
    case 'u8':
      view.setUint8(offset, Number(value));
      return;
    case 'u16':
      view.setUint16(offset, Number(value), true);
      return;
    case 'u32':
      view.setUint32(offset, Number(value) >>> 0, true);
      return;
    case 's32':
      view.setInt32(offset, Number(value) | 0, true);
      return;
    case 'u64':
      view.setBigUint64(offset, BigInt.asUintN(64, BigInt(value as number | bigint)), true);
      return;
    case 'ptr': {
      const address = typeof value === 'bigint' ? value : typeof value === 'number' ? BigInt(value) : native().address(value as RawBuffer);
      view.setBigUint64(offset, address, true);
      return;
    }
    default: {
      if (typeof value !== 'string') throw new TypeError(`${struct}.${field.name} wants a string`);
      const bytes = new TextEncoder().encode(value);
      // Always leave room for the terminating NUL the kernel expects.
      const n = Math.min(bytes.length, field.size - 1);
      new Uint8Array(view.buffer, view.byteOffset + offset, n).set(bytes.subarray(0, n));
    }
  }
}

/** Read one integer field back (outputs such as retval, log_true_size, next_id). */
export function readField<Name extends string>(layout: StructLayout<Name>, buf: Uint8Array, name: Name): number {
  const field = layout.fields[name];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  switch (field.type) {
    case 'u8':
      return view.getUint8(field.offset);
    case 'u16':
      return view.getUint16(field.offset, true);
    case 'u32':
      return view.getUint32(field.offset, true);
    case 's32':
      return view.getInt32(field.offset, true);
    case 'u64':
    case 'ptr':
      return Number(view.getBigUint64(field.offset, true));
    default:
      throw new TypeError(`${layout.name}.${name} is not an integer field`);
  }
}

/** Read a 64-bit field exactly. */
export function readField64<Name extends string>(layout: StructLayout<Name>, buf: Uint8Array, name: Name): bigint {
  const field = layout.fields[name];
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(field.offset, true);
}

/** Read a `char[N]` field (up to the first NUL). */
export function readString<Name extends string>(layout: StructLayout<Name>, buf: Uint8Array, name: Name): string {
  const field = layout.fields[name];
  const bytes = buf.subarray(field.offset, field.offset + field.size);
  const nul = bytes.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}
