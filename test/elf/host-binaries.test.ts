import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseElf } from '../../src/elf/elf-file.js';
import { ElfError } from '../../src/elf/errors.js';
import { uprobeOffset } from '../../src/elf/uprobe.js';
import { usdtNotes } from '../../src/elf/usdt.js';
import { run } from '../support/clang.js';
import { compileHost } from './host.js';

const SOURCE = 'test/fixtures/elf/usdt_target.c';
const exe = compileHost(SOURCE);
const lib = compileHost(SOURCE, { shared: true });

/** The first `n` bytes of code at `address`, as GNU objdump disassembles them. */
function objdumpBytes(path: string, address: number, n: number): number[] {
  const text = run('objdump', ['-d', `--start-address=${address}`, `--stop-address=${address + n}`, path]);
  const bytes: number[] = [];
  for (const m of text.matchAll(/^\s+[0-9a-f]+:\t((?:[0-9a-f]{2} )+)/gm)) {
    for (const b of m[1]!.trim().split(' ')) bytes.push(parseInt(b, 16));
    if (bytes.length >= n) break;
  }
  return bytes.slice(0, n);
}

/** GNU nm's address of a defined symbol (text unless `kinds` says otherwise). */
function nmAddress(path: string, symbol: string, dynamic = false, kinds = / [TtWiV] /): number {
  const line = run('nm', [...(dynamic ? ['-D'] : []), path])
    .split('\n')
    .find((l) => kinds.test(l) && l.split(' ')[2]?.replace(/@.*/, '') === symbol);
  if (!line) throw new Error(`nm: no ${symbol}`);
  return parseInt(line.split(' ')[0]!, 16);
}

/** File offset of an address through the PT_LOAD headers GNU readelf prints. */
function readelfLoadOffset(path: string, address: number): number {
  const text = run('readelf', ['-lW', path]);
  for (const m of text.matchAll(/^\s+LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+)/gm)) {
    const [offset, vaddr, filesz] = [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
    if (address >= vaddr && address < vaddr + filesz) return address - vaddr + offset;
  }
  throw new Error(`no PT_LOAD covers 0x${address.toString(16)}`);
}

describe('uprobeOffset', () => {
  const cases: Array<[string, string, string, boolean]> = [
    ['executable', exe, 'traced_add', false],
    ['executable, weak symbol', exe, 'traced_weak', false],
    ['shared library', lib, 'traced_add', false],
    ['/bin/bash (stripped: .dynsym only)', '/bin/bash', 'readline', true],
    ['libc.so.6 (versioned .dynsym)', '/lib/x86_64-linux-gnu/libc.so.6', 'malloc', true],
    ['libc.so.6, two versions at one address', '/lib/x86_64-linux-gnu/libc.so.6', 'pthread_create', true],
  ];
  it.each(cases)('matches nm + readelf program headers and the bytes objdump shows: %s', (_l, path, symbol, dynamic) => {
    const bytes = readFileSync(path);
    const offset = uprobeOffset(parseElf(bytes), symbol);
    expect(offset).toBe(readelfLoadOffset(path, nmAddress(path, symbol, dynamic)));
    const want = objdumpBytes(path, nmAddress(path, symbol, dynamic), 8);
    expect(want.length).toBeGreaterThanOrEqual(4);
    expect([...bytes.subarray(offset, offset + want.length)]).toEqual(want);
  });

  it.each([
    ['aarch64', 'aarch64-linux-gnu'],
    ['aarch64_be', 'aarch64_be-linux-gnu'],
  ])('finds functions of an %s object where llvm-objdump-19 shows their code', (_l, target) => {
    const path = compileHost('test/fixtures/elf/host_funcs.c', { target });
    const bytes = readFileSync(path);
    const elf = parseElf(bytes);
    expect(elf.header.machine).toBe(183);
    for (const fn of ['probed_add', 'probed_weak']) {
      const offset = uprobeOffset(elf, fn);
      // llvm-objdump prints aarch64 code as 32-bit words; code is little-endian even on aarch64_be.
      const words = [...run('llvm-objdump-19', ['-d', `--disassemble-symbols=${fn}`, path]).matchAll(/^\s+[0-9a-f]+: ([0-9a-f]{8}) /gm)].map((m) => parseInt(m[1]!, 16));
      expect(words.length).toBeGreaterThan(1);
      expect(words.map((_, i) => bytes.readUInt32LE(offset + 4 * i))).toEqual(words);
    }
  });

  it('names a missing function in a typed error', () => {
    expect(() => uprobeOffset(parseElf(readFileSync(exe)), 'no_such_function')).toThrow(ElfError);
    expect(() => uprobeOffset(parseElf(readFileSync(exe)), 'no_such_function')).toThrow(/no_such_function/);
  });
});

interface RefNote {
  provider: string;
  name: string;
  location: number;
  base: number;
  semaphore: number;
  args: string;
}

/** The stapsdt notes as GNU readelf -n prints them. */
function readelfNotes(path: string): RefNote[] {
  const text = run('readelf', ['-n', path]);
  const re = /Provider: (\S+)\s+Name: (\S+)\s+Location: 0x([0-9a-f]+), Base: 0x([0-9a-f]+), Semaphore: 0x([0-9a-f]+)\s+Arguments: (.*)/g;
  return [...text.matchAll(re)].map((m) => ({
    provider: m[1]!,
    name: m[2]!,
    location: parseInt(m[3]!, 16),
    base: parseInt(m[4]!, 16),
    semaphore: parseInt(m[5]!, 16),
    args: m[6]!.trim(),
  }));
}

describe('usdtNotes', () => {
  it.each([
    ['executable', exe],
    ['shared library', lib],
  ])('agree with GNU readelf -n and point at the probe nop: %s', (_l, path) => {
    const bytes = readFileSync(path);
    const elf = parseElf(bytes);
    const notes = usdtNotes(elf);
    const ref = readelfNotes(path);
    expect(ref.length).toBe(2);
    const base = elf.sections.find((s) => s.name === '.stapsdt.base')!.addr;
    expect(notes.map((n) => ({ provider: n.provider, name: n.name, location: n.pc, base: n.base, semaphore: n.semaphore, args: n.args }))).toEqual(
      // Not prelinked: the recorded base is where .stapsdt.base is, so no adjustment.
      ref.map((r) => ({ ...r, location: r.location + base - r.base })),
    );
    for (const n of notes) {
      expect(n.pcOffset).toBe(readelfLoadOffset(path, n.pc));
      expect(bytes[n.pcOffset!]).toBe(0x90); // the nop the probe macro plants
    }
    const guarded = notes.find((n) => n.name === 'guarded')!;
    expect(guarded.semaphore).toBe(nmAddress(path, 'demo_guarded_semaphore', false, / [DdBb] /));
    expect(guarded.semaphoreOffset).toBe(readelfLoadOffset(path, guarded.semaphore));
  });

  it('applies the .stapsdt.base adjustment when the file was moved', () => {
    const bytes = new Uint8Array(readFileSync(exe));
    const elf = parseElf(bytes);
    const before = usdtNotes(elf);
    // Simulate prelink: move .stapsdt.base's address by 0x1000 in its section header.
    const base = elf.sections.find((s) => s.name === '.stapsdt.base')!;
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const shoff = Number(view.getBigUint64(40, true));
    view.setBigUint64(shoff + base.index * 64 + 16, BigInt(base.addr + 0x1000), true);
    const after = usdtNotes(parseElf(bytes));
    expect(after.map((n) => n.pc)).toEqual(before.map((n) => n.pc + 0x1000));
  });
});
