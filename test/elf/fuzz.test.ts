/**
 * Fuzz: thousands of mutated real objects through parseElf and loadObjectSpec (and the
 * host-binary readers). Only ElfError, or the BTF layer's BtfError, may come out; the
 * output stays proportional to the input. The PRNG is seeded, so a failure names the
 * seed and case that reproduce it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BtfError } from '../../src/btf/errors.js';
import { parseElf } from '../../src/elf/elf-file.js';
import { ElfError } from '../../src/elf/errors.js';
import { MAX_GLOBAL_DATA_SIZE } from '../../src/elf/global-data.js';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { uprobeOffset } from '../../src/elf/uprobe.js';
import { usdtNotes } from '../../src/elf/usdt.js';
import { compileBpf } from '../support/clang.js';
import { compileHost, vmlinuxDir } from './host.js';

const SEED = Number(process.env.BPFKIT_FUZZ_SEED ?? 0x5eed);
const CASES_PER_INPUT = Number(process.env.BPFKIT_FUZZ_CASES ?? 500);

/** mulberry32: small, fast, seedable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Mutation = (b: Uint8Array, rnd: () => number) => Uint8Array;

const int = (rnd: () => number, n: number) => Math.floor(rnd() * n);
const interesting = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 8, 16, 24, 64];

/** Offsets of the fields most likely to matter: ELF header, section headers, symbols. */
function hotOffsets(b: Uint8Array): number[] {
  const out = [16, 18, 24, 32, 40, 48, 52, 54, 56, 58, 60, 62];
  try {
    const elf = parseElf(b);
    const little = elf.header.endian === 'little';
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const shoff = Number(view.getBigUint64(40, little));
    for (const s of elf.sections) {
      const at = shoff + s.index * 64;
      out.push(at, at + 4, at + 24, at + 32, at + 40, at + 44, at + 56);
    }
    const symtab = elf.sections[elf.symbolTableIndex];
    if (symtab) for (let i = 0; i < Math.min(elf.symbols.length, 64); i++) out.push(symtab.offset + i * 24, symtab.offset + i * 24 + 6, symtab.offset + i * 24 + 8, symtab.offset + i * 24 + 16);
    for (const rs of elf.relocationSections) for (let i = 0; i < Math.min(rs.entries.length, 32); i++) out.push(rs.section.offset + i * 16, rs.section.offset + i * 16 + 8, rs.section.offset + i * 16 + 12);
  } catch {
    // the seed input always parses
  }
  return out.filter((o) => o + 4 <= b.length);
}

function mutations(hot: number[]): Mutation[] {
  return [
    (b, rnd) => {
      const c = b.slice();
      for (let n = 1 + int(rnd, 8); n > 0; n--) c[int(rnd, c.length)]! ^= 1 << int(rnd, 8);
      return c;
    },
    (b, rnd) => b.slice(0, int(rnd, b.length)),
    (b, rnd) => {
      const c = b.slice();
      const at = hot[int(rnd, hot.length)]!;
      new DataView(c.buffer).setUint32(at, interesting[int(rnd, interesting.length)]!, rnd() < 0.5);
      return c;
    },
    (b, rnd) => {
      const c = b.slice();
      const at = hot[int(rnd, hot.length)]!;
      new DataView(c.buffer).setUint32(at, Math.floor(rnd() * 2 ** 32), rnd() < 0.5);
      return c;
    },
    (b, rnd) => {
      const c = b.slice();
      const at = int(rnd, c.length - 8);
      new DataView(c.buffer).setUint32(at, interesting[int(rnd, interesting.length)]!, rnd() < 0.5);
      return c;
    },
    (b, rnd) => {
      const c = b.slice();
      const at = int(rnd, c.length);
      c.fill(rnd() < 0.5 ? 0 : 0xff, at, at + 1 + int(rnd, 64));
      return c;
    },
  ];
}

function isTyped(e: unknown): boolean {
  if (e instanceof ElfError) return typeof e.part === 'string' && e.part.length > 0;
  return e instanceof BtfError;
}

function fuzz(label: string, bytes: Uint8Array, run: (b: Uint8Array) => number, seed: number, cases = CASES_PER_INPUT): { ok: number; typed: number } {
  const rnd = prng(seed);
  const muts = mutations(hotOffsets(bytes));
  let ok = 0;
  let typed = 0;
  for (let i = 0; i < cases; i++) {
    const m = int(rnd, muts.length);
    const input = muts[m]!(bytes, rnd);
    try {
      const produced = run(input);
      // Output stays within a small multiple of the input (subprograms are copied).
      expect(produced, `${label} seed ${seed} case ${i}`).toBeLessThanOrEqual(64 * input.length + MAX_GLOBAL_DATA_SIZE + (1 << 20));
      ok++;
    } catch (e) {
      if (!isTyped(e)) {
        throw new Error(`${label}: seed ${seed} case ${i} (mutation ${m}) threw ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`);
      }
      typed++;
    }
  }
  return { ok, typed };
}

/** Bytes a loaded spec holds: instructions (16 B each, generously), data and records. */
function specSize(b: Uint8Array): number {
  const spec = loadObjectSpec(b);
  let n = 0;
  for (const p of spec.programs) n += 16 * (p.instructions.length + p.relocations.length + p.funcInfo.length + p.lineInfo.length + p.coreRelocations.length);
  for (const m of spec.maps) n += m.initialData?.length ?? 0;
  return n;
}

describe('fuzz', () => {
  // Objects with vmlinux types in their BTF take longer per case: fewer cases for them.
  const objects: Array<[string, string, number?]> = [
    ['programs.c v3', compileBpf('test/fixtures/elf/programs.c', { cpu: 'v3' })],
    ['programs.c v4', compileBpf('test/fixtures/elf/programs.c', { cpu: 'v4' })],
    ['programs.c bpfeb', compileBpf('test/fixtures/elf/programs.c', { cpu: 'v3', bigEndian: true })],
    ['legacy_maps.c', compileBpf('test/fixtures/elf/legacy_maps.c', { cpu: 'v2' })],
    ['core.c (CO-RE records)', compileBpf('test/fixtures/elf/core.c', { cpu: 'v3', flags: [`-I${vmlinuxDir()}`] }), 0.4],
    ['struct_ops.c', compileBpf('test/fixtures/elf/struct_ops.c', { cpu: 'v3', flags: [`-I${vmlinuxDir()}`] }), 0.4],
  ];
  it.each(objects)('loadObjectSpec on mutated %s throws only typed errors', (label, path, share = 1) => {
    const bytes = new Uint8Array(readFileSync(path));
    const cases = Math.ceil(CASES_PER_INPUT * share);
    const r = fuzz(label, bytes, specSize, SEED, cases);
    // Both outcomes occur, or the mutations are not exercising anything.
    expect(r.ok).toBeGreaterThan(0);
    expect(r.typed).toBeGreaterThan(cases / 10);
  });

  it('parseElf, uprobeOffset and usdtNotes on a mutated executable throw only typed errors', () => {
    const bytes = new Uint8Array(readFileSync(compileHost('test/fixtures/elf/usdt_target.c')));
    const r = fuzz(
      'usdt_target',
      bytes,
      (b) => {
        const elf = parseElf(b);
        const notes = usdtNotes(elf);
        try {
          uprobeOffset(elf, 'traced_add');
        } catch (e) {
          if (!(e instanceof ElfError)) throw e;
        }
        return notes.length * 64 + elf.symbols.length * 64 + elf.sections.length * 128;
      },
      SEED + 1,
    );
    expect(r.ok).toBeGreaterThan(0);
  });
});
