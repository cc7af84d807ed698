/**
 * The reference tools' view of an ELF file, for comparing with parseElf: llvm-readelf-19's
 * JSON output (sections, symbols, relocations, program headers).
 */
import { run } from '../support/clang.js';

export interface RefSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  address: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  align: number;
  entsize: number;
}
export interface RefSymbol {
  name: string;
  value: number;
  size: number;
  bind: number;
  type: number;
  other: number;
  section: number;
}
export interface RefRelocation {
  section: number;
  offset: number;
  type: number;
  symbol: string;
  symbolIndex: number;
  addend: number;
}
export interface RefSegment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

type Json = Record<string, any>;

function readelf(path: string, ...flags: string[]): Json {
  return JSON.parse(run('llvm-readelf-19', ['--elf-output-style=JSON', ...flags, path]))[0] as Json;
}

export function refSections(path: string): RefSection[] {
  return (readelf(path, '-S').Sections as Json[]).map(({ Section: s }) => ({
    index: s.Index,
    name: s.Name.Name,
    type: s.Type.Value,
    flags: s.Flags.Value,
    address: s.Address,
    offset: s.Offset,
    size: s.Size,
    link: s.Link,
    info: s.Info,
    align: s.AddressAlignment,
    entsize: s.EntrySize,
  }));
}

function symbolsOf(list: Json[] | undefined): RefSymbol[] {
  return (list ?? []).map(({ Symbol: s }) => ({
    name: s.Name.Name,
    value: s.Value,
    size: s.Size,
    bind: s.Binding.Value,
    type: s.Type.Value,
    other: s.Other.Value,
    section: s.Section.Value,
  }));
}

export function refSymbols(path: string): RefSymbol[] {
  return symbolsOf(readelf(path, '--symbols').Symbols);
}

export function refDynamicSymbols(path: string): RefSymbol[] {
  return symbolsOf(readelf(path, '--dyn-symbols').DynamicSymbols);
}

export function refRelocations(path: string): RefRelocation[] {
  const out: RefRelocation[] = [];
  for (const group of readelf(path, '-r').Relocations as Json[]) {
    for (const { Relocation: r } of group.Relocs as Json[]) {
      out.push({
        section: group.SectionIndex,
        offset: r.Offset,
        type: r.Type.Value,
        symbol: r.Symbol.Name,
        symbolIndex: r.Symbol.Value,
        addend: r.Addend ?? 0,
      });
    }
  }
  return out;
}

export function refSegments(path: string): RefSegment[] {
  return ((readelf(path, '-l').ProgramHeaders ?? []) as Json[]).map(({ ProgramHeader: p }) => ({
    type: p.Type.Value,
    offset: p.Offset,
    vaddr: p.VirtualAddress,
    filesz: p.FileSize,
  }));
}
