/**
 * Prepare an object's BTF for BPF_BTF_LOAD, as libbpf does at open time: clang leaves
 * DATASEC sizes (and, with some versions, variable offsets) at zero, and marks externs
 * with a linkage the kernel refuses. Type ids are kept, so the ids in the ObjectSpec
 * (map key/value types, func_info) stay valid.
 */
import { Btf } from '../btf/btf.js';
import type { BtfType, DatasecType, VarType } from '../btf/types.js';
import type { ObjectSpec } from '../elf/object-spec.js';

const VAR_GLOBAL_ALLOCATED = 1;
const VAR_EXTERN = 2;
const FUNC_STATIC = 0;
const FUNC_GLOBAL = 1;

/** The object's BTF, parsed and fixed up; undefined when the object has none. */
export function objectBtf(spec: ObjectSpec): Btf | undefined {
  if (!spec.btfData) return undefined;
  return Btf.parse(spec.btfData, { endian: spec.endian });
}

/** Bytes the kernel accepts for `btf` of `spec`. */
export function kernelReadyBtf(btf: Btf, spec: ObjectSpec): Uint8Array {
  const types: BtfType[] = btf.types.map((t) => structuredClone(t));
  const byId = (id: number) => types[id - btf.firstId];
  const mapSizes = new Map(spec.maps.map((m) => [m.name, m.valueSize]));
  const varOffsets = new Map(spec.variables.map((v) => [`${v.map}\0${v.name}`, v.offset]));
  const hidden = new Set(spec.hiddenFunctions ?? []);

  for (const t of types) {
    // libbpf verifies __hidden global functions as static ones: the verifier then checks
    // them in their caller's context (a global function's pointer arguments may be NULL).
    if (t.kind === 'func' && t.linkage === FUNC_GLOBAL && hidden.has(t.name)) t.linkage = FUNC_STATIC;
    if (t.kind === 'var' && t.linkage === VAR_EXTERN) (t as VarType).linkage = VAR_GLOBAL_ALLOCATED;
    if (t.kind !== 'datasec') continue;
    const sec = t as DatasecType;
    // Only VARs may sit in a DATASEC for the kernel (.ksyms lists extern FUNCs).
    sec.vars = sec.vars.filter((v) => byId(v.type)?.kind === 'var');
    const sectionSize = mapSizes.get(sec.name);
    if (sectionSize !== undefined) {
      // A global data section: real offsets from the symbol table, size from the section.
      for (const v of sec.vars) {
        const name = (byId(v.type) as VarType).name;
        v.offset = varOffsets.get(`${sec.name}\0${name}`) ?? v.offset;
      }
      sec.vars.sort((a, b) => a.offset - b.offset);
      sec.size = sectionSize;
    } else if (sec.size === 0 || !offsetsValid(sec)) {
      // .maps, license, .kconfig...: the kernel only checks consistency, lay them out in order.
      let at = 0;
      for (const v of sec.vars) {
        v.offset = at;
        at += v.size;
      }
      sec.size = at;
    }
  }
  return new Btf({ endian: btf.endian, types, strings: btf.strings }).encode();
}

function offsetsValid(sec: DatasecType): boolean {
  let end = 0;
  for (const v of sec.vars) {
    if (v.offset < end) return false;
    end = v.offset + v.size;
  }
  return end <= sec.size;
}
