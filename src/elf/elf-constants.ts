/** ELF constants (System V gABI, elf.h) that the reader and the object loader use. */

export const ElfClass = { ELF32: 1, ELF64: 2 } as const;
export const ElfData = { LSB: 1, MSB: 2 } as const;

/** e_type */
export const ElfType = { NONE: 0, REL: 1, EXEC: 2, DYN: 3, CORE: 4 } as const;

/** e_machine values we meet. */
export const ElfMachine = { NONE: 0, X86_64: 62, AARCH64: 183, BPF: 247 } as const;

/** sh_type */
export const SectionType = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  RELA: 4,
  HASH: 5,
  DYNAMIC: 6,
  NOTE: 7,
  NOBITS: 8,
  REL: 9,
  DYNSYM: 11,
  SYMTAB_SHNDX: 18,
  LLVM_ADDRSIG: 0x6fff4c03,
} as const;

/** sh_flags bits. */
export const SectionFlags = { WRITE: 0x1, ALLOC: 0x2, EXECINSTR: 0x4, MERGE: 0x10, STRINGS: 0x20 } as const;

/** Special section indexes. */
export const SHN = { UNDEF: 0, LORESERVE: 0xff00, ABS: 0xfff1, COMMON: 0xfff2, XINDEX: 0xffff } as const;

/** Symbol type (low 4 bits of st_info). */
export const SymbolType = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4, COMMON: 5, TLS: 6, GNU_IFUNC: 10 } as const;

/** Symbol binding (high 4 bits of st_info). */
export const SymbolBind = { LOCAL: 0, GLOBAL: 1, WEAK: 2 } as const;

/** Symbol visibility (low 2 bits of st_other). */
export const SymbolVisibility = { DEFAULT: 0, INTERNAL: 1, HIDDEN: 2, PROTECTED: 3 } as const;

/** p_type */
export const SegmentType = { NULL: 0, LOAD: 1, DYNAMIC: 2, INTERP: 3, NOTE: 4, PHDR: 6 } as const;

/** BPF relocation types (llvm/BinaryFormat/ELFRelocs/BPF.def). */
export const BpfReloc = {
  NONE: 0,
  /** lddw imm64 of an address: map or global data (section symbol + offset in imm). */
  R_BPF_64_64: 1,
  /** 64-bit data: DWARF, .maps `values` initialisers. */
  R_BPF_64_ABS64: 2,
  /** 32-bit data: DWARF, BTF.ext. */
  R_BPF_64_ABS32: 3,
  /** 32-bit data the dynamic loader must not touch (.BTF / .BTF.ext). */
  R_BPF_64_NODYLD32: 4,
  /** call imm32: bpf-to-bpf call or kfunc. */
  R_BPF_64_32: 10,
} as const;

/** Sizes of the ELF64 structures. */
export const ELF64_EHDR_SIZE = 64;
export const ELF64_SHDR_SIZE = 64;
export const ELF64_PHDR_SIZE = 56;
export const ELF64_SYM_SIZE = 24;
export const ELF64_REL_SIZE = 16;
export const ELF64_RELA_SIZE = 24;
