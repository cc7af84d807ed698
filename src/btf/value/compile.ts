import type { Btf } from '../btf.js';
import { BtfError } from '../errors.js';
import { IntEncoding } from '../kinds.js';
import type { CompositeType, DatasecType, Member } from '../types.js';
import { arrayNode, byteArrayNode, charArrayNode } from './arrays.js';
import { bitfieldNode, type BitfieldSpec } from './bitfield.js';
import { compositeNode } from './composite.js';
import type { CodecNode, MemberEntry } from './node.js';
import type { BtfValueOptions } from './options.js';
import { boolNode, enumInfo, enumNode, floatNode, intNode, isSignedInt, pointerNode } from './scalars.js';
import { specialFieldOf } from './special.js';

const MAX_DEPTH = 64;

/**
 * Turns BTF type ids into codec nodes, once per id: the codec of a struct used in ten
 * maps is built once. Modifiers and typedefs resolve to the node of what they name.
 */
export class NodeCompiler {
  private readonly cache = new Map<number, CodecNode>();
  private readonly little: boolean;

  constructor(
    private readonly btf: Btf,
    private readonly options: BtfValueOptions,
  ) {
    this.little = btf.endian === 'little';
  }

  node(id: number, depth = 0): CodecNode {
    const cached = this.cache.get(id);
    if (cached) return cached;
    if (depth > MAX_DEPTH) throw new BtfError(`type nesting below [${id}] is too deep to encode`, 'value', id);
    const built = this.build(id, depth);
    this.cache.set(id, built);
    return built;
  }

  private build(id: number, depth: number): CodecNode {
    const btf = this.btf;
    const t = btf.resolve(id);
    switch (t.kind) {
      case 'int':
        if (t.encoding & IntEncoding.BOOL && t.size === 1) return boolNode();
        if (t.bits !== t.size * 8 || t.bitOffset !== 0) {
          // A C int of fewer bits (old-style BTF bitfield type) used on its own.
          return withSize(bitfieldNode({ bitOffset: t.bitOffset, bits: t.bits, little: this.little, as: { kind: 'int', signed: isSignedInt(t) } }), t.size);
        }
        return intNode(t.size, isSignedInt(t), this.little);
      case 'float':
        return floatNode(t.size, this.little);
      case 'ptr':
        return pointerNode(btf.pointerSize, this.little);
      case 'enum':
      case 'enum64':
        return enumNode(btf, t, this.little, this.options.enumNames === true);
      case 'array':
        return this.array(t.type, t.nelems, depth);
      case 'struct':
      case 'union':
        return this.composite(t, depth);
      case 'datasec':
        return this.datasec(t, depth);
      case 'var':
        return this.node(t.type, depth + 1);
      default:
        throw new BtfError(`${btf.describe(id)} (${t.kind}) has no value layout to encode or decode`, 'value', id);
    }
  }

  private array(elemId: number, count: number, depth: number): CodecNode {
    const elem = this.btf.resolve(elemId);
    const label = `${this.btf.describe(elem.id)}[${count}]`;
    if (elem.kind === 'int' && elem.size === 1 && !(elem.encoding & IntEncoding.BOOL) && elem.bits === 8) {
      const isChar = (elem.encoding & IntEncoding.CHAR) !== 0 || elem.name === 'char';
      if (isChar) return charArrayNode(count, label, this.options.charArraysAsStrings === true);
      return byteArrayNode(count, isSignedInt(elem), label);
    }
    return arrayNode(this.node(elemId, depth + 1), count, label);
  }

  private composite(t: CompositeType, depth: number): CodecNode {
    const entries: MemberEntry[] = [];
    const unionGroups: string[][] = [];
    const top: string[] = [];
    this.flatten(t, 0, t.kind === 'union', entries, top, unionGroups, depth);
    if (t.kind === 'union' && top.length) unionGroups.push(top);
    return compositeNode({ label: this.btf.describe(t.id), size: t.size, entries, unionGroups, markSpecialFields: this.options.markSpecialFields === true });
  }

  /**
   * Members of `t` (at `baseBits`) into `entries`, anonymous struct/union members
   * flattened. `inUnion`: the members are alternatives, so none is required by itself;
   * their names go to `group`. Anonymous unions inside a struct add their own group to `groups`.
   */
  private flatten(t: CompositeType, baseBits: number, inUnion: boolean, entries: MemberEntry[], group: string[], groups: string[][], depth: number): void {
    if (depth > MAX_DEPTH) throw new BtfError(`anonymous members of [${t.id}] nest too deep`, 'value', t.id);
    for (const m of t.members) {
      const bitOffset = baseBits + m.bitOffset;
      const mt = this.btf.resolve(m.type);
      if (m.name === '' && (mt.kind === 'struct' || mt.kind === 'union')) {
        if (mt.kind === 'union') {
          const inner: string[] = [];
          this.flatten(mt, bitOffset, true, entries, inner, groups, depth + 1);
          // Inside a union, an anonymous union is one alternative among the others.
          if (inUnion) group.push(...inner);
          else if (inner.length) groups.push(inner);
        } else {
          this.flatten(mt, bitOffset, inUnion, entries, group, groups, depth + 1);
        }
        continue;
      }
      if (m.name === '') continue; // an unnamed bitfield: padding in C
      const special = specialFieldOf(this.btf, m.type);
      const node = this.memberNode(m, bitOffset, depth);
      entries.push({ name: m.name, offset: node.size === 0 ? 0 : bitOffset / 8, node, required: !inUnion && !special, ...(special ? { special } : {}) });
      if (inUnion && !special) group.push(m.name);
    }
  }

  private memberNode(m: Member, bitOffset: number, depth: number): CodecNode {
    const mt = this.btf.resolve(m.type);
    let bits = m.bitfieldSize;
    let offset = bitOffset;
    if (bits === 0 && mt.kind === 'int' && (mt.bits !== mt.size * 8 || mt.bitOffset !== 0)) {
      // Bitfields in BTF without kind_flag: the int type itself is narrow.
      bits = mt.bits;
      offset += mt.bitOffset;
    }
    if (bits === 0 && offset % 8 !== 0 && (mt.kind === 'int' || mt.kind === 'enum' || mt.kind === 'enum64')) bits = mt.size * 8;
    if (bits === 0) {
      if (offset % 8 !== 0) throw new BtfError(`member ${m.name} of a composite is not byte-aligned`, 'value', m.type);
      return this.node(m.type, depth + 1);
    }
    return bitfieldNode({ bitOffset: offset, bits, little: this.little, as: this.bitfieldMeaning(m.type) });
  }

  private bitfieldMeaning(id: number): BitfieldSpec['as'] {
    const t = this.btf.resolve(id);
    if (t.kind === 'int') return t.encoding & IntEncoding.BOOL ? { kind: 'bool' } : { kind: 'int', signed: isSignedInt(t) };
    if (t.kind === 'enum' || t.kind === 'enum64') return { kind: 'enum', info: enumInfo(this.btf, t), names: this.options.enumNames === true };
    throw new BtfError(`a bitfield of ${this.btf.describe(id)} (${t.kind}) is not an integer`, 'value', id);
  }

  /** A data section (.data, .bss, .rodata) as an object of its variables. */
  private datasec(t: DatasecType, depth: number): CodecNode {
    const entries: MemberEntry[] = [];
    for (const v of t.vars) {
      const vt = this.btf.typeById(v.type);
      if (vt.kind !== 'var') continue; // .ksyms functions: nothing to read
      entries.push({ name: vt.name, offset: v.offset, node: this.node(vt.type, depth + 1), required: true });
    }
    return compositeNode({ label: `section ${t.name}`, size: t.size, entries, unionGroups: [], markSpecialFields: false });
  }
}

/** A node read at offset 0 of its own storage (a standalone narrow int), with that storage's size. */
function withSize(node: CodecNode, size: number): CodecNode {
  return { ...node, size };
}
