/** Every kind of bad input gives a typed error naming the file part and the offset. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BtfError } from '../../src/btf/errors.js';
import { parseElf } from '../../src/elf/elf-file.js';
import { ElfError } from '../../src/elf/errors.js';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { ProgType } from '../../src/uapi/prog-types.js';
import { compileBpf, run } from '../support/clang.js';
import { refRelocations, refSections, refSymbols } from './readelf.js';

const path = compileBpf('test/fixtures/elf/programs.c', { cpu: 'v3' });
const original = new Uint8Array(readFileSync(path));
const header = JSON.parse(run('llvm-readelf-19', ['--elf-output-style=JSON', '-h', path]))[0].ElfHeader;
const shoff: number = header.SectionHeaderOffset;
const sections = refSections(path);

function patched(edit: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const copy = original.slice();
  edit(new DataView(copy.buffer), copy);
  return copy;
}

function elfError(f: () => unknown): ElfError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ElfError);
    return e as ElfError;
  }
  throw new Error('no error');
}

describe('bad input', () => {
  it('empty, short and non-ELF files', () => {
    expect(elfError(() => parseElf(new Uint8Array(0)))).toMatchObject({ part: 'ELF header', offset: 0 });
    expect(elfError(() => parseElf(new Uint8Array(10)))).toMatchObject({ part: 'ELF header', offset: 0 });
    expect(elfError(() => parseElf(new TextEncoder().encode('#!/bin/sh\necho not an object at all\n'))).message).toMatch(/bad magic/);
  });

  it('ELF32 and unknown byte orders', () => {
    expect(elfError(() => parseElf(patched((_, b) => (b[4] = 1))))).toMatchObject({ part: 'ELF header', offset: 4 });
    expect(elfError(() => parseElf(patched((_, b) => (b[5] = 7))))).toMatchObject({ part: 'ELF header', offset: 5 });
  });

  it('a file truncated inside the header, the section data or the section headers', () => {
    expect(elfError(() => parseElf(original.subarray(0, 40))).offset).toBe(0);
    const cutHeaders = elfError(() => parseElf(original.subarray(0, shoff + 100)));
    expect(cutHeaders.part).toMatch(/section header table/);
    expect(cutHeaders.offset).toBe(shoff);
    // Keep the section headers but drop the bytes of the last data before them.
    const btf = sections.find((s) => s.name === '.BTF')!;
    const moved = patched((v) => v.setBigUint64(shoff + btf.index * 64 + 32, BigInt(original.length), true));
    expect(elfError(() => parseElf(moved))).toMatchObject({ part: `section header ${btf.index}`, offset: shoff + btf.index * 64 + 24 });
  });

  it('absurd offsets and counts', () => {
    expect(elfError(() => parseElf(patched((v) => v.setUint16(60, 0xffff, true)))).part).toMatch(/section header table \(65535 entries\)/);
    expect(elfError(() => parseElf(patched((v) => v.setBigUint64(40, 2n ** 62n, true)))).message).toMatch(/absurdly large|past the end|needs/);
    const text = sections.find((s) => s.name === '.text')!;
    const huge = patched((v) => v.setBigUint64(shoff + text.index * 64 + 24, 2n ** 60n, true));
    expect(elfError(() => parseElf(huge)).part).toBe(`section header ${text.index}`);
  });

  it('a section-name table index or a name offset out of range', () => {
    expect(elfError(() => parseElf(patched((v) => v.setUint16(62, sections.length + 3, true))))).toMatchObject({ part: 'ELF header', offset: 62 });
    const e = elfError(() => parseElf(patched((v) => v.setUint32(shoff + 2 * 64, 0x00ffffff, true))));
    expect(e.part).toBe('name of section 2');
    expect(e.offset).toBe(sections[header.StringTableSectionIndex]!.offset);
  });

  it('a symbol name outside the string table', () => {
    const symtab = sections.find((s) => s.name === '.symtab')!;
    const e = elfError(() => parseElf(patched((v) => v.setUint32(symtab.offset + 5 * 24, 0x7fffffff, true))));
    expect(e.part).toBe('name of symbol 5 in .symtab');
    expect(e.offset).toBe(sections[symtab.link]!.offset);
  });

  it('a relocation against a symbol that does not exist', () => {
    const rel = refRelocations(path).find((r) => r.type === 1)!;
    const relSection = sections[rel.section]!;
    const symbols = refSymbols(path).length;
    // r_info's high 32 bits are the symbol index.
    const e = elfError(() => parseElf(patched((v) => v.setUint32(relSection.offset + 12, symbols + 10, true))));
    expect(e.part).toBe(`relocation section ${relSection.index} (${relSection.name})`);
    expect(e.offset).toBe(relSection.offset + 8);
    // Symbol 0 exists in the table but is no symbol: the loader names the entry.
    const zero = elfError(() => loadObjectSpec(patched((v) => v.setUint32(relSection.offset + 12, 0, true))));
    expect(zero.part).toMatch(/^relocations of section \d+/);
    expect(zero.offset).toBe(relSection.offset);
    expect(zero.message).toMatch(/symbol 0 does not exist/);
  });

  it('a relocation on an instruction that is neither lddw nor call', () => {
    const rel = refRelocations(path).find((r) => r.type === 1)!;
    const relSection = sections[rel.section]!;
    const e = elfError(() => loadObjectSpec(patched((v) => v.setBigUint64(relSection.offset, BigInt(rel.offset + 16), true))));
    expect(e.message).toMatch(/neither lddw nor call|second half of an lddw/);
  });

  it('a host executable is not a BPF object', () => {
    const e = elfError(() => loadObjectSpec(new Uint8Array(readFileSync('/bin/true'))));
    expect(e).toMatchObject({ part: 'ELF header', offset: 18 });
    expect(e.message).toMatch(/machine is 62, not BPF/);
  });

  it('a function symbol that runs past its section', () => {
    const symtab = sections.find((s) => s.name === '.symtab')!;
    const index = refSymbols(path).findIndex((s) => s.name === 'xdp_main');
    const e = elfError(() => loadObjectSpec(patched((v) => v.setBigUint64(symtab.offset + index * 24 + 16, 1n << 20n, true))));
    expect(e.part).toMatch(/^function xdp_main in section \d+ \(xdp\)$/);
  });

  it('corrupt .BTF is the BTF layer\'s typed error', () => {
    const btf = sections.find((s) => s.name === '.BTF')!;
    let caught: unknown;
    try {
      loadObjectSpec(patched((v) => v.setUint16(btf.offset, 0x1234, true)));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(BtfError);
  });

  it('an unknown section name needs a program type', () => {
    const unknown = new Uint8Array(readFileSync(compileBpf('test/fixtures/elf/unknown_section.c', { cpu: 'v3' })));
    const e = elfError(() => loadObjectSpec(unknown));
    expect(e.part).toMatch(/\(my_custom_hook\)$/);
    expect(e.message).toMatch(/unknown section name "my_custom_hook".*programType/);
    const spec = loadObjectSpec(unknown, { programType: ProgType.SOCKET_FILTER });
    expect(spec.programs.map((p) => [p.name, p.type])).toEqual([['custom', ProgType.SOCKET_FILTER]]);
  });
});
