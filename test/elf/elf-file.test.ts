import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseElf, relocationsFor, sectionByName, stringAt, symbolsIn } from '../../src/elf/elf-file.js';
import { ElfMachine, SectionType } from '../../src/elf/elf-constants.js';
import { compileBpf } from '../support/clang.js';
import { compileHost } from './host.js';
import { refDynamicSymbols, refRelocations, refSections, refSegments, refSymbols } from './readelf.js';

const FIXTURE = 'test/fixtures/elf/programs.c';

const objects: Array<[string, string]> = [
  ['bpfel v1 (clang 14)', compileBpf(FIXTURE, { cpu: 'v1' })],
  ['bpfel v3 (clang 14)', compileBpf(FIXTURE, { cpu: 'v3' })],
  ['bpfel v4 (clang-19)', compileBpf(FIXTURE, { cpu: 'v4' })],
  ['bpfeb v3 (clang 14)', compileBpf(FIXTURE, { cpu: 'v3', bigEndian: true })],
  ['x86-64 executable (gcc)', compileHost('test/fixtures/elf/usdt_target.c')],
  ['x86-64 shared library (gcc)', compileHost('test/fixtures/elf/usdt_target.c', { shared: true })],
  ['/bin/bash', '/bin/bash'],
  ['aarch64 object (clang)', compileHost('test/fixtures/elf/host_funcs.c', { target: 'aarch64-linux-gnu' })],
  ['aarch64_be object (clang)', compileHost('test/fixtures/elf/host_funcs.c', { target: 'aarch64_be-linux-gnu' })],
];

describe.each(objects)('parseElf agrees with llvm-readelf-19: %s', (_label, path) => {
  const elf = parseElf(readFileSync(path));

  it('reads every section header', () => {
    const ref = refSections(path);
    expect(
      elf.sections.map((s) => ({
        index: s.index,
        name: s.name,
        type: s.type,
        flags: s.flags,
        address: s.addr,
        offset: s.offset,
        size: s.size,
        link: s.link,
        info: s.info,
        align: s.addralign,
        entsize: s.entsize,
      })),
    ).toEqual(ref);
    for (const s of elf.sections) {
      expect(s.data.length).toBe(s.type === SectionType.NOBITS || s.type === SectionType.NULL ? 0 : s.size);
    }
  });

  it('reads every symbol of .symtab and .dynsym', () => {
    const mine = (list: typeof elf.symbols) =>
      list.map((s) => ({
        // llvm-readelf names a section symbol after its section.
        name: s.type === 3 && s.name === '' ? elf.sections[s.sectionIndex]!.name : s.name,
        value: s.value,
        size: s.size,
        bind: s.bind,
        type: s.type,
        other: s.visibility,
        section: s.sectionIndex,
      }));
    const ref = refSymbols(path);
    expect(mine(elf.symbols)).toEqual(ref);
    // llvm-readelf appends the symbol version to dynamic symbol names.
    const dyn = refDynamicSymbols(path).map((s) => ({ ...s, name: s.name.replace(/@.*$/, '') }));
    expect(mine(elf.dynamicSymbols)).toEqual(dyn);
  });

  it('reads every relocation with its type, symbol and addend', () => {
    const ref = refRelocations(path);
    const mine = elf.relocationSections.flatMap((rs) =>
      rs.entries.map((e) => ({ section: rs.section.index, offset: e.offset, type: e.type, symbolIndex: e.symbolIndex, addend: e.addend })),
    );
    expect(mine).toEqual(ref.map(({ symbol: _name, ...r }) => r));
  });

  it('reads the program headers', () => {
    expect(elf.segments.map((p) => ({ type: p.type, offset: p.offset, vaddr: p.vaddr, filesz: p.filesz }))).toEqual(refSegments(path));
  });
});

describe('parseElf helpers', () => {
  const path = compileBpf(FIXTURE, { cpu: 'v3' });
  const elf = parseElf(readFileSync(path));

  it('knows the machine and byte order', () => {
    expect(elf.header.machine).toBe(ElfMachine.BPF);
    expect(elf.header.endian).toBe('little');
    const be = parseElf(readFileSync(compileBpf(FIXTURE, { cpu: 'v3', bigEndian: true })));
    expect(be.header.endian).toBe('big');
  });

  it('finds sections by name and the symbols and relocations in them', () => {
    const xdp = sectionByName(elf, 'xdp')!;
    expect(xdp).toBeDefined();
    const ref = refSymbols(path).filter((s) => s.section === xdp.index && s.name !== '' && s.type !== 3);
    expect(symbolsIn(elf, xdp).filter((s) => s.type !== 3).map((s) => s.name)).toEqual(ref.map((s) => s.name));
    const symtab = elf.sections[elf.symbolTableIndex]!;
    const raw = new DataView(elf.bytes.buffer, elf.bytes.byteOffset);
    const main = elf.symbols.find((s) => s.name === 'xdp_main')!;
    expect(stringAt(elf, symtab.link, raw.getUint32(symtab.offset + main.index * 24, true))).toBe('xdp_main');
    const rel = relocationsFor(elf, xdp)!;
    expect(rel.entries.map((e) => e.offset)).toEqual(refRelocations(path).filter((r) => r.section === rel.section.index).map((r) => r.offset));
  });
});
