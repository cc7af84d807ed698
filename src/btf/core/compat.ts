import type { Btf } from '../btf.js';
import { BtfError } from '../errors.js';
import type { BtfType } from '../types.js';
import { essentialNameLength, namesMatch } from './names.js';

/** Recursion budget libbpf gives the compatibility walks. */
const MAX_DEPTH = 32;

/** A type after const/volatile/restrict/type_tag/typedef, with its id. */
export function skipModsAndTypedefs(btf: Btf, id: number): { id: number; t: BtfType } {
  let t = btf.typeById(id);
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    if (t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'type_tag' || t.kind === 'typedef') {
      id = t.type;
      t = btf.typeById(id);
    } else {
      return { id, t };
    }
  }
  throw new BtfError(`modifier/typedef chain from [${id}] is too long`, 'core', id);
}

function isAnyEnum(t: BtfType): boolean {
  return t.kind === 'enum' || t.kind === 'enum64';
}

function isComposite(t: BtfType): boolean {
  return t.kind === 'struct' || t.kind === 'union';
}

/** btf_kind_core_compat: same kind, or enum vs enum64. */
export function kindsCoreCompat(a: BtfType, b: BtfType): boolean {
  return a.kind === b.kind || (isAnyEnum(a) && isAnyEnum(b));
}

/**
 * bpf_core_types_are_compat: are two types (whose names already match) compatible for
 * TYPE_EXISTS/TYPE_SIZE/TYPE_ID_TARGET? Structs/unions/enums/fwds by kind only, ints
 * unless bitfield-like, pointers/arrays/function protos recursively.
 * Returns 1, 0, or -1 for "too deep" (an error in libbpf).
 */
export function typesAreCompat(local: Btf, localId: number, target: Btf, targetId: number, level = MAX_DEPTH): number {
  if (!kindsCoreCompat(local.typeById(localId), target.typeById(targetId))) return 0;
  for (let depth = MAX_DEPTH; ; ) {
    if (--depth < 0) return -1;
    const l = skipModsAndTypedefs(local, localId);
    const r = skipModsAndTypedefs(target, targetId);
    if (!kindsCoreCompat(l.t, r.t)) return 0;
    const lt = l.t;
    const rt = r.t;
    switch (lt.kind) {
      case 'void':
      case 'struct':
      case 'union':
      case 'enum':
      case 'enum64':
      case 'fwd':
        return 1;
      case 'int':
        return lt.bitOffset === 0 && (rt as typeof lt).bitOffset === 0 ? 1 : 0;
      case 'ptr':
        localId = lt.type;
        targetId = (rt as typeof lt).type;
        continue;
      case 'array':
        localId = lt.type;
        targetId = (rt as typeof lt).type;
        continue;
      case 'func_proto': {
        const rp = rt as typeof lt;
        if (lt.params.length !== rp.params.length) return 0;
        for (let i = 0; i < lt.params.length; i++) {
          if (level <= 0) return -1;
          const a = skipModsAndTypedefs(local, lt.params[i]!.type).id;
          const b = skipModsAndTypedefs(target, rp.params[i]!.type).id;
          const r = typesAreCompat(local, a, target, b, level - 1);
          if (r <= 0) return r;
        }
        localId = skipModsAndTypedefs(local, lt.type).id;
        targetId = skipModsAndTypedefs(target, rp.type).id;
        continue;
      }
      default:
        return 0;
    }
  }
}

/**
 * bpf_core_fields_are_compat: may a local field's type be relocated to a target field's
 * type? Composites always, pointers and floats always, enums/fwds by essential name
 * (or anonymous), ints unless bitfield-like, arrays by element.
 */
export function fieldsAreCompat(local: Btf, localId: number, target: Btf, targetId: number): number {
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    const l = skipModsAndTypedefs(local, localId);
    const r = skipModsAndTypedefs(target, targetId);
    if (isComposite(l.t) && isComposite(r.t)) return 1;
    if (!kindsCoreCompat(l.t, r.t)) return 0;
    switch (l.t.kind) {
      case 'ptr':
      case 'float':
        return 1;
      case 'fwd':
      case 'enum':
      case 'enum64': {
        const ll = essentialNameLength(l.t.name);
        const rl = essentialNameLength(r.t.name);
        return ll === 0 || rl === 0 || (ll === rl && l.t.name.slice(0, ll) === r.t.name.slice(0, rl)) ? 1 : 0;
      }
      case 'int':
        return l.t.bitOffset === 0 && (r.t as typeof l.t).bitOffset === 0 ? 1 : 0;
      case 'array':
        localId = l.t.type;
        targetId = (r.t as typeof l.t).type;
        continue;
      default:
        return 0;
    }
  }
  return -1;
}

/**
 * __bpf_core_types_match (TYPE_MATCHES): a stricter structural match. Members must exist
 * by name and match recursively (only by kind behind pointers), ints by size and
 * signedness, enums by value names and size, arrays by length, protos by arity.
 */
export function typesMatch(local: Btf, localId: number, target: Btf, targetId: number, behindPtr = false, level = MAX_DEPTH): number {
  if (level <= 0) return -1;
  for (let depth = MAX_DEPTH; ; ) {
    if (--depth < 0) return -1;
    const l = skipModsAndTypedefs(local, localId);
    const r = skipModsAndTypedefs(target, targetId);
    const lt = l.t;
    const rt = r.t;
    if (!namesMatch(lt.name, rt.name)) return 0;
    switch (lt.kind) {
      case 'void':
        return rt.kind === 'void' ? 1 : 0;
      case 'fwd': {
        if (behindPtr) {
          if (rt.kind === 'fwd') return lt.kflag === rt.kflag ? 1 : 0;
          return (rt.kind === 'struct' && !lt.kflag) || (rt.kind === 'union' && lt.kflag) ? 1 : 0;
        }
        return rt.kind === 'fwd' && lt.kflag === rt.kflag ? 1 : 0;
      }
      case 'enum':
      case 'enum64': {
        if (rt.kind !== 'enum' && rt.kind !== 'enum64') return 0;
        if (lt.size !== rt.size || lt.values.length > rt.values.length) return 0;
        for (const v of lt.values) if (!rt.values.some((w) => namesMatch(v.name, w.name))) return 0;
        return 1;
      }
      case 'struct':
      case 'union': {
        if (behindPtr) {
          if (lt.kind === rt.kind) return 1;
          if (rt.kind !== 'fwd') return 0;
          return (lt.kind === 'union') === rt.kflag ? 1 : 0;
        }
        if (lt.kind !== rt.kind) return 0;
        const rm = (rt as typeof lt).members;
        if (lt.members.length > rm.length) return 0;
        for (const m of lt.members) {
          let matched = false;
          for (const n of rm) {
            if (!namesMatch(m.name, n.name)) continue;
            const res = typesMatch(local, m.type, target, n.type, behindPtr, level - 1);
            if (res < 0) return res;
            if (res > 0) {
              matched = true;
              break;
            }
          }
          if (!matched) return 0;
        }
        return 1;
      }
      case 'int': {
        if (rt.kind !== 'int') return 0;
        return lt.size === rt.size && (lt.encoding & 1) === (rt.encoding & 1) ? 1 : 0;
      }
      case 'ptr':
        if (rt.kind !== 'ptr') return 0;
        behindPtr = true;
        localId = lt.type;
        targetId = rt.type;
        continue;
      case 'array':
        if (rt.kind !== 'array' || lt.nelems !== rt.nelems) return 0;
        localId = lt.type;
        targetId = rt.type;
        continue;
      case 'func_proto': {
        if (rt.kind !== 'func_proto' || lt.params.length !== rt.params.length) return 0;
        for (let i = 0; i < lt.params.length; i++) {
          const res = typesMatch(local, lt.params[i]!.type, target, rt.params[i]!.type, behindPtr, level - 1);
          if (res <= 0) return res;
        }
        localId = lt.type;
        targetId = rt.type;
        continue;
      }
      default:
        return 0;
    }
  }
}
