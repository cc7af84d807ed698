import type { Btf } from './btf.js';
import type { BtfType } from './types.js';

/**
 * The plain-text listing of `bpftool btf dump file FILE` (format raw): one line per type,
 * members/params/values/vars indented below it. Types of a split BTF's base are left out,
 * as bpftool does.
 */
export function dumpRaw(btf: Btf, ids?: readonly number[]): string {
  const out: string[] = [];
  if (ids) for (const id of ids) out.push(rawType(btf, btf.typeById(id)));
  else for (const t of btf.types) out.push(rawType(btf, t));
  return out.join('');
}

const KIND = {
  void: 'UNKNOWN',
  int: 'INT',
  ptr: 'PTR',
  array: 'ARRAY',
  struct: 'STRUCT',
  union: 'UNION',
  enum: 'ENUM',
  fwd: 'FWD',
  typedef: 'TYPEDEF',
  volatile: 'VOLATILE',
  const: 'CONST',
  restrict: 'RESTRICT',
  func: 'FUNC',
  func_proto: 'FUNC_PROTO',
  var: 'VAR',
  datasec: 'DATASEC',
  float: 'FLOAT',
  decl_tag: 'DECL_TAG',
  type_tag: 'TYPE_TAG',
  enum64: 'ENUM64',
} as const;

const q = (s: string) => `'${s === '' ? '(anon)' : s}'`;

function linkage(l: number): string {
  return l === 0 ? 'static' : l === 1 ? 'global' : l === 2 ? 'extern' : '(unknown)';
}

function intEncoding(e: number): string {
  switch (e) {
    case 0:
      return '(none)';
    case 1:
      return 'SIGNED';
    case 2:
      return 'CHAR';
    case 4:
      return 'BOOL';
    default:
      return 'UNKN';
  }
}

/** One type in bpftool's raw format, newline-terminated. */
export function rawType(btf: Btf, t: BtfType): string {
  let s = `[${t.id}] ${KIND[t.kind]} ${q(t.name)}`;
  switch (t.kind) {
    case 'int':
      s += ` size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${intEncoding(t.encoding)}`;
      break;
    case 'ptr':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'typedef':
    case 'type_tag':
      s += ` type_id=${t.type}`;
      break;
    case 'array':
      s += ` type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
      break;
    case 'struct':
    case 'union':
      s += ` size=${t.size} vlen=${t.members.length}`;
      for (const m of t.members) {
        s += `\n\t${q(m.name)} type_id=${m.type} bits_offset=${m.bitOffset}`;
        if (m.bitfieldSize) s += ` bitfield_size=${m.bitfieldSize}`;
      }
      break;
    case 'enum':
    case 'enum64':
      s += ` encoding=${t.kflag ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`;
      for (const v of t.values) {
        const val = t.kind === 'enum64' ? (t.kflag ? `${BigInt.asIntN(64, v.value)}LL` : `${BigInt.asUintN(64, v.value)}ULL`) : t.kflag ? `${BigInt.asIntN(32, v.value)}` : `${BigInt.asUintN(32, v.value)}`;
        s += `\n\t${q(v.name)} val=${val}`;
      }
      break;
    case 'fwd':
      s += ` fwd_kind=${t.kflag ? 'union' : 'struct'}`;
      break;
    case 'func':
      s += ` type_id=${t.type} linkage=${linkage(t.linkage)}`;
      break;
    case 'func_proto':
      s += ` ret_type_id=${t.type} vlen=${t.params.length}`;
      for (const p of t.params) s += `\n\t${q(p.name)} type_id=${p.type}`;
      break;
    case 'var':
      s += ` type_id=${t.type}, linkage=${linkage(t.linkage)}`;
      break;
    case 'datasec':
      s += ` size=${t.size} vlen=${t.vars.length}`;
      for (const v of t.vars) {
        s += `\n\ttype_id=${v.type} offset=${v.offset} size=${v.size}`;
        if (v.type < btf.typeCount) {
          const vt = btf.typeById(v.type);
          s += ` (${KIND[vt.kind]} ${q(vt.name)})`;
        }
      }
      break;
    case 'float':
      s += ` size=${t.size}`;
      break;
    case 'decl_tag':
      s += ` type_id=${t.type} component_idx=${t.componentIdx}`;
      break;
    default:
      break;
  }
  return `${s}\n`;
}
