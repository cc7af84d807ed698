import { ByteReader, endianOfMagic, type Endian } from './bytes.js';
import { BtfError } from './errors.js';
import { BTF_KIND_MAX, kindNames } from './kinds.js';
import { StringTable } from './strings.js';
import { type BtfType, type Member } from './types.js';

export const BTF_MAGIC = 0xeb9f;
export const BTF_HEADER_SIZE = 24;

/** The fixed header of a .BTF blob. */
export interface BtfHeader {
  version: number;
  flags: number;
  hdrLen: number;
  typeOff: number;
  typeLen: number;
  strOff: number;
  strLen: number;
}

export interface ParsedBtf {
  endian: Endian;
  header: BtfHeader;
  /** Own types, in id order starting at `firstId`. */
  types: BtfType[];
  strings: StringTable;
}

/** What the parser needs to know about a base BTF (split BTF continues its ids and strings). */
export interface BaseInfo {
  /** Number of ids the base uses, void included (the split's first id). */
  typeCount: number;
  strings: StringTable;
  kindOf(id: number): BtfType['kind'];
}

// info word: vlen in bits 0-15, kind in bits 24-28, kind_flag in bit 31; the rest is reserved.
const INFO_RESERVED = ~0x9f00ffff;

/**
 * Parse a .BTF blob (header, type section, string section) into the type model,
 * validating everything later code relies on: bounds, string offsets, type ids, and
 * the absence of reference cycles that C could not express.
 */
export function parseBtf(bytes: Uint8Array, endian?: Endian, base?: BaseInfo): ParsedBtf {
  const detected = endianOfMagic(bytes, BTF_MAGIC);
  if (bytes.length < BTF_HEADER_SIZE) throw new BtfError(`${bytes.length} bytes is too short for a header`, 'header', 0);
  if (detected === undefined) throw new BtfError('bad magic (expected 0xeb9f)', 'header', 0);
  if (endian !== undefined && endian !== detected) {
    throw new BtfError(`data is ${detected}-endian, ${endian}-endian was requested`, 'header', 0);
  }
  const r = new ByteReader(bytes, detected, 'header');
  const header: BtfHeader = {
    version: r.u8(2),
    flags: r.u8(3),
    hdrLen: r.u32(4),
    typeOff: r.u32(8),
    typeLen: r.u32(12),
    strOff: r.u32(16),
    strLen: r.u32(20),
  };
  if (header.version !== 1) throw new BtfError(`unsupported version ${header.version}`, 'header', 2);
  if (header.hdrLen < BTF_HEADER_SIZE || header.hdrLen > bytes.length) {
    throw new BtfError(`header length ${header.hdrLen} outside 24..${bytes.length}`, 'header', 4);
  }
  const dataLen = bytes.length - header.hdrLen;
  if (header.typeOff % 4 !== 0) throw new BtfError(`type section offset ${header.typeOff} is not 4-aligned`, 'header', 8);
  if (header.typeOff + header.typeLen > dataLen) {
    throw new BtfError(`type section [${header.typeOff}, +${header.typeLen}) runs past the data (${dataLen} bytes)`, 'header', 12);
  }
  if (header.strOff + header.strLen > dataLen) {
    throw new BtfError(`string section [${header.strOff}, +${header.strLen}) runs past the data (${dataLen} bytes)`, 'header', 20);
  }
  const typeStart = header.hdrLen + header.typeOff;
  const strStart = header.hdrLen + header.strOff;
  if (header.typeLen > 0 && header.strLen > 0 && typeStart < strStart + header.strLen && strStart < typeStart + header.typeLen) {
    throw new BtfError('type and string sections overlap', 'header', 8);
  }

  const strBytes = bytes.subarray(strStart, strStart + header.strLen);
  if (!base && (strBytes.length === 0 || strBytes[0] !== 0)) {
    throw new BtfError('string section must start with an empty string', 'strings', strStart);
  }
  if (strBytes.length > 0 && strBytes[strBytes.length - 1] !== 0) {
    throw new BtfError('string section does not end in NUL', 'strings', strStart + strBytes.length - 1);
  }
  const strings = new StringTable(strBytes, base?.strings);

  const types = readTypes(new ByteReader(bytes.subarray(typeStart, typeStart + header.typeLen), detected, 'types', typeStart), base?.typeCount ?? 1, strings);
  const parsed = { endian: detected, header, types, strings };
  validateReferences(parsed, base);
  return parsed;
}

function readTypes(r: ByteReader, firstId: number, strings: StringTable): BtfType[] {
  const types: BtfType[] = [];
  let off = 0;
  // Bounds are checked per record (r.need); the reads inside a checked record go straight
  // to the DataView, which is what makes parsing vmlinux fast enough.
  const view = r.view;
  const le = r.little;
  const u32 = (at: number) => view.getUint32(at, le);
  const i32 = (at: number) => view.getInt32(at, le);
  const name = (nameOff: number, at: number): string => {
    if (!strings.has(nameOff)) throw r.error(`name offset ${nameOff} outside the string table (${strings.end} bytes)`, at);
    return strings.get(nameOff);
  };
  while (off < r.length) {
    const at = off;
    const id = firstId + types.length;
    r.need(off, 12, `type [${id}]`);
    const nameOff = u32(off);
    const info = u32(off + 4);
    const sizeOrType = u32(off + 8);
    off += 12;
    if (info & INFO_RESERVED) throw r.error(`type [${id}] has reserved info bits set (0x${(info >>> 0).toString(16)})`, at + 4);
    const kindNo = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kflag = (info & 0x80000000) !== 0;
    if (kindNo === 0 || kindNo > BTF_KIND_MAX) throw r.error(`type [${id}] has unknown kind ${kindNo}`, at + 4);
    const kind = kindNames[kindNo]!;
    const nm = name(nameOff, at);
    const noVlen = () => {
      if (vlen !== 0) throw r.error(`type [${id}] (${kind}) must have vlen 0, has ${vlen}`, at + 4);
    };
    switch (kind) {
      case 'int': {
        noVlen();
        r.need(off, 4, `int [${id}]`);
        const data = u32(off);
        off += 4;
        if (data & 0xf000ff00) throw r.error(`int [${id}] has reserved bits set`, off - 4);
        const bits = data & 0xff;
        const bitOffset = (data >>> 16) & 0xff;
        if (sizeOrType === 0 || sizeOrType > 16 || bits > sizeOrType * 8 || bitOffset + bits > sizeOrType * 8) {
          throw r.error(`int [${id}] has bad size ${sizeOrType}/bits ${bits}/offset ${bitOffset}`, at + 8);
        }
        types.push({ id, name: nm, nameOff, kflag, kind, size: sizeOrType, encoding: (data >>> 24) & 0xf, bitOffset, bits });
        break;
      }
      case 'ptr':
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
      case 'typedef':
        noVlen();
        types.push({ id, name: nm, nameOff, kflag, kind, type: sizeOrType });
        break;
      case 'fwd':
        noVlen();
        types.push({ id, name: nm, nameOff, kflag, kind });
        break;
      case 'float':
        noVlen();
        types.push({ id, name: nm, nameOff, kflag, kind, size: sizeOrType });
        break;
      case 'func':
        types.push({ id, name: nm, nameOff, kflag, kind, type: sizeOrType, linkage: vlen });
        break;
      case 'array': {
        noVlen();
        r.need(off, 12, `array [${id}]`);
        types.push({ id, name: nm, nameOff, kflag, kind, type: u32(off), indexType: u32(off + 4), nelems: u32(off + 8) });
        off += 12;
        break;
      }
      case 'struct':
      case 'union': {
        r.need(off, vlen * 12, `${kind} [${id}] members`);
        const members: Member[] = new Array(vlen);
        for (let i = 0; i < vlen; i++, off += 12) {
          const mNameOff = u32(off);
          const raw = u32(off + 8);
          members[i] = {
            name: name(mNameOff, off),
            nameOff: mNameOff,
            type: u32(off + 4),
            bitOffset: kflag ? raw & 0xffffff : raw,
            bitfieldSize: kflag ? raw >>> 24 : 0,
          };
        }
        types.push({ id, name: nm, nameOff, kflag, kind, size: sizeOrType, members });
        break;
      }
      case 'enum': {
        r.need(off, vlen * 8, `enum [${id}] values`);
        const values = new Array(vlen);
        for (let i = 0; i < vlen; i++, off += 8) {
          const vNameOff = u32(off);
          values[i] = { name: name(vNameOff, off), nameOff: vNameOff, value: BigInt(kflag ? i32(off + 4) : u32(off + 4)) };
        }
        types.push({ id, name: nm, nameOff, kflag, kind, size: sizeOrType, values });
        break;
      }
      case 'enum64': {
        r.need(off, vlen * 12, `enum64 [${id}] values`);
        const values = new Array(vlen);
        for (let i = 0; i < vlen; i++, off += 12) {
          const vNameOff = u32(off);
          const raw = (BigInt(u32(off + 8)) << 32n) | BigInt(u32(off + 4));
          values[i] = { name: name(vNameOff, off), nameOff: vNameOff, value: kflag ? BigInt.asIntN(64, raw) : raw };
        }
        types.push({ id, name: nm, nameOff, kflag, kind, size: sizeOrType, values });
        break;
      }
      case 'func_proto': {
        r.need(off, vlen * 8, `func_proto [${id}] params`);
        const params = new Array(vlen);
        for (let i = 0; i < vlen; i++, off += 8) {
          const pNameOff = u32(off);
          params[i] = { name: name(pNameOff, off), nameOff: pNameOff, type: u32(off + 4) };
        }
        types.push({ id, name: nm, nameOff, kflag, kind, type: sizeOrType, params });
        break;
      }
      case 'var':
        noVlen();
        r.need(off, 4, `var [${id}]`);
        types.push({ id, name: nm, nameOff, kflag, kind, type: sizeOrType, linkage: u32(off) });
        off += 4;
        break;
      case 'datasec': {
        r.need(off, vlen * 12, `datasec [${id}] vars`);
        const vars = new Array(vlen);
        for (let i = 0; i < vlen; i++, off += 12) vars[i] = { type: u32(off), offset: u32(off + 4), size: u32(off + 8) };
        types.push({ id, name: nm, nameOff, kflag, kind, size: sizeOrType, vars });
        break;
      }
      case 'decl_tag':
        noVlen();
        r.need(off, 4, `decl_tag [${id}]`);
        types.push({ id, name: nm, nameOff, kflag, kind, type: sizeOrType, componentIdx: i32(off) });
        off += 4;
        break;
      default:
        throw r.error(`type [${id}] has unknown kind ${kindNo}`, at + 4);
    }
  }
  return types;
}

/**
 * Every referenced id must exist, and every reference cycle must be one C can write:
 * it has to pass through a pointer (or a struct could contain itself) and through a
 * struct or union member (or a chain of pointers/typedefs would refer to itself).
 * Later code walks type graphs recursively and relies on this.
 */
function validateReferences(p: ParsedBtf, base: BaseInfo | undefined): void {
  const first = base?.typeCount ?? 1;
  const count = first + p.types.length;
  const kindOf = (id: number) => (id >= first ? p.types[id - first]!.kind : id === 0 ? 'void' : base!.kindOf(id));
  // Edges in one flat array (CSR layout): refs of type i are edges[start[i]..start[i+1]).
  const start = new Int32Array(p.types.length + 1);
  const edges: number[] = [];
  for (let i = 0; i < p.types.length; i++) {
    const t = p.types[i]!;
    start[i] = edges.length;
    pushReferences(t, edges);
    for (let e = start[i]!; e < edges.length; e++) {
      const id = edges[e]!;
      if (id >= count) throw new BtfError(`type [${t.id}] (${t.kind}) refers to type id ${id}, beyond the last id ${count - 1}`, 'types', t.id);
    }
    if (t.kind === 'datasec') {
      for (const v of t.vars) {
        const k = kindOf(v.type);
        if (k !== 'var' && k !== 'func') throw new BtfError(`datasec [${t.id}] lists type ${v.type} (${k}), not a var`, 'types', t.id);
      }
    }
    if (t.kind === 'func' && kindOf(t.type) !== 'func_proto') {
      throw new BtfError(`func [${t.id}] has type ${t.type} (${kindOf(t.type)}), not a func_proto`, 'types', t.id);
    }
  }
  start[p.types.length] = edges.length;
  const acyclic = (skip: (t: BtfType) => boolean, what: string) => {
    // Iterative DFS: 0 unvisited, 1 on the stack, 2 done. Base types cannot refer back here.
    const state = new Uint8Array(p.types.length);
    const stack: number[] = [];
    const edge: number[] = [];
    for (let root = 0; root < p.types.length; root++) {
      if (state[root]) continue;
      stack.push(root);
      edge.push(0);
      state[root] = 1;
      while (stack.length) {
        const top = stack.length - 1;
        const i = stack[top]!;
        const skipped = skip(p.types[i]!);
        const e = edge[top]!;
        if (skipped || start[i]! + e >= start[i + 1]!) {
          state[i] = 2;
          stack.pop();
          edge.pop();
          continue;
        }
        edge[top] = e + 1;
        const next = edges[start[i]! + e]! - first;
        if (next < 0) continue;
        if (state[next] === 1) throw new BtfError(`reference cycle through type [${next + first}] ${what}`, 'types', next + first);
        if (state[next] === 0) {
          state[next] = 1;
          stack.push(next);
          edge.push(0);
        }
      }
    }
  };
  acyclic((t) => t.kind === 'ptr', 'without a pointer');
  acyclic((t) => t.kind === 'struct' || t.kind === 'union', 'without a struct or union');
}

/** Append the ids `t` refers to (as referencedIds, without allocating). */
function pushReferences(t: BtfType, out: number[]): void {
  switch (t.kind) {
    case 'void':
    case 'int':
    case 'fwd':
    case 'float':
    case 'enum':
    case 'enum64':
      return;
    case 'array':
      out.push(t.type, t.indexType);
      return;
    case 'struct':
    case 'union':
      for (const m of t.members) out.push(m.type);
      return;
    case 'func_proto':
      out.push(t.type);
      for (const p of t.params) out.push(p.type);
      return;
    case 'datasec':
      for (const v of t.vars) out.push(v.type);
      return;
    default:
      out.push(t.type);
  }
}
