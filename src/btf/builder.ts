import { Btf } from './btf.js';
import type { Endian } from './bytes.js';
import { IntEncoding, Linkage } from './kinds.js';
import { StringTable } from './strings.js';
import type { BtfType } from './types.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A type to add: everything but the id, with name offsets and kind_flag optional. */
export type NewType = DistributiveOmit<BtfType, 'id' | 'nameOff' | 'kflag' | 'members' | 'values' | 'params'> & {
  kflag?: boolean;
  members?: Array<{ name: string; type: number; bitOffset: number; bitfieldSize?: number }>;
  values?: Array<{ name: string; value: bigint | number }>;
  params?: Array<{ name: string; type: number }>;
};

/**
 * Builds BTF from scratch (map key/value types, tests, synthetic kernels), assigning ids
 * in order and string offsets at encode time. Struct/union kind_flag is set for you when
 * a member is a bitfield.
 */
export class BtfBuilder {
  private readonly types: BtfType[] = [];
  constructor(
    readonly endian: Endian = 'little',
    /** Build split BTF over this base: ids continue the base's. */
    readonly base?: Btf,
  ) {}

  /** Id the next added type will get. */
  get nextId(): number {
    return (this.base ? this.base.typeCount : 1) + this.types.length;
  }

  /** Add a type; returns its id. */
  add(t: NewType): number {
    const id = this.nextId;
    const common = { id, nameOff: -1, kflag: t.kflag ?? false };
    const anyT = t as NewType & Record<string, unknown>;
    if (t.kind === 'struct' || t.kind === 'union') {
      const members = (t.members ?? []).map((m) => ({ name: m.name, nameOff: -1, type: m.type, bitOffset: m.bitOffset, bitfieldSize: m.bitfieldSize ?? 0 }));
      this.types.push({ ...anyT, ...common, kind: t.kind, size: t.size, members, kflag: t.kflag ?? members.some((m) => m.bitfieldSize > 0) } as BtfType);
    } else if (t.kind === 'enum' || t.kind === 'enum64') {
      const values = (t.values ?? []).map((v) => ({ name: v.name, nameOff: -1, value: BigInt(v.value) }));
      this.types.push({ ...anyT, ...common, values, kflag: t.kflag ?? values.some((v) => v.value < 0n) } as BtfType);
    } else if (t.kind === 'func_proto') {
      const params = (t.params ?? []).map((p) => ({ name: p.name, nameOff: -1, type: p.type }));
      this.types.push({ ...anyT, ...common, params } as BtfType);
    } else {
      this.types.push({ ...anyT, ...common } as BtfType);
    }
    return id;
  }

  /** An integer type (`bits` defaults to size * 8). */
  int(name: string, size: number, signed = false, bits = size * 8): number {
    return this.add({ kind: 'int', name, size, encoding: signed ? IntEncoding.SIGNED : 0, bitOffset: 0, bits });
  }

  ptr(type: number): number {
    return this.add({ kind: 'ptr', name: '', type });
  }

  typedef(name: string, type: number): number {
    return this.add({ kind: 'typedef', name, type });
  }

  array(type: number, nelems: number, indexType: number): number {
    return this.add({ kind: 'array', name: '', type, indexType, nelems });
  }

  struct(name: string, size: number, members: Array<{ name: string; type: number; bitOffset: number; bitfieldSize?: number }>): number {
    return this.add({ kind: 'struct', name, size, members });
  }

  /** A global variable. */
  variable(name: string, type: number, linkage: number = Linkage.GLOBAL): number {
    return this.add({ kind: 'var', name, type, linkage });
  }

  build(): Btf {
    const strings = this.base ? new StringTable(new Uint8Array(0), this.base.strings) : new StringTable(new Uint8Array([0]));
    // Encode once so every name gets a real offset, then parse: the result is validated.
    const draft = new Btf({ endian: this.endian, types: this.types, strings, base: this.base });
    return Btf.parse(draft.encode(), { base: this.base, endian: this.endian });
  }
}
