import { SectionType, SegmentType, SHN, SymbolBind, SymbolType } from './elf-constants.js';
import type { ElfFile, ElfSymbol } from './elf-file.js';
import { ElfError } from './errors.js';

/**
 * File offset of function `symbol` in an executable or shared library, as a uprobe
 * wants it (what libbpf's elf_find_func_offset computes): the symbol's virtual address
 * moved into its section's file range, `st_value - sh_addr + sh_offset`. .symtab is
 * searched first, then .dynsym; a `name@VERSION` entry matches `name`. When several
 * definitions disagree, a global one wins over weak ones; two globals are ambiguous.
 *
 * @throws ElfError when the symbol is missing, ambiguous or lies outside any section.
 */
export function uprobeOffset(elf: ElfFile, symbol: string): number {
  const tableOffset = (elf.sections[elf.symbolTableIndex] ?? elf.sections[elf.dynamicSymbolTableIndex])?.offset;
  let found: { offset: number; sym: ElfSymbol } | undefined;
  for (const table of [elf.symbols, elf.dynamicSymbols]) {
    for (const sym of table) {
      if (sym.type !== SymbolType.FUNC && sym.type !== SymbolType.GNU_IFUNC) continue;
      if (sym.sectionIndex === SHN.UNDEF || sym.sectionIndex >= SHN.LORESERVE) continue;
      if (sym.name !== symbol && stripVersion(sym.name) !== symbol) continue;
      const offset = symbolFileOffset(elf, sym);
      if (!found) {
        found = { offset, sym };
      } else if (found.offset !== offset) {
        if (found.sym.bind !== SymbolBind.WEAK && sym.bind !== SymbolBind.WEAK) {
          throw new ElfError(`function "${symbol}" is defined twice, at file offsets ${found.offset} and ${offset}`, 'symbol table', tableOffset);
        }
        if (found.sym.bind === SymbolBind.WEAK && sym.bind !== SymbolBind.WEAK) found = { offset, sym };
      }
    }
    // Like libbpf: a match in .symtab settles it; .dynsym is the fallback for stripped files.
    if (found) break;
  }
  if (!found) throw new ElfError(`no function named "${symbol}" in .symtab or .dynsym`, 'symbol table', tableOffset);
  return found.offset;
}

/** File offset of a defined symbol: through its section, or through PT_LOAD when that fails. */
export function symbolFileOffset(elf: ElfFile, sym: ElfSymbol): number {
  const section = elf.sections[sym.sectionIndex];
  if (section && section.type !== SectionType.NOBITS && sym.value >= section.addr && sym.value < section.addr + Math.max(section.size, 1)) {
    return sym.value - section.addr + section.offset;
  }
  const offset = addressToFileOffset(elf, sym.value);
  if (offset === undefined) {
    throw new ElfError(`symbol "${sym.name}" (address 0x${sym.value.toString(16)}) lies in no section or PT_LOAD segment`, 'symbol table', elf.sections[elf.symbolTableIndex]?.offset);
  }
  return offset;
}

/** Map a virtual address to a file offset through the PT_LOAD segments, or undefined. */
export function addressToFileOffset(elf: ElfFile, address: number): number | undefined {
  for (const seg of elf.segments) {
    if (seg.type !== SegmentType.LOAD) continue;
    if (address >= seg.vaddr && address < seg.vaddr + seg.filesz) return address - seg.vaddr + seg.offset;
  }
  return undefined;
}

function stripVersion(name: string): string {
  const at = name.indexOf('@');
  return at < 0 ? name : name.slice(0, at);
}
