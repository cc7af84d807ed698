import type { Btf } from '../btf.js';
import { BtfError } from '../errors.js';
import { fieldsAreCompat, skipModsAndTypedefs, typesAreCompat, typesMatch } from './compat.js';
import { isEnumvalBased, isFieldBased, isTypeBased, coreKindName } from './kinds.js';
import { essentialNameLength } from './names.js';

/** libbpf's BPF_CORE_SPEC_MAX_LEN: deepest access string. */
export const CORE_SPEC_MAX_LEN = 64;

/** One high-level step of an access: a named member or an array index. */
export interface CoreAccessor {
  /** The struct/union (for named members), array element, or enum type id. */
  typeId: number;
  idx: number;
  /** Member or enumerator name; undefined for array indices. */
  name: string | undefined;
}

/**
 * A relocation's access resolved against one BTF (bpf_core_spec): the high-level
 * accessors, the raw access string indices, and the field's bit offset.
 */
export interface CoreSpec {
  btf: Btf;
  rootTypeId: number;
  kind: number;
  spec: CoreAccessor[];
  raw: number[];
  bitOffset: number;
}

/** A spec could not be built: libbpf fails the relocation (and the load). */
export class CoreSpecError extends Error {
  override readonly name = 'CoreSpecError';
}

function sizeOf(btf: Btf, id: number): number {
  try {
    return btf.sizeof(id);
  } catch (e) {
    if (e instanceof BtfError) throw new CoreSpecError(`size of [${id}] is unknown: ${e.reason}`);
    throw e;
  }
}

function isFlexArray(btf: Btf, acc: CoreAccessor | undefined, nelems: number): boolean {
  if (!acc || acc.name === undefined || nelems > 0) return false;
  const t = btf.typeById(acc.typeId);
  return (t.kind === 'struct' || t.kind === 'union') && acc.idx === t.members.length - 1;
}

/** bpf_core_parse_spec: turn "0:1:2" on the local root type into a spec. */
export function parseSpec(btf: Btf, rootTypeId: number, accessString: string, kind: number): CoreSpec {
  if (accessString === '' || accessString[0] === ':') throw new CoreSpecError(`bad access string "${accessString}"`);
  const spec: CoreSpec = { btf, rootTypeId, kind, spec: [], raw: [], bitOffset: 0 };
  if (isTypeBased(kind)) {
    if (accessString !== '0') throw new CoreSpecError(`type relocation with access string "${accessString}"`);
    return spec;
  }
  for (const part of accessString.split(':')) {
    if (!/^\d+$/.test(part)) throw new CoreSpecError(`bad access string "${accessString}"`);
    if (spec.raw.length === CORE_SPEC_MAX_LEN) throw new CoreSpecError('access string too long');
    spec.raw.push(Number(part));
  }
  let { id, t } = skipModsAndTypedefs(btf, rootTypeId);
  let accessIdx = spec.raw[0]!;
  spec.spec.push({ typeId: id, idx: accessIdx, name: undefined });

  if (isEnumvalBased(kind)) {
    if ((t.kind !== 'enum' && t.kind !== 'enum64') || spec.raw.length > 1 || accessIdx >= t.values.length) {
      throw new CoreSpecError(`enum value relocation "${accessString}" does not name an enumerator of [${rootTypeId}]`);
    }
    spec.spec[0]!.name = t.values[accessIdx]!.name;
    return spec;
  }
  if (!isFieldBased(kind)) throw new CoreSpecError(`unknown relocation kind ${kind}`);

  spec.bitOffset = accessIdx * sizeOf(btf, id) * 8;
  for (let i = 1; i < spec.raw.length; i++) {
    ({ id, t } = skipModsAndTypedefs(btf, id));
    accessIdx = spec.raw[i]!;
    if (t.kind === 'struct' || t.kind === 'union') {
      if (accessIdx >= t.members.length) throw new CoreSpecError(`member ${accessIdx} of [${id}] does not exist`);
      const m = t.members[accessIdx]!;
      spec.bitOffset += m.bitOffset;
      if (m.name !== '') spec.spec.push({ typeId: id, idx: accessIdx, name: m.name });
      id = m.type;
    } else if (t.kind === 'array') {
      const elem = skipModsAndTypedefs(btf, t.type);
      const flex = isFlexArray(btf, spec.spec[spec.spec.length - 1], t.nelems);
      if (!flex && accessIdx >= t.nelems) throw new CoreSpecError(`index ${accessIdx} beyond array [${id}] of ${t.nelems}`);
      id = elem.id;
      spec.spec.push({ typeId: id, idx: accessIdx, name: undefined });
      spec.bitOffset += accessIdx * sizeOf(btf, id) * 8;
    } else {
      throw new CoreSpecError(`access "${accessString}" step ${i} reaches [${id}] of kind ${t.kind}`);
    }
  }
  return spec;
}

/**
 * bpf_core_match_member: find the local named member in the target composite, searching
 * anonymous members recursively; extends `spec` on success. 1 found, 0 not found.
 */
function matchMember(local: Btf, localAcc: CoreAccessor, target: Btf, targetId: number, spec: CoreSpec, next: { id: number }, depth = 0): number {
  if (depth > CORE_SPEC_MAX_LEN) throw new CoreSpecError('anonymous members nest too deep');
  const { id: tid, t } = skipModsAndTypedefs(target, targetId);
  if (t.kind !== 'struct' && t.kind !== 'union') return 0;
  const lt = local.typeById(localAcc.typeId);
  if (lt.kind !== 'struct' && lt.kind !== 'union') return 0;
  const localMember = lt.members[localAcc.idx]!;
  for (let i = 0; i < t.members.length; i++) {
    const m = t.members[i]!;
    if (spec.raw.length === CORE_SPEC_MAX_LEN) throw new CoreSpecError('struct/union/array nesting too deep');
    spec.bitOffset += m.bitOffset;
    spec.raw.push(i);
    if (m.name === '') {
      const found = matchMember(local, localAcc, target, m.type, spec, next, depth + 1);
      if (found) return found;
    } else if (m.name === localMember.name) {
      spec.spec.push({ typeId: tid, idx: i, name: m.name });
      next.id = m.type;
      const found = fieldsAreCompat(local, localMember.type, target, m.type);
      if (found < 0) throw new CoreSpecError('field types nest too deep');
      if (!found) spec.spec.pop();
      return found;
    }
    spec.bitOffset -= m.bitOffset;
    spec.raw.pop();
  }
  return 0;
}

/**
 * bpf_core_spec_match: does a candidate target type satisfy the local spec? Returns the
 * target spec, or undefined when it does not match.
 */
export function matchSpec(local: CoreSpec, target: Btf, targetId: number): CoreSpec | undefined {
  const out: CoreSpec = { btf: target, rootTypeId: targetId, kind: local.kind, spec: [], raw: [], bitOffset: 0 };
  if (isTypeBased(local.kind)) {
    const r = local.kind === 12 ? typesMatch(local.btf, local.rootTypeId, target, targetId) : typesAreCompat(local.btf, local.rootTypeId, target, targetId);
    if (r < 0) throw new CoreSpecError(`${coreKindName(local.kind)}: types nest too deep`);
    return r > 0 ? out : undefined;
  }
  const localAcc0 = local.spec[0]!;
  if (isEnumvalBased(local.kind)) {
    const { id, t } = skipModsAndTypedefs(target, targetId);
    if (t.kind !== 'enum' && t.kind !== 'enum64') return undefined;
    const name = localAcc0.name!;
    const len = essentialNameLength(name);
    for (let i = 0; i < t.values.length; i++) {
      const tn = t.values[i]!.name;
      if (essentialNameLength(tn) !== len || tn.slice(0, len) !== name.slice(0, len)) continue;
      out.spec.push({ typeId: id, idx: i, name: tn });
      out.raw.push(i);
      return out;
    }
    return undefined;
  }
  if (!isFieldBased(local.kind)) throw new CoreSpecError(`unknown relocation kind ${local.kind}`);
  let tid = targetId;
  for (let i = 0; i < local.spec.length; i++) {
    const localAcc = local.spec[i]!;
    const skipped = skipModsAndTypedefs(target, tid);
    tid = skipped.id;
    if (localAcc.name !== undefined) {
      const next = { id: tid };
      const matched = matchMember(local.btf, localAcc, target, tid, out, next);
      if (matched <= 0) return undefined;
      tid = next.id;
    } else {
      if (i > 0) {
        const t = skipped.t;
        if (t.kind !== 'array') return undefined;
        const flex = isFlexArray(target, out.spec[out.spec.length - 1], t.nelems);
        if (!flex && localAcc.idx >= t.nelems) return undefined;
        tid = skipModsAndTypedefs(target, t.type).id;
      }
      if (out.raw.length === CORE_SPEC_MAX_LEN) throw new CoreSpecError('struct/union/array nesting too deep');
      out.spec.push({ typeId: tid, idx: localAcc.idx, name: undefined });
      out.raw.push(localAcc.idx);
      out.bitOffset += localAcc.idx * sizeOf(target, tid) * 8;
    }
  }
  return out;
}

/** bpf_core_format_spec: "<byte_off> [5] struct task_struct.pid (0:92 @ offset 1264)", for logs. */
export function formatSpec(spec: CoreSpec): string {
  const t = spec.btf.typeById(spec.rootTypeId);
  let s = `<${coreKindName(spec.kind)}> [${spec.rootTypeId}] ${t.kind} ${t.name || '<anon>'}`;
  if (isTypeBased(spec.kind)) return s;
  if (isEnumvalBased(spec.kind)) {
    const e = skipModsAndTypedefs(spec.btf, spec.rootTypeId).t;
    if (e.kind === 'enum' || e.kind === 'enum64') {
      const v = e.values[spec.raw[0]!];
      if (v) s += `::${v.name} = ${v.value}`;
    }
    return s;
  }
  spec.spec.forEach((a, i) => {
    if (a.name !== undefined) s += `.${a.name}`;
    else if (i > 0 || a.idx > 0) s += `[${a.idx}]`;
  });
  s += ` (${spec.raw.join(':')}`;
  s += spec.bitOffset % 8 ? ` @ offset ${Math.floor(spec.bitOffset / 8)}.${spec.bitOffset % 8})` : ` @ offset ${spec.bitOffset / 8})`;
  return s;
}
