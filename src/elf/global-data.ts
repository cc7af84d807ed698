import { MapFlags, MapType } from '../uapi/map-types.js';
import { SymbolBind, SymbolType } from './elf-constants.js';
import { symbolsIn } from './elf-file.js';
import { ElfError } from './errors.js';
import { datasecOf, sectionPart, type ObjectContext } from './object-context.js';
import type { MapSpec, VariableSpec } from './object-spec.js';

/** BTF_VAR_STATIC linkage. */
const VAR_STATIC = 0;

/**
 * Largest global-data section we accept. The kernel refuses array values above
 * KMALLOC_MAX_SIZE (4 MiB on x86-64); .bss has no bytes in the file, so without a cap a
 * corrupt header could make us allocate gigabytes of zeros.
 */
export const MAX_GLOBAL_DATA_SIZE = 16 << 20;

/**
 * Global data: every non-empty `.data`, `.data.*`, `.rodata`, `.rodata.*`, `.bss` and
 * `.bss.*` section becomes a single-entry array map whose value is the section (zeros
 * for `.bss`), as libbpf's internal maps. `.rodata*` maps are read-only for programs
 * (BPF_F_RDONLY_PROG) and frozen by the loader. A map is mmapable (BPF_F_MMAPABLE) when
 * its DATASEC has a non-static variable, which is libbpf's rule.
 *
 * Variables come from the symbol table (name, offset, size, binding) and get the BTF
 * type of the matching DATASEC entry.
 */
export function collectGlobalData(ctx: ObjectContext): { maps: MapSpec[]; variables: VariableSpec[] } {
  const maps: MapSpec[] = [];
  const variables: VariableSpec[] = [];
  for (const section of ctx.elf.sections) {
    const role = ctx.roles[section.index];
    if (role !== 'data' && role !== 'rodata' && role !== 'bss') continue;
    if (section.size > MAX_GLOBAL_DATA_SIZE) {
      throw new ElfError(
        `${section.size} bytes of global data is more than the ${MAX_GLOBAL_DATA_SIZE} a BPF array map value may hold`,
        sectionPart(section),
        section.offset,
      );
    }
    const datasec = datasecOf(ctx, section.name);
    const readOnly = role === 'rodata';
    let mmapable = false;
    const varTypes = new Map<string, number>();
    if (datasec && ctx.btf) {
      for (const v of datasec.vars) {
        const t = ctx.btf.typeById(v.type);
        if (t.kind !== 'var') continue;
        varTypes.set(t.name, t.type);
        if (t.linkage !== VAR_STATIC) mmapable = true;
      }
    }
    const map: MapSpec = {
      name: section.name,
      type: MapType.ARRAY,
      keySize: 4,
      valueSize: section.size,
      maxEntries: 1,
      flags: (readOnly ? MapFlags.RDONLY_PROG : 0) | (mmapable ? MapFlags.MMAPABLE : 0),
      pinning: 'none',
      sectionName: section.name,
      readOnly,
      // A copy: the spec is editable before load and must not alias the input file.
      initialData: role === 'bss' ? new Uint8Array(section.size) : section.data.slice(),
    };
    if (datasec) map.valueTypeId = datasec.id;
    maps.push(map);

    for (const sym of symbolsIn(ctx.elf, section)) {
      if (sym.type !== SymbolType.OBJECT || sym.name === '') continue;
      const v: VariableSpec = {
        name: sym.name,
        map: section.name,
        offset: sym.value,
        size: sym.size,
        linkage: sym.bind === SymbolBind.LOCAL ? 'static' : 'global',
      };
      const typeId = varTypes.get(sym.name);
      if (typeId !== undefined) v.typeId = typeId;
      variables.push(v);
    }
  }
  return { maps, variables };
}
