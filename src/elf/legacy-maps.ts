import { SymbolType } from './elf-constants.js';
import { symbolsIn } from './elf-file.js';
import { ElfError } from './errors.js';
import { sectionPart, type ObjectContext } from './object-context.js';
import type { MapSpec } from './object-spec.js';

/** The fields of `struct bpf_map_def`, in order; a definition may carry fewer or more. */
const FIELDS = ['type', 'keySize', 'valueSize', 'maxEntries', 'flags'] as const;

/**
 * Legacy `maps` sections: an array of `struct bpf_map_def` of any size, one per symbol.
 * The definition size is the section size divided by the number of symbols, as libbpf
 * 0.x computed it. Fields past the five standard ones (iproute2's id/pinning/inner
 * fields, ...) are ignored; a definition shorter than 20 bytes leaves the rest 0.
 */
export interface LegacyMapDef {
  spec: MapSpec;
  sectionIndex: number;
  offset: number;
}

export function collectLegacyMaps(ctx: ObjectContext): LegacyMapDef[] {
  const out: LegacyMapDef[] = [];
  for (const section of ctx.elf.sections) {
    if (ctx.roles[section.index] !== 'legacy-maps') continue;
    const part = sectionPart(section);
    const symbols = symbolsIn(ctx.elf, section).filter((s) => s.type !== SymbolType.SECTION && s.name !== '');
    if (symbols.length === 0) continue;
    if (section.size % symbols.length !== 0) {
      throw new ElfError(`${section.size} bytes do not divide into ${symbols.length} map definitions`, part, section.offset);
    }
    const defSize = section.size / symbols.length;
    const view = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
    const little = ctx.endian === 'little';
    for (const sym of symbols) {
      if (sym.value + defSize > section.size) {
        throw new ElfError(`map ${sym.name} at offset ${sym.value} runs past the section`, part, section.offset + sym.value);
      }
      const spec: MapSpec = { name: sym.name, type: 0, keySize: 0, valueSize: 0, maxEntries: 0, flags: 0, pinning: 'none', sectionName: section.name };
      FIELDS.forEach((field, i) => {
        if ((i + 1) * 4 <= defSize) spec[field] = view.getUint32(sym.value + i * 4, little);
      });
      out.push({ spec, sectionIndex: section.index, offset: sym.value });
    }
  }
  return out;
}
