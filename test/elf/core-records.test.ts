/** CO-RE, func_info and line_info records follow their instructions into each program. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Btf } from '../../src/btf/btf.js';
import { parseBtfExt } from '../../src/btf/ext.js';
import { parseElf, sectionByName } from '../../src/elf/elf-file.js';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { compileBpf, type Cpu } from '../support/clang.js';
import { vmlinuxDir } from './host.js';
import { objdump } from './objdump.js';
import { refSections, refSymbols } from './readelf.js';

describe.each<[string, Cpu]>([
  ['clang 14 v3', 'v3'],
  ['clang-19 v4', 'v4'],
])('BTF.ext records per program, %s', (_label, cpu) => {
  const path = compileBpf('test/fixtures/elf/core.c', { cpu, flags: [`-I${vmlinuxDir()}`] });
  const bytes = readFileSync(path);
  const spec = loadObjectSpec(bytes);
  const elf = parseElf(bytes);
  const btf = Btf.parse(sectionByName(elf, '.BTF')!.data);
  const ext = parseBtfExt(sectionByName(elf, '.BTF.ext')!.data, btf);
  const sections = refSections(path);
  const fns = refSymbols(path)
    .filter((s) => s.type === 2)
    .map((s) => ({ name: s.name, section: sections[s.section]!.name, start: s.value / 8, end: (s.value + s.size) / 8 }));
  const dump = objdump(path);

  it('gives both programs the subprogram and its CO-RE records, moved to where it was appended', () => {
    const progs = spec.programs.filter((p) => p.subprograms.includes('task_ids'));
    expect(progs.map((p) => p.name).sort()).toEqual(['on_sendmsg', 'on_switch']);
    const sub = fns.find((f) => f.name === 'task_ids')!;
    const subRecords = ext.coreRelos.get(sub.section)!.filter((r) => r.slot >= sub.start && r.slot < sub.end);
    expect(subRecords.length).toBeGreaterThanOrEqual(3);
    const starts = new Set<number>();
    for (const p of progs) {
      const entry = fns.find((f) => f.name === p.name)!;
      const own = ext.coreRelos.get(entry.section)!.filter((r) => r.slot >= entry.start && r.slot < entry.end);
      expect(p.coreRelocations.length).toBe(own.length + subRecords.length);
      const subStart = p.funcInfo[1]!.slot;
      starts.add(subStart);
      // Each record sits on the instruction llvm-objdump shows at its original place.
      for (const r of p.coreRelocations) {
        const fromSub = r.slot >= subStart;
        const fn = fromSub ? sub : entry;
        const original = fn.start + r.slot - (fromSub ? subStart : 0);
        const insn = dump.get(fn.section)!.find((i) => i.slot === original)!;
        const mine = p.instructions[indexOfSlot(p.instructions, r.slot)]!;
        expect(mine.code).toBe(insn.bytes[0]);
        expect(mine.off).toBe(new DataView(Uint8Array.from(insn.bytes).buffer).getInt16(2, true));
      }
      expect(p.coreRelocations.map((r) => r.accessString)).toEqual([...own, ...subRecords].map((r) => r.accessString));
    }
    // The two programs have entry functions of different lengths: the subprogram moved.
    expect(starts.size).toBe(2);
  });

  it('moves func_info and line_info with the same shift', () => {
    for (const p of spec.programs) {
      const entry = fns.find((f) => f.name === p.name)!;
      const ownLines = ext.lineInfo.get(entry.section)!.filter((r) => r.slot >= entry.start && r.slot < entry.end);
      const lines = [...ownLines];
      for (const name of p.subprograms) {
        const f = fns.find((x) => x.name === name)!;
        lines.push(...ext.lineInfo.get(f.section)!.filter((r) => r.slot >= f.start && r.slot < f.end));
      }
      expect(p.lineInfo.map((l) => [l.lineNumber, l.column, l.line])).toEqual(lines.map((l) => [l.lineNumber, l.column, l.line]));
      expect(p.funcInfo.map((f) => btf.typeById(f.typeId).name)).toEqual([p.name, ...p.subprograms]);
    }
  });
});

function indexOfSlot(insns: Array<{ code: number }>, slot: number): number {
  let s = 0;
  for (let i = 0; i < insns.length; i++) {
    if (s === slot) return i;
    s += insns[i]!.code === 0x18 ? 2 : 1;
  }
  return -1;
}
