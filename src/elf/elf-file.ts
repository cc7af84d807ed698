import { ByteReader, readCString } from './byte-reader.js';
import {
  ELF64_EHDR_SIZE,
  ELF64_PHDR_SIZE,
  ELF64_REL_SIZE,
  ELF64_RELA_SIZE,
  ELF64_SHDR_SIZE,
  ELF64_SYM_SIZE,
  ElfClass,
  ElfData,
  SectionType,
  SHN,
} from './elf-constants.js';
import { ElfError } from './errors.js';

/** The ELF file header (the fields a reader of objects and executables needs). */
export interface ElfHeader {
  endian: 'little' | 'big';
  /** EI_OSABI. */
  osAbi: number;
  /** e_type: REL (object), EXEC, DYN (shared library / PIE). */
  type: number;
  /** e_machine: 247 for BPF, 62 for x86-64, 183 for aarch64. */
  machine: number;
  flags: number;
  entry: number;
  /** Index of the section-name string table. */
  shstrndx: number;
}

/** One section header, with a view of its bytes. */
export interface ElfSection {
  index: number;
  name: string;
  type: number;
  /** sh_flags (WRITE, ALLOC, EXECINSTR, ...); the upper 32 bits are not kept. */
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
  /** The section's bytes (a view into the input, not a copy); empty for SHT_NOBITS. */
  data: Uint8Array;
}

/** One program header. */
export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  paddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

/** One symbol of .symtab or .dynsym. */
export interface ElfSymbol {
  /** Index in its table (relocations refer to symbols by this index). */
  index: number;
  name: string;
  value: number;
  size: number;
  /** STT_* (low 4 bits of st_info). */
  type: number;
  /** STB_* (high 4 bits of st_info). */
  bind: number;
  /** STV_* (low 2 bits of st_other). */
  visibility: number;
  /** st_shndx, resolved through SHT_SYMTAB_SHNDX when it is SHN_XINDEX. */
  sectionIndex: number;
}

/** One relocation entry (REL or RELA). */
export interface ElfRelocation {
  /** r_offset: byte offset in the target section (objects) or a virtual address. */
  offset: number;
  /** Relocation type (R_BPF_64_64, ...). */
  type: number;
  /** Index of the symbol in the linked symbol table. */
  symbolIndex: number;
  /** RELA addend; 0 for REL. */
  addend: number;
}

/** A relocation section, with the section it patches. */
export interface ElfRelocationSection {
  section: ElfSection;
  kind: 'rel' | 'rela';
  /** Index of the section the entries patch (sh_info). */
  targetIndex: number;
  /** Index of the symbol table they refer to (sh_link). */
  symbolTableIndex: number;
  entries: ElfRelocation[];
}

/** A parsed ELF64 file. Sections' `data` are views of the input bytes. */
export interface ElfFile {
  bytes: Uint8Array;
  header: ElfHeader;
  sections: ElfSection[];
  segments: ElfSegment[];
  /** .symtab (index 0 is the null symbol), or empty. */
  symbols: ElfSymbol[];
  /** .dynsym (index 0 is the null symbol), or empty. */
  dynamicSymbols: ElfSymbol[];
  /** Index of the .symtab section, or -1. */
  symbolTableIndex: number;
  /** Index of the .dynsym section, or -1. */
  dynamicSymbolTableIndex: number;
  relocationSections: ElfRelocationSection[];
}

const MAGIC = [0x7f, 0x45, 0x4c, 0x46];

/**
 * Parse an ELF64 file (little- or big-endian): header, sections, program headers,
 * .symtab/.dynsym and relocation sections. Everything is bounds-checked before it is
 * read or allocated.
 *
 * @throws ElfError naming the part and offset of the file that is truncated or corrupt.
 */
export function parseElf(bytes: Uint8Array): ElfFile {
  if (bytes.length < 16) throw new ElfError(`file is ${bytes.length} bytes, too short for an ELF identification`, 'ELF header', 0);
  for (let i = 0; i < 4; i++) {
    if (bytes[i] !== MAGIC[i]) throw new ElfError('not an ELF file (bad magic)', 'ELF header', 0);
  }
  if (bytes[4] !== ElfClass.ELF64) throw new ElfError(`ELF class ${bytes[4]} is not ELF64`, 'ELF header', 4);
  if (bytes[5] !== ElfData.LSB && bytes[5] !== ElfData.MSB) {
    throw new ElfError(`data encoding ${bytes[5]} is neither little- nor big-endian`, 'ELF header', 5);
  }
  const r = new ByteReader(bytes, bytes[5] === ElfData.LSB);
  r.need(0, ELF64_EHDR_SIZE, 'ELF header');
  const header: ElfHeader = {
    endian: r.little ? 'little' : 'big',
    osAbi: bytes[7]!,
    type: r.u16(16),
    machine: r.u16(18),
    entry: r.u64(24),
    flags: r.u32(48),
    shstrndx: r.u16(62),
  };
  const phoff = r.size64(32, 'program header offset', 'ELF header');
  const shoff = r.size64(40, 'section header offset', 'ELF header');
  const phentsize = r.u16(54);
  let phnum = r.u16(56);
  const shentsize = r.u16(58);
  let shnum = r.u16(60);

  // Section 0 carries the real counts when they do not fit 16 bits (extended numbering).
  if (shoff !== 0 && (shnum === 0 || header.shstrndx === SHN.XINDEX || phnum === 0xffff)) {
    r.need(shoff, ELF64_SHDR_SIZE, 'section header 0');
    if (shnum === 0) shnum = r.size64(shoff + 32, 'section count', 'section header 0');
    if (header.shstrndx === SHN.XINDEX) header.shstrndx = r.u32(shoff + 40);
    if (phnum === 0xffff) phnum = r.u32(shoff + 44);
  }

  const nameOffsets: number[] = [];
  const sections = readSectionHeaders(r, shoff, shnum, shentsize, nameOffsets);
  nameSections(sections, nameOffsets, header.shstrndx);
  const segments = readProgramHeaders(r, phoff, phnum, phentsize);

  let symbolTableIndex = -1;
  let dynamicSymbolTableIndex = -1;
  for (const s of sections) {
    if (s.type === SectionType.SYMTAB && symbolTableIndex < 0) symbolTableIndex = s.index;
    if (s.type === SectionType.DYNSYM && dynamicSymbolTableIndex < 0) dynamicSymbolTableIndex = s.index;
  }
  const symbols = symbolTableIndex < 0 ? [] : readSymbols(r, sections, sections[symbolTableIndex]!);
  const dynamicSymbols = dynamicSymbolTableIndex < 0 ? [] : readSymbols(r, sections, sections[dynamicSymbolTableIndex]!);

  const relocationSections: ElfRelocationSection[] = [];
  for (const s of sections) {
    if (s.type !== SectionType.REL && s.type !== SectionType.RELA) continue;
    const table = s.link === symbolTableIndex ? symbols : s.link === dynamicSymbolTableIndex ? dynamicSymbols : undefined;
    relocationSections.push(readRelocations(r, s, sections.length, table));
  }

  return {
    bytes,
    header,
    sections,
    segments,
    symbols,
    dynamicSymbols,
    symbolTableIndex,
    dynamicSymbolTableIndex,
    relocationSections,
  };
}

function readSectionHeaders(r: ByteReader, shoff: number, shnum: number, shentsize: number, nameOffsets: number[]): ElfSection[] {
  if (shoff === 0 || shnum === 0) return [];
  if (shentsize !== ELF64_SHDR_SIZE) throw new ElfError(`section header size is ${shentsize}, not ${ELF64_SHDR_SIZE}`, 'ELF header', 58);
  r.need(shoff, shnum * ELF64_SHDR_SIZE, `section header table (${shnum} entries)`);
  const sections: ElfSection[] = new Array(shnum);
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * ELF64_SHDR_SIZE;
    const part = `section header ${i}`;
    const type = r.u32(at + 4);
    const offset = r.size64(at + 24, 'sh_offset', part);
    const size = r.size64(at + 32, 'sh_size', part);
    let data: Uint8Array;
    if (type === SectionType.NOBITS || type === SectionType.NULL) {
      data = r.bytes.subarray(0, 0);
    } else {
      if (offset + size > r.length) {
        throw new ElfError(`section data [${offset}, ${offset + size}) runs past the end of the ${r.length}-byte file`, part, at + 24);
      }
      data = r.bytes.subarray(offset, offset + size);
    }
    sections[i] = {
      index: i,
      name: '',
      type,
      flags: r.u32(at + (r.little ? 8 : 12)), // low half of the 64-bit sh_flags
      addr: r.u64(at + 16),
      offset,
      size,
      link: r.u32(at + 40),
      info: r.u32(at + 44),
      addralign: r.u64(at + 48),
      entsize: r.u64(at + 56),
      data,
    };
    // sh_name is resolved once the section-name table is known.
    nameOffsets.push(r.u32(at));
  }
  return sections;
}

function nameSections(sections: ElfSection[], nameOffsets: number[], shstrndx: number): void {
  if (sections.length === 0 || shstrndx === SHN.UNDEF) return;
  const names = sections[shstrndx];
  if (!names) throw new ElfError(`section-name table index ${shstrndx} is not a section (${sections.length} sections)`, 'ELF header', 62);
  if (names.type !== SectionType.STRTAB) {
    throw new ElfError(`section-name table (section ${shstrndx}) has type ${names.type}, not STRTAB`, 'ELF header', 62);
  }
  for (const s of sections) {
    s.name = readCString(names.data, nameOffsets[s.index]!, `name of section ${s.index}`, names.offset);
  }
}

function readProgramHeaders(r: ByteReader, phoff: number, phnum: number, phentsize: number): ElfSegment[] {
  if (phoff === 0 || phnum === 0) return [];
  if (phentsize !== ELF64_PHDR_SIZE) throw new ElfError(`program header size is ${phentsize}, not ${ELF64_PHDR_SIZE}`, 'ELF header', 54);
  r.need(phoff, phnum * ELF64_PHDR_SIZE, `program header table (${phnum} entries)`);
  const out: ElfSegment[] = new Array(phnum);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * ELF64_PHDR_SIZE;
    out[i] = {
      type: r.u32(at),
      flags: r.u32(at + 4),
      offset: r.u64(at + 8),
      vaddr: r.u64(at + 16),
      paddr: r.u64(at + 24),
      filesz: r.u64(at + 32),
      memsz: r.u64(at + 40),
      align: r.u64(at + 48),
    };
  }
  return out;
}

function readSymbols(r: ByteReader, sections: ElfSection[], table: ElfSection): ElfSymbol[] {
  const part = `symbol table ${table.name || table.index}`;
  if (table.entsize !== ELF64_SYM_SIZE && table.entsize !== 0) {
    throw new ElfError(`entry size is ${table.entsize}, not ${ELF64_SYM_SIZE}`, part, table.offset);
  }
  const strings = sections[table.link];
  if (!strings || strings.type !== SectionType.STRTAB) {
    throw new ElfError(`linked string table (section ${table.link}) is missing or not a STRTAB`, part, table.offset);
  }
  // An extended section-index table holds the real st_shndx of SHN_XINDEX symbols.
  const shndxTable = sections.find((s) => s.type === SectionType.SYMTAB_SHNDX && s.link === table.index);
  const count = Math.floor(table.size / ELF64_SYM_SIZE);
  const out: ElfSymbol[] = new Array(count);
  const base = table.offset;
  for (let i = 0; i < count; i++) {
    const at = base + i * ELF64_SYM_SIZE;
    const info = r.u8(at + 4);
    let sectionIndex = r.u16(at + 6);
    if (sectionIndex === SHN.XINDEX && shndxTable) {
      if ((i + 1) * 4 > shndxTable.size) throw new ElfError(`symbol ${i} has no extended section index`, part, at + 6);
      sectionIndex = r.u32(shndxTable.offset + i * 4);
    }
    out[i] = {
      index: i,
      name: readCString(strings.data, r.u32(at), `name of symbol ${i} in ${table.name}`, strings.offset),
      value: r.u64(at + 8),
      size: r.u64(at + 16),
      type: info & 0xf,
      bind: info >> 4,
      visibility: r.u8(at + 5) & 0x3,
      sectionIndex,
    };
  }
  return out;
}

function readRelocations(
  r: ByteReader,
  section: ElfSection,
  sectionCount: number,
  symbols: ElfSymbol[] | undefined,
): ElfRelocationSection {
  const kind = section.type === SectionType.RELA ? 'rela' : 'rel';
  const entrySize = kind === 'rela' ? ELF64_RELA_SIZE : ELF64_REL_SIZE;
  const part = `relocation section ${section.index} (${section.name})`;
  if (section.entsize !== entrySize && section.entsize !== 0) {
    throw new ElfError(`entry size is ${section.entsize}, not ${entrySize}`, part, section.offset);
  }
  if (section.size % entrySize !== 0) {
    throw new ElfError(`size ${section.size} is not a multiple of the ${entrySize}-byte entry`, part, section.offset);
  }
  // sh_info is the patched section only when SHF_INFO_LINK semantics apply; dynamic
  // relocation sections of executables have sh_info 0, which is fine.
  if (section.info >= sectionCount) {
    throw new ElfError(`target section ${section.info} does not exist (${sectionCount} sections)`, part, section.offset);
  }
  const count = section.size / entrySize;
  const entries: ElfRelocation[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const at = section.offset + i * entrySize;
    const symbolIndex = r.u32(at + (r.little ? 12 : 8));
    const type = r.u32(at + (r.little ? 8 : 12));
    if (symbols && symbolIndex >= symbols.length) {
      throw new ElfError(`entry ${i} refers to symbol ${symbolIndex}, but the table has ${symbols.length}`, part, at + 8);
    }
    entries[i] = { offset: r.u64(at), type, symbolIndex, addend: kind === 'rela' ? r.i64(at + 16) : 0 };
  }
  return { section, kind, targetIndex: section.info, symbolTableIndex: section.link, entries };
}

/**
 * The NUL-terminated string at `offset` in string-table section `tableIndex` (.strtab,
 * .dynstr, .shstrtab, ...).
 *
 * @throws ElfError when the section is not a string table or the offset is outside it.
 */
export function stringAt(elf: ElfFile, tableIndex: number, offset: number): string {
  const table = elf.sections[tableIndex];
  if (!table || table.type !== SectionType.STRTAB) {
    throw new ElfError(`section ${tableIndex} is not a string table`, 'section headers');
  }
  return readCString(table.data, offset, `string table ${table.name || tableIndex}`, table.offset);
}

/** The first section called `name`, or undefined. */
export function sectionByName(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}

/** Per-file indexes, built on first use so that lookups stay linear in the file size. */
interface ElfIndexes {
  symbolsBySection: Map<number, ElfSymbol[]>;
  relocationsByTarget: Map<number, ElfRelocationSection>;
}
const indexes = new WeakMap<ElfFile, ElfIndexes>();

function indexesOf(elf: ElfFile): ElfIndexes {
  let ix = indexes.get(elf);
  if (!ix) {
    const symbolsBySection = new Map<number, ElfSymbol[]>();
    for (const sym of elf.symbols) {
      if (sym.index === 0) continue;
      const list = symbolsBySection.get(sym.sectionIndex);
      if (list) list.push(sym);
      else symbolsBySection.set(sym.sectionIndex, [sym]);
    }
    const relocationsByTarget = new Map<number, ElfRelocationSection>();
    for (const rs of elf.relocationSections) {
      if (rs.symbolTableIndex === elf.symbolTableIndex && !relocationsByTarget.has(rs.targetIndex)) relocationsByTarget.set(rs.targetIndex, rs);
    }
    ix = { symbolsBySection, relocationsByTarget };
    indexes.set(elf, ix);
  }
  return ix;
}

/** The .symtab symbols defined in `section` (by index), in table order. */
export function symbolsIn(elf: ElfFile, section: ElfSection | number): ElfSymbol[] {
  const index = typeof section === 'number' ? section : section.index;
  return indexesOf(elf).symbolsBySection.get(index)?.slice() ?? [];
}

/** The relocation section (against .symtab) that patches `section`, if any. */
export function relocationsFor(elf: ElfFile, section: ElfSection | number): ElfRelocationSection | undefined {
  const index = typeof section === 'number' ? section : section.index;
  return indexesOf(elf).relocationsByTarget.get(index);
}
