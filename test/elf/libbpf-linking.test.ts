/**
 * The linked programs are the ones libbpf builds: Debian's libbpf loads the programs
 * that have subprograms into this kernel (test/fixtures/elf/libbpf_linked.c) and prints
 * their final instructions; ours must have the same code in the same order, with the
 * same bpf-to-bpf call and callback offsets. Only the instructions a loader patches
 * (map fds, extern ids) may differ.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { OP_LDDW } from '../../src/isa/opcodes.js';
import type { ProgramSpec } from '../../src/elf/object-spec.js';
import { compileBpf, inCI, type CompileOptions } from '../support/clang.js';
import { compileHost } from './host.js';

type Slot = [code: number, dst: number, src: number, off: number, imm: number];

const LOADED = ['xdp_main', 'tail_a', 'tail_b', 'tc_main', 'sock_filter', 'loop_prog'];

function libbpfLinked(path: string): Map<string, Slot[]> | { error: string } {
  const tool = compileHost('test/fixtures/elf/libbpf_linked.c', { libs: ['-lbpf'] });
  let out: string;
  try {
    out = execFileSync(tool, [path, ...LOADED], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (e) {
    return { error: String((e as { stdout?: string }).stdout ?? e) };
  }
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { program: string; insns: Slot[] });
  return new Map(lines.map((l) => [l.program, l.insns]));
}

function slotsOf(p: ProgramSpec): Slot[] {
  const out: Slot[] = [];
  for (const i of p.instructions) {
    out.push([i.code, i.dst, i.src, i.off, i.imm]);
    if (i.code === OP_LDDW) out.push([0, 0, 0, 0, i.imm2 ?? 0]);
  }
  return out;
}

describe.each<[string, CompileOptions]>([
  ['clang 14 v2', { cpu: 'v2' }],
  ['clang 14 v3', { cpu: 'v3' }],
  ['clang-19 v4', { cpu: 'v4' }],
])('linking agrees with libbpf on this kernel, %s', (_label, options) => {
  const path = compileBpf('test/fixtures/elf/programs.c', options);
  const linked = libbpfLinked(path);
  const canLoad = linked instanceof Map;
  // Loading needs bpf(); as in the kernel tests, CI must be able to.
  if (inCI && !canLoad) throw new Error(`libbpf could not load the fixture: ${(linked as { error: string }).error}`);

  it.skipIf(!canLoad)('same instructions, same order, same call offsets', () => {
    const spec = loadObjectSpec(readFileSync(path));
    const theirs = linked as Map<string, Slot[]>;
    expect([...theirs.keys()].sort()).toEqual([...LOADED].sort());
    let calls = 0;
    let values = 0;
    for (const name of LOADED) {
      const p = spec.programs.find((x) => x.name === name)!;
      const mine = slotsOf(p);
      const ref = theirs.get(name)!;
      expect(mine.length, name).toBe(ref.length);
      const patched = new Set<number>();
      for (const r of p.relocations) patched.add(r.slot).add(r.slot + 1);
      // What libbpf wrote for each relocation: the pseudo source, and for values the offset.
      for (const r of p.relocations) {
        const first = ref[r.slot]!;
        if (r.kind === 'map') expect(first[2], `${name} slot ${r.slot}`).toBe(1); // BPF_PSEUDO_MAP_FD
        if (r.kind === 'map_value') {
          expect(first[2], `${name} slot ${r.slot}`).toBe(2); // BPF_PSEUDO_MAP_VALUE
          expect(ref[r.slot + 1]![4], `${name} slot ${r.slot} value offset`).toBe(r.offset);
          values++;
        }
      }
      mine.forEach((m, slot) => {
        const r = ref[slot]!;
        if (patched.has(slot)) {
          expect([m[0], m[1]], `${name} slot ${slot}`).toEqual([r[0], r[1]]);
        } else {
          expect(m, `${name} slot ${slot}`).toEqual(r);
          if ((m[0] === 0x85 && m[2] === 1) || (m[0] === OP_LDDW && m[2] === 4)) calls++;
        }
      });
    }
    expect(calls).toBeGreaterThanOrEqual(8);
    expect(values).toBeGreaterThanOrEqual(10);
  });
});
