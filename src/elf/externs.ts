import { MapFlags, MapType } from '../uapi/map-types.js';
import { ELF64_SYM_SIZE, SymbolBind, SymbolType } from './elf-constants.js';
import { ElfError } from './errors.js';
import { MAX_GLOBAL_DATA_SIZE } from './global-data.js';
import { datasecOf, isExtern, type ObjectContext } from './object-context.js';
import type { ExternSpec, MapSpec } from './object-spec.js';

/** The `.kconfig` and `.ksyms` externs, and the `.kconfig` map that holds kconfig values. */
export interface Externs {
  /** By symbol index. */
  bySymbol: Map<number, ExternSpec>;
  list: ExternSpec[];
  kconfigMap?: MapSpec;
}

/**
 * Collect the object's externs the way libbpf does: each undefined global symbol is
 * looked up in BTF (a VAR or FUNC of the same name) and classified by the DATASEC that
 * lists it, `.kconfig` or `.ksyms`. kconfig externs are laid out in the `.kconfig` map
 * in libbpf's order (by alignment descending, then size ascending, then name), so that
 * their offsets match what libbpf would give them.
 *
 * Without BTF (libbpf refuses such objects) names starting with CONFIG_ or LINUX_ are
 * taken as kconfig and everything else as ksym.
 */
export function collectExterns(ctx: ObjectContext): Externs {
  const kconfig = datasecOf(ctx, '.kconfig');
  const ksyms = datasecOf(ctx, '.ksyms');
  const btf = ctx.btf;
  const bySymbol = new Map<number, ExternSpec>();
  // name -> DATASEC entry, built once: externs and entries can both number in the thousands.
  const entriesByName = (sec: typeof kconfig) => {
    const m = new Map<string, NonNullable<typeof kconfig>['vars'][number]>();
    if (sec && btf) {
      for (const v of sec.vars) {
        const t = btf.typeById(v.type);
        if ((t.kind === 'var' || t.kind === 'func') && !m.has(t.name)) m.set(t.name, v);
      }
    }
    return m;
  };
  const kconfigEntries = entriesByName(kconfig);
  const ksymEntries = entriesByName(ksyms);
  const kconfigList: Array<ExternSpec & { align: number }> = [];
  const ksymList: ExternSpec[] = [];

  const symtab = ctx.elf.sections[ctx.elf.symbolTableIndex]!;
  for (const sym of ctx.elf.symbols) {
    if (!isExtern(sym)) continue;
    const at = symtab.offset + sym.index * ELF64_SYM_SIZE;
    const weak = sym.bind === SymbolBind.WEAK;
    const part = `extern ${sym.name} (symbol ${sym.index})`;
    let kind: 'kconfig' | 'ksym';
    let typeId: number | undefined;
    if (btf) {
      const k = kconfigEntries.get(sym.name);
      const s = k ? undefined : ksymEntries.get(sym.name);
      if (k) {
        kind = 'kconfig';
        typeId = k.type;
      } else if (s) {
        kind = 'ksym';
        typeId = s.type;
      } else {
        // An extern function that BTF does not list in .ksyms is still a kfunc by name.
        kind = sym.type === SymbolType.FUNC ? 'ksym' : guessKind(sym.name);
        const found = btf.findByName(sym.name, 'func') ?? btf.findByName(sym.name, 'var');
        if (found) typeId = found.id;
      }
    } else {
      kind = sym.type === SymbolType.FUNC ? 'ksym' : guessKind(sym.name);
    }
    const spec: ExternSpec = { name: sym.name, kind, weak };
    if (typeId !== undefined) spec.typeId = typeId;
    if (kind === 'kconfig') {
      let size = sym.size;
      let align = Math.min(8, Math.max(1, size));
      if (btf && typeId !== undefined) {
        const v = btf.typeById(typeId);
        if (v.kind === 'var') {
          size = btf.sizeof(v.type);
          align = btf.alignof(v.type);
        }
      }
      if (size <= 0 || align <= 0) throw new ElfError(`kconfig extern has no usable size (${size}) or alignment (${align})`, part, at);
      if (size > MAX_GLOBAL_DATA_SIZE) throw new ElfError(`kconfig extern of ${size} bytes is larger than any kconfig value`, part, at);
      spec.size = size;
      kconfigList.push({ ...spec, align });
    } else {
      ksymList.push(spec);
    }
    bySymbol.set(sym.index, spec);
  }

  kconfigList.sort((a, b) => b.align - a.align || a.size! - b.size! || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let offset = 0;
  const kconfigSpecs: ExternSpec[] = [];
  for (const k of kconfigList) {
    offset = Math.ceil(offset / k.align) * k.align;
    const { align: _align, ...spec } = k;
    spec.offset = offset;
    offset += k.size!;
    if (offset > MAX_GLOBAL_DATA_SIZE) throw new ElfError(`kconfig externs need ${offset} bytes, more than a map value may hold`, 'extern .kconfig', symtab.offset);
    kconfigSpecs.push(spec);
  }
  // The map entries in bySymbol must be the laid-out specs.
  const laidOut = new Map(kconfigSpecs.map((k) => [k.name, k]));
  for (const [index, spec] of bySymbol) {
    if (spec.kind === 'kconfig') bySymbol.set(index, laidOut.get(spec.name)!);
  }
  const out: Externs = { bySymbol, list: [...kconfigSpecs, ...ksymList] };
  if (kconfigSpecs.length > 0) {
    out.kconfigMap = {
      name: '.kconfig',
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: offset,
      maxEntries: 1,
      flags: MapFlags.RDONLY_PROG | MapFlags.MMAPABLE,
      pinning: 'none',
      sectionName: '.kconfig',
      readOnly: true,
      initialData: new Uint8Array(offset),
    };
    if (kconfig) out.kconfigMap.valueTypeId = kconfig.id;
  }
  return out;
}

function guessKind(name: string): 'kconfig' | 'ksym' {
  return name.startsWith('CONFIG_') || name.startsWith('LINUX_') ? 'kconfig' : 'ksym';
}
