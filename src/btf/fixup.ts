import { Btf } from './btf.js';
import { BtfError } from './errors.js';
import { Linkage } from './kinds.js';
import type { BtfType, DatasecType, EnumType } from './types.js';

/**
 * Where a variable's ELF symbol is: its value (offset in its section) and whether its
 * visibility is STV_HIDDEN or STV_INTERNAL (libbpf then treats the variable as static).
 */
export interface VariableSymbol {
  offset: number;
  hidden: boolean;
}

/** What the datasec fix-up needs from the ELF file, without the BTF layer reading ELF. */
export interface DatasecFixupSource {
  /** Size of the ELF section called `name`; undefined when there is no such section. */
  sectionSize(name: string): number | undefined;
  /** The ELF symbol of the global variable `name`; undefined when there is none. */
  variable(name: string): VariableSymbol | undefined;
}

/** A {@link DatasecFixupSource} from plain maps (section name -> size, symbol -> info). */
export function datasecSourceFromMaps(
  sizes: ReadonlyMap<string, number> | Record<string, number>,
  symbols: ReadonlyMap<string, VariableSymbol | number> | Record<string, VariableSymbol | number>,
): DatasecFixupSource {
  const get = <T>(m: ReadonlyMap<string, T> | Record<string, T>, k: string): T | undefined =>
    m instanceof Map ? m.get(k) : Object.prototype.hasOwnProperty.call(m, k) ? (m as Record<string, T>)[k] : undefined;
  return {
    sectionSize: (name) => get(sizes, name),
    variable: (name) => {
      const v = get(symbols, name);
      return typeof v === 'number' ? { offset: v, hidden: false } : v;
    },
  };
}

/** Shallow-copy a type list so fix-ups never mutate the input Btf. */
function copyTypes(btf: Btf): BtfType[] {
  return btf.types.map((t) => ({ ...t }) as BtfType);
}

/**
 * libbpf's btf_fixup_datasec, for every DATASEC: clang leaves section sizes and variable
 * offsets zero, the kernel needs them. Sizes come from the ELF sections, offsets from the
 * variables' symbols (static and extern variables keep theirs, as in libbpf); hidden
 * globals become static; variables are sorted by offset. `.kconfig`/`.ksyms` are only
 * sorted (their layout is decided when externs are resolved).
 */
export function fixupDatasecs(btf: Btf, source: DatasecFixupSource): Btf {
  const types = copyTypes(btf);
  const byId = (id: number): BtfType => (id >= btf.firstId ? types[id - btf.firstId]! : btf.typeById(id));
  for (let i = 0; i < types.length; i++) {
    const t = types[i]!;
    if (t.kind !== 'datasec') continue;
    const sec: DatasecType = (types[i] = { ...t, vars: t.vars.map((v) => ({ ...v })) });
    if (sec.name !== '.kconfig' && sec.name !== '.ksyms') {
      let fixupOffsets = false;
      if (sec.size === 0) {
        const size = source.sectionSize(sec.name);
        if (!size) throw new BtfError(`no size for section "${sec.name}" in the ELF file`, 'fixup', sec.id);
        sec.size = size;
        fixupOffsets = true;
      }
      for (const vsi of sec.vars) {
        const v = byId(vsi.type);
        if (v.kind !== 'var') throw new BtfError(`datasec "${sec.name}" lists [${vsi.type}] (${v.kind}), not a var`, 'fixup', sec.id);
        if (v.linkage === Linkage.STATIC || v.linkage === Linkage.EXTERN) continue;
        const sym = source.variable(v.name);
        if (!sym) throw new BtfError(`no ELF symbol for variable "${v.name}" of section "${sec.name}"`, 'fixup', v.id);
        if (fixupOffsets) vsi.offset = sym.offset;
        if (sym.hidden && v.id >= btf.firstId) types[v.id - btf.firstId] = { ...v, linkage: Linkage.STATIC };
      }
    }
    // Array.prototype.sort is stable; libbpf's qsort is not, but equal offsets only occur for
    // zero-sized variables, whose order the kernel does not care about.
    sec.vars.sort((a, b) => a.offset - b.offset);
  }
  return new Btf({ endian: btf.endian, types, strings: btf.strings, base: btf.base });
}

/** BTF features a kernel may lack; everything is supported on the 5.x+ kernels libbpf targets. */
export interface KernelBtfFeatures {
  /** BTF_KIND_FUNC / FUNC_PROTO (4.20). */
  func: boolean;
  /** Global FUNC linkage (5.6). */
  funcGlobal: boolean;
  /** BTF_KIND_VAR / DATASEC (5.2). */
  datasec: boolean;
  /** BTF_KIND_FLOAT (5.13). */
  float: boolean;
  /** BTF_KIND_DECL_TAG (5.16). */
  declTag: boolean;
  /** BTF_KIND_TYPE_TAG (5.17). */
  typeTag: boolean;
  /** BTF_KIND_ENUM64 and signed enums (6.0). */
  enum64: boolean;
}

/** A kernel that supports every kind (no sanitising). */
export const ALL_BTF_FEATURES: Readonly<KernelBtfFeatures> = Object.freeze({
  func: true,
  funcGlobal: true,
  datasec: true,
  float: true,
  declTag: true,
  typeTag: true,
  enum64: true,
});

/**
 * libbpf's bpf_object__sanitize_btf: rewrite kinds the target kernel does not know into
 * ones it does, keeping every type id and record size so the rest of the BTF and the
 * program's func/line info stay valid:
 * VAR and DECL_TAG become 1-byte INTs; DATASEC a STRUCT (dots in its name become
 * underscores); FUNC_PROTO an ENUM and FUNC a TYPEDEF; global FUNCs static; FLOAT an
 * anonymous empty STRUCT; TYPE_TAG an anonymous CONST; ENUM loses its signed flag and
 * ENUM64 becomes a UNION of an appended 1-byte "enum64_placeholder" INT.
 */
export function sanitizeBtf(btf: Btf, features: KernelBtfFeatures): Btf {
  const types = copyTypes(btf);
  const byId = (id: number): BtfType => (id >= btf.firstId ? types[id - btf.firstId]! : btf.typeById(id));
  let placeholder = 0;
  const originalCount = types.length;
  for (let i = 0; i < originalCount; i++) {
    const t = types[i]!;
    const base = { id: t.id, name: t.name, nameOff: t.nameOff };
    if ((!features.datasec && t.kind === 'var') || (!features.declTag && t.kind === 'decl_tag')) {
      types[i] = { ...base, kind: 'int', kflag: false, size: 1, encoding: 0, bitOffset: 0, bits: 8 };
    } else if (!features.datasec && t.kind === 'datasec') {
      types[i] = {
        id: t.id,
        name: t.name.replace(/\./g, '_'),
        nameOff: t.nameOff,
        kind: 'struct',
        kflag: false,
        size: t.size,
        members: t.vars.map((v) => {
          const vt = byId(v.type);
          return { name: vt.name, nameOff: vt.nameOff, type: v.type, bitOffset: v.offset * 8, bitfieldSize: 0 };
        }),
      };
    } else if (!features.func && t.kind === 'func_proto') {
      types[i] = {
        ...base,
        kind: 'enum',
        kflag: false,
        size: 4,
        values: t.params.map((p) => ({ name: p.name, nameOff: p.nameOff, value: BigInt(p.type) })),
      };
    } else if (!features.func && t.kind === 'func') {
      types[i] = { ...base, kind: 'typedef', kflag: false, type: t.type };
    } else if (!features.funcGlobal && t.kind === 'func') {
      types[i] = { ...base, kind: 'func', kflag: false, type: t.type, linkage: Linkage.STATIC };
    } else if (!features.float && t.kind === 'float') {
      types[i] = { id: t.id, name: '', nameOff: 0, kind: 'struct', kflag: false, size: t.size, members: [] };
    } else if (!features.typeTag && t.kind === 'type_tag') {
      types[i] = { id: t.id, name: '', nameOff: 0, kind: 'const', kflag: false, type: t.type };
    } else if (!features.enum64 && t.kind === 'enum') {
      // Without the signed flag the kernel reads values as unsigned: keep the same bits.
      const e: EnumType = { ...t, kflag: false, values: t.values.map((v) => ({ ...v, value: BigInt.asUintN(32, v.value) })) };
      types[i] = e;
    } else if (!features.enum64 && t.kind === 'enum64') {
      if (placeholder === 0) {
        placeholder = btf.firstId + types.length;
        types.push({
          id: placeholder,
          kind: 'int',
          name: 'enum64_placeholder',
          nameOff: -1,
          kflag: false,
          size: 1,
          encoding: 0,
          bitOffset: 0,
          bits: 8,
        });
      }
      types[i] = {
        ...base,
        kind: 'union',
        kflag: false,
        size: t.size,
        members: t.values.map((v) => ({ name: v.name, nameOff: v.nameOff, type: placeholder, bitOffset: 0, bitfieldSize: 0 })),
      };
    }
  }
  return new Btf({ endian: btf.endian, types, strings: btf.strings, base: btf.base });
}

/**
 * The BTF features of a mainline kernel version, for sanitising without probing:
 * FUNC 5.0 (4.20 for BTF_KIND_FUNC; libbpf probes both together), DATASEC 5.2, global
 * functions 5.6, FLOAT 5.13, DECL_TAG 5.16, TYPE_TAG 5.17, ENUM64 6.0.
 */
export function btfFeaturesOfKernel(major: number, minor: number): KernelBtfFeatures {
  const v = major * 1000 + minor;
  return {
    func: v >= 5000,
    datasec: v >= 5002,
    funcGlobal: v >= 5006,
    float: v >= 5013,
    declTag: v >= 5016,
    typeTag: v >= 5017,
    enum64: v >= 6000,
  };
}
