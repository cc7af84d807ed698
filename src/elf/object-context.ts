import { Btf } from '../btf/btf.js';
import { parseBtfExt, type BtfExt } from '../btf/ext.js';
import type { DatasecType } from '../btf/types.js';
import { ElfMachine, ElfType, SectionFlags, SectionType, SHN, SymbolType } from './elf-constants.js';
import type { ElfFile, ElfRelocationSection, ElfSection, ElfSymbol } from './elf-file.js';
import { ElfError } from './errors.js';

/** How the object loader classifies a section (libbpf's bpf_object__elf_collect rules). */
export type SectionRole = 'program' | 'btf-maps' | 'legacy-maps' | 'data' | 'rodata' | 'bss' | 'struct-ops' | 'other';

/**
 * Everything the parts of the object loader share: the parsed ELF, the object's BTF
 * and BTF.ext (when present), each section's role and each section's relocations.
 */
export interface ObjectContext {
  elf: ElfFile;
  endian: 'little' | 'big';
  btf?: Btf;
  ext?: BtfExt;
  roles: SectionRole[];
  /** Index of `.text`, or -1. */
  textIndex: number;
  /** Relocations per target section index (against .symtab only). */
  relocations: Map<number, ElfRelocationSection>;
}

/** Role of one section, by name, type and flags, the way libbpf decides. */
export function sectionRole(s: ElfSection): SectionRole {
  if (s.type === SectionType.PROGBITS && s.size > 0) {
    if (s.flags & SectionFlags.EXECINSTR) return 'program';
    if (s.name === '.maps') return 'btf-maps';
    if (s.name === '.struct_ops' || s.name === '.struct_ops.link') return 'struct-ops';
    if (s.name === 'maps' || s.name.startsWith('maps/')) return 'legacy-maps';
    if (s.name === '.data' || s.name.startsWith('.data.')) return 'data';
    if (s.name === '.rodata' || s.name.startsWith('.rodata.')) return 'rodata';
  }
  if (s.type === SectionType.NOBITS && s.size > 0 && (s.name === '.bss' || s.name.startsWith('.bss.'))) return 'bss';
  return 'other';
}

/** Build the shared context: check the file is a BPF relocatable object and parse its BTF. */
export function objectContext(elf: ElfFile): ObjectContext {
  if (elf.header.machine !== ElfMachine.BPF) {
    throw new ElfError(`machine is ${elf.header.machine}, not BPF (247): this is not an eBPF object`, 'ELF header', 18);
  }
  if (elf.header.type !== ElfType.REL) {
    throw new ElfError(`ELF type is ${elf.header.type}, not a relocatable object (1)`, 'ELF header', 16);
  }
  if (elf.symbolTableIndex < 0) throw new ElfError('the object has no symbol table (.symtab)', 'section headers');
  const roles = elf.sections.map(sectionRole);
  const text = elf.sections.find((s) => s.name === '.text' && roles[s.index] === 'program');
  const relocations = new Map<number, ElfRelocationSection>();
  for (const rs of elf.relocationSections) {
    if (rs.symbolTableIndex !== elf.symbolTableIndex || relocations.has(rs.targetIndex)) continue;
    relocations.set(rs.targetIndex, rs);
  }
  const ctx: ObjectContext = { elf, endian: elf.header.endian, roles, textIndex: text ? text.index : -1, relocations };
  const btfSection = elf.sections.find((s) => s.name === '.BTF');
  if (btfSection && btfSection.type !== SectionType.NOBITS) {
    ctx.btf = Btf.parse(btfSection.data, { endian: ctx.endian });
    const extSection = elf.sections.find((s) => s.name === '.BTF.ext');
    if (extSection && extSection.type !== SectionType.NOBITS) ctx.ext = parseBtfExt(extSection.data, ctx.btf);
  }
  return ctx;
}

/** The BTF DATASEC describing section `name`, if the object has BTF and one. */
export function datasecOf(ctx: ObjectContext, name: string): DatasecType | undefined {
  return ctx.btf?.findByName(name, 'datasec');
}

/** Is the symbol an extern (undefined, named, global or weak, not a file/section symbol)? */
export function isExtern(sym: ElfSymbol): boolean {
  return sym.sectionIndex === SHN.UNDEF && sym.index !== 0 && sym.name !== '' && sym.type !== SymbolType.SECTION && sym.type !== SymbolType.FILE;
}

/** "section 7 (xdp)", for error messages. */
export function sectionPart(s: ElfSection): string {
  return `section ${s.index} (${s.name})`;
}
