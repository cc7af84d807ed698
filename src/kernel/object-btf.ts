/**
 * Prepare an object's BTF for BPF_BTF_LOAD, as libbpf does at open time: clang leaves
 * DATASEC sizes (and, with some versions, variable offsets) at zero, and marks externs
 * with a linkage the kernel refuses. Type ids are kept, so the ids in the ObjectSpec
 * (map key/value types, func_info) stay valid.
 */
import { Btf } from '../btf/btf.js';
import { IntEncoding } from '../btf/kinds.js';
import type { BtfType, DatasecType, IntType, VarType } from '../btf/types.js';
import type { ObjectSpec } from '../elf/object-spec.js';

const VAR_GLOBAL_ALLOCATED = 1;
const VAR_EXTERN = 2;
const FUNC_STATIC = 0;
const FUNC_GLOBAL = 1;
const FUNC_EXTERN = 2;

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
  let dummy = 0;
  /** A global `int` VAR standing in for kfunc entries of .ksyms (added once, after every other type). */
  const dummyVar = (): number => {
    if (dummy) return dummy;
    const add = (t: Omit<IntType, 'id'> | Omit<VarType, 'id'>): number => {
      const id = btf.firstId + types.length;
      types.push({ ...t, id } as BtfType);
      return id;
    };
    const int = add({ kind: 'int', name: 'int', nameOff: 0, kflag: false, size: 4, encoding: IntEncoding.SIGNED, bitOffset: 0, bits: 32 });
    dummy = add({ kind: 'var', name: 'dummy_ksym', nameOff: 0, kflag: false, type: int, linkage: VAR_GLOBAL_ALLOCATED });
    return dummy;
  };

  for (const t of types) {
    // libbpf verifies __hidden global functions as static ones: the verifier then checks
    // them in their caller's context (a global function's pointer arguments may be NULL).
    if (t.kind === 'func' && t.linkage === FUNC_GLOBAL && hidden.has(t.name)) t.linkage = FUNC_STATIC;
    if (t.kind === 'var' && t.linkage === VAR_EXTERN) (t as VarType).linkage = VAR_GLOBAL_ALLOCATED;
    if (t.kind === 'func' && t.linkage === FUNC_EXTERN) {
      // kfunc declarations: the kernel refuses extern FUNCs ("Invalid func linkage") and
      // the unnamed parameters of a non-static one ("Invalid arg#1"); libbpf makes them
      // global and names the parameters, and so do we (the kernel checks calls against
      // its own kfunc BTF, not these).
      t.linkage = FUNC_GLOBAL;
      const proto = byId(t.type);
      if (proto?.kind === 'func_proto') {
        proto.params.forEach((p, i) => {
          if (p.type !== 0 && p.name === '') p.name = `arg${i}`;
        });
      }
    }
    if (t.kind !== 'datasec') continue;
    const sec = t as DatasecType;
    // Only VARs may sit in a DATASEC for the kernel, and not an empty one: the extern
    // FUNCs .ksyms lists become a 4-byte dummy VAR each, as libbpf does.
    sec.vars = sec.vars.map((v) => (byId(v.type)?.kind === 'func' ? { type: dummyVar(), offset: v.offset, size: 4 } : v));
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
