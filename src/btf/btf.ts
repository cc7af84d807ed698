import type { Endian } from './bytes.js';
import { encodeBtf } from './encode.js';
import { BtfError } from './errors.js';
import type { BtfKindName } from './kinds.js';
import { parseBtf } from './parse.js';
import { StringTable } from './strings.js';
import type { BtfType, CompositeType, Member, TypeOfKind, VoidType } from './types.js';

export interface BtfParseOptions {
  /** Expected byte order; detected from the magic when omitted (a mismatch is an error). */
  endian?: Endian;
  /** Base BTF for split BTF (e.g. vmlinux for module BTF): ids and string offsets continue it. */
  base?: Btf;
}

/** A member found by name, possibly inside anonymous structs/unions. */
export interface MemberLookup {
  member: Member;
  /** Offset from the start of the outer type, in bits. */
  bitOffset: number;
  /** Member indices from the outer type down to the member (anonymous levels included). */
  path: number[];
}

const VOID: VoidType = Object.freeze({ id: 0, kind: 'void', name: '', nameOff: 0, kflag: false }) as VoidType;

/** libbpf's MAX_RESOLVE_DEPTH: how many modifiers/typedefs a chain may have. */
export const MAX_RESOLVE_DEPTH = 32;

/**
 * A parsed BTF blob: the types of one object file or kernel, addressed by id.
 *
 * Immutable in spirit: the fix-up functions return new Btf values. Types of a split BTF
 * continue the ids of its `base`, and `typeById` answers for both.
 */
export class Btf {
  readonly endian: Endian;
  readonly base: Btf | undefined;
  /** First id owned by this BTF (1, or the base's type count for split BTF). */
  readonly firstId: number;
  /** Own types, `types[i].id === firstId + i`. */
  readonly types: readonly BtfType[];
  readonly strings: StringTable;
  private nameIndex: Map<string, number[]> | undefined;
  private ptrSize: number | undefined;

  constructor(init: { endian: Endian; types: BtfType[]; strings: StringTable; base?: Btf | undefined }) {
    this.endian = init.endian;
    this.base = init.base;
    this.firstId = init.base ? init.base.typeCount : 1;
    this.types = init.types;
    this.strings = init.strings;
  }

  /**
   * Parse .BTF bytes (an object's `.BTF` section, /sys/kernel/btf/vmlinux, or module BTF
   * with `base`). Malformed input throws a {@link BtfError} naming the part and offset.
   */
  static parse(bytes: Uint8Array, options: BtfParseOptions = {}): Btf {
    const base = options.base;
    const parsed = parseBtf(
      bytes,
      options.endian ?? base?.endian,
      base && { typeCount: base.typeCount, strings: base.strings, kindOf: (id) => base.typeById(id).kind },
    );
    return new Btf({ endian: parsed.endian, types: parsed.types, strings: parsed.strings, base });
  }

  /** Encode back to .BTF bytes (own types only, for split BTF). Unchanged input encodes to identical bytes. */
  encode(): Uint8Array {
    return encodeBtf(this);
  }

  /** Number of type ids in use, void and base included: valid ids are 0..typeCount-1. */
  get typeCount(): number {
    return this.firstId + this.types.length;
  }

  /** The type with this id (0 is void); a BtfError if there is none. */
  typeById(id: number): BtfType {
    if (id >= this.firstId) {
      const t = this.types[id - this.firstId];
      if (t) return t;
    } else if (id === 0) {
      return VOID;
    } else if (this.base && id > 0 && Number.isInteger(id)) {
      return this.base.typeById(id);
    }
    throw new BtfError(`no type with id ${id} (last id is ${this.typeCount - 1})`, 'types', id);
  }

  /** The type with this id, checked to be of `kind`. */
  typeOfKind<K extends BtfKindName>(id: number, kind: K): TypeOfKind<K> {
    const t = this.typeById(id);
    if (t.kind !== kind) throw new BtfError(`type [${id}] is ${t.kind}, not ${kind}`, 'types', id);
    return t as TypeOfKind<K>;
  }

  /** Every type, base first, void excluded. */
  *allTypes(): IterableIterator<BtfType> {
    if (this.base) yield* this.base.allTypes();
    yield* this.types;
  }

  /** The string at a string-table offset (base table included). */
  stringAt(offset: number): string {
    return this.strings.get(offset);
  }

  /** Ids of all named types called `name` (base first), optionally of one kind. */
  findAllByName(name: string, kind?: BtfKindName): BtfType[] {
    const out: BtfType[] = this.base ? this.base.findAllByName(name, kind) : [];
    for (const id of this.index().get(name) ?? []) {
      const t = this.types[id - this.firstId]!;
      if (kind === undefined || t.kind === kind) out.push(t);
    }
    return out;
  }

  /** The first type called `name` (and of `kind`, when given), as libbpf's btf__find_by_name_kind. */
  findByName<K extends BtfKindName>(name: string, kind: K): TypeOfKind<K> | undefined;
  findByName(name: string): BtfType | undefined;
  findByName(name: string, kind?: BtfKindName): BtfType | undefined {
    if (name === '' && kind === 'void') return VOID;
    return this.findAllByName(name, kind)[0];
  }

  private index(): Map<string, number[]> {
    if (!this.nameIndex) {
      const m = new Map<string, number[]>();
      for (const t of this.types) {
        if (t.name === '') continue;
        const l = m.get(t.name);
        if (l) l.push(t.id);
        else m.set(t.name, [t.id]);
      }
      this.nameIndex = m;
    }
    return this.nameIndex;
  }

  /** Follow const/volatile/restrict/type_tag (and typedefs, unless `keepTypedefs`) to the underlying type. */
  resolve(id: number, keepTypedefs = false): BtfType {
    let t = this.typeById(id);
    for (let depth = 0; ; depth++) {
      if (depth > MAX_RESOLVE_DEPTH) throw new BtfError(`modifier/typedef chain from [${id}] is too long`, 'types', id);
      const k = t.kind;
      if (k === 'const' || k === 'volatile' || k === 'restrict' || k === 'type_tag' || (k === 'typedef' && !keepTypedefs)) {
        t = this.typeById(t.type);
      } else {
        return t;
      }
    }
  }

  /** Pointer size guessed from the C `long` as libbpf does (8 when there is none). */
  get pointerSize(): number {
    if (this.ptrSize === undefined) {
      this.ptrSize = 8;
      for (const n of ['long int', 'long unsigned int', 'long', 'unsigned long', 'unsigned long int']) {
        const t = this.findByName(n, 'int');
        if (t && (t.size === 4 || t.size === 8)) {
          this.ptrSize = t.size;
          break;
        }
      }
    }
    return this.ptrSize;
  }

  /** sizeof the type, as btf__resolve_size: a BtfError for void, functions, or sizes beyond 2^32. */
  sizeof(id: number): number {
    let nelems = 1;
    let cur = id;
    for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
      const t = this.typeById(cur);
      switch (t.kind) {
        case 'int':
        case 'struct':
        case 'union':
        case 'enum':
        case 'enum64':
        case 'datasec':
        case 'float':
          return checkedSize(nelems, t.size, id);
        case 'ptr':
          return checkedSize(nelems, this.pointerSize, id);
        case 'typedef':
        case 'const':
        case 'volatile':
        case 'restrict':
        case 'var':
        case 'decl_tag':
        case 'type_tag':
          cur = t.type;
          break;
        case 'array':
          nelems = checkedSize(nelems, t.nelems, id);
          cur = t.type;
          break;
        default:
          throw new BtfError(`type [${cur}] (${t.kind}) has no size`, 'types', id);
      }
    }
    throw new BtfError(`type chain from [${id}] is too long`, 'types', id);
  }

  /** Alignment in bytes, as btf__align_of (1 for a struct that must be packed). */
  alignof(id: number, depth = 0): number {
    if (depth > 2 * MAX_RESOLVE_DEPTH + 64) throw new BtfError(`type nesting from [${id}] is too deep`, 'types', id);
    const t = this.typeById(id);
    switch (t.kind) {
      case 'int':
      case 'enum':
      case 'enum64':
      case 'float':
        return Math.min(this.pointerSize, t.size);
      case 'ptr':
        return this.pointerSize;
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
      case 'array':
        return this.alignof(t.type, depth + 1);
      case 'struct':
      case 'union': {
        let max = 1;
        for (const m of t.members) {
          const a = this.alignof(m.type, depth + 1);
          if (a <= 0) return a;
          max = Math.max(max, a);
          if (m.bitfieldSize === 0 && m.bitOffset % (8 * a) !== 0) return 1;
        }
        return t.size % max !== 0 ? 1 : max;
      }
      default:
        return 0;
    }
  }

  /**
   * Find a member by name, descending into anonymous struct/union members as C does;
   * the offset is in bits from the start of `id` (after typedefs/modifiers).
   */
  findMember(id: number, name: string): MemberLookup | undefined {
    const t = this.resolve(id);
    if (t.kind !== 'struct' && t.kind !== 'union') return undefined;
    return this.findMemberIn(t, name, 0);
  }

  private findMemberIn(t: CompositeType, name: string, depth: number): MemberLookup | undefined {
    if (depth > 64) throw new BtfError(`anonymous members of [${t.id}] nest too deep`, 'types', t.id);
    for (let i = 0; i < t.members.length; i++) {
      const m = t.members[i]!;
      if (m.name === name) return { member: m, bitOffset: m.bitOffset, path: [i] };
      if (m.name === '') {
        const inner = this.resolve(m.type);
        if (inner.kind === 'struct' || inner.kind === 'union') {
          const found = this.findMemberIn(inner, name, depth + 1);
          if (found) return { member: found.member, bitOffset: m.bitOffset + found.bitOffset, path: [i, ...found.path] };
        }
      }
    }
    return undefined;
  }

  /** A short human name for messages: "struct task_struct", "int", "[42] ptr". */
  describe(id: number): string {
    const t = this.typeById(id);
    if (t.kind === 'void') return 'void';
    const prefix = t.kind === 'struct' || t.kind === 'union' || t.kind === 'enum' ? `${t.kind} ` : t.kind === 'enum64' ? 'enum ' : '';
    return t.name ? `${prefix}${t.name}` : `[${id}] ${t.kind}`;
  }
}

function checkedSize(a: number, b: number, id: number): number {
  const n = a * b;
  if (n > 0xffffffff) throw new BtfError(`size of [${id}] exceeds 4 GiB`, 'types', id);
  return n;
}
