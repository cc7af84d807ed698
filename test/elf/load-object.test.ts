import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OP_CALL, PseudoCall, PseudoLd } from '../../src/isa/opcodes.js';
import { slotOffsets } from '../../src/isa/instruction.js';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import type { ObjectSpec, ProgramSpec } from '../../src/elf/object-spec.js';
import { compileBpf, run, type CompileOptions } from '../support/clang.js';
import { libbpfView } from './libbpf-oracle.js';
import { addressTakenBy, calleesOf, closure, entryOf, functionsOf, hex, libbpfMapName, type Fn } from './object-oracle.js';
import { refSections, refSymbols } from './readelf.js';

const FIXTURE = 'test/fixtures/elf/programs.c';

const variants: Array<[string, CompileOptions]> = [
  ['clang 14 -mcpu=v1', { cpu: 'v1' }],
  ['clang 14 -mcpu=v2', { cpu: 'v2' }],
  ['clang 14 -mcpu=v3', { cpu: 'v3' }],
  ['clang-19 -mcpu=v3', { cpu: 'v3', clang: 'clang-19' }],
  ['clang-19 -mcpu=v4', { cpu: 'v4' }],
  ['clang 14 -mcpu=v3 bpfeb', { cpu: 'v3', bigEndian: true }],
];

describe.each(variants)('loadObjectSpec on programs.c, %s', (_label, options) => {
  const path = compileBpf(FIXTURE, options);
  const spec: ObjectSpec = loadObjectSpec(readFileSync(path));
  const fns = functionsOf(path);
  // Debian's libbpf cannot open objects of the other byte order: judge the bpfeb build by
  // libbpf's view of the same source built little-endian, except for the data bytes.
  const bigEndian = options.bigEndian === true;
  const libbpf = libbpfView(bigEndian ? compileBpf(FIXTURE, { ...options, bigEndian: false }) : path);

  it('finds every program libbpf finds, with the same section, type and attach type', () => {
    expect(spec.programs.map((p) => ({ program: p.name, section: p.sectionName, type: p.type, attach: p.expectedAttachType ?? 0, autoload: p.autoLoad ?? true }))).toEqual(
      libbpf.programs.map(({ insns: _i, ...p }) => p),
    );
    for (const p of libbpf.programs) {
      const fn = fns.find((f) => f.name === p.program)!;
      expect(fn.end - fn.start).toBe(p.insns);
    }
  });

  it('appends exactly the subprograms each program calls, with llvm-objdump\'s instruction counts', () => {
    let sawSubprograms = 0;
    for (const p of spec.programs) {
      const entry = entryOf(fns, p);
      expect(new Set(p.subprograms)).toEqual(closure(entry, fns, !bigEndian));
      const pieces = [entry, ...p.subprograms.map((n) => fns.find((f) => f.name === n)!)];
      expect(p.instructions.length).toBe(pieces.reduce((n, f) => n + f.insns.length, 0));
      sawSubprograms += p.subprograms.length;
    }
    expect(sawSubprograms).toBeGreaterThanOrEqual(6);
  });

  it('points every bpf-to-bpf call at the start of the right copied subprogram', () => {
    for (const p of spec.programs) {
      const entry = entryOf(fns, p);
      const pieces = [entry, ...p.subprograms.map((n) => fns.find((f) => f.name === n)!)];
      const starts = new Map<number, Fn>();
      let at = 0;
      for (const f of pieces) {
        starts.set(at, f);
        at += f.end - f.start;
      }
      const offsets = slotOffsets(p.instructions);
      // Walk the linked code piece by piece, comparing with objdump's call targets.
      let k = 0;
      for (const f of pieces) {
        const expected = calleesOf(f, fns, !bigEndian);
        const got: string[] = [];
        for (let n = 0; n < f.insns.length; n++, k++) {
          const insn = p.instructions[k]!;
          expect(insn.code).toBe(f.insns[n]!.bytes[0]);
          if (insn.code === OP_CALL && insn.src === PseudoCall.LOCAL) {
            const target = starts.get(offsets[k]! + insn.imm + 1);
            expect(target, `call in ${p.name} at slot ${offsets[k]}`).toBeDefined();
            got.push(target!.name);
          }
        }
        expect(got).toEqual(expected);
      }
    }
  });

  it('records a relocation for every lddw llvm-objdump shows relocated', () => {
    const sections = refSections(path);
    const symbols = refSymbols(path);
    for (const p of spec.programs) {
      const entry = entryOf(fns, p);
      for (const i of entry.insns) {
        if (i.bytes[0] !== 0x18 || !i.reloc) continue;
        const r = p.relocations.find((x) => x.slot === i.slot - entry.start);
        const codeTarget = fns.some((f) => f.name === i.reloc!.symbol) || fns.some((f) => f.section === i.reloc!.symbol);
        if (codeTarget) {
          // A callback's address: linked like a call, as an lddw with src = PSEUDO_FUNC.
          expect(r).toBeUndefined();
          const offsets = slotOffsets(p.instructions);
          const insn = p.instructions[offsets.indexOf(i.slot - entry.start)]!;
          expect(insn.src).toBe(PseudoLd.FUNC);
          const start = offsets[0]! + insn.imm + 1 + (i.slot - entry.start);
          let at = 0;
          const names = [entry, ...p.subprograms.map((n) => fns.find((f) => f.name === n)!)].map((f) => {
            const s0 = at;
            at += f.end - f.start;
            return [s0, f.name] as const;
          });
          expect(names.find(([s0]) => s0 === start)?.[1]).toBe(addressTakenBy({ ...entry, insns: [i] }, fns, !bigEndian)[0]);
          continue;
        }
        expect(r, `${p.name} slot ${i.slot}`).toBeDefined();
        const sym = symbols.find((s) => s.name === i.reloc!.symbol);
        const symSection = sym && sym.section > 0 && sym.section < sections.length ? sections[sym.section]!.name : undefined;
        if (r!.kind === 'map') expect(r!.map).toBe(i.reloc.symbol);
        else if (r!.kind === 'map_value') expect(r!.map).toBe(symSection ?? i.reloc.symbol);
        else if (r!.kind === 'kconfig' || r!.kind === 'ksym') expect(r!.name).toBe(i.reloc.symbol);
        else throw new Error(`unexpected ${r!.kind}`);
      }
      for (const i of entry.insns) {
        if (i.bytes[0] === OP_CALL && i.reloc && !fns.some((f) => f.name === i.reloc!.symbol) && !sections.some((s) => s.name === i.reloc!.symbol)) {
          expect(p.relocations.find((x) => x.slot === i.slot - entry.start)).toMatchObject({ kind: 'kfunc', name: i.reloc.symbol });
        }
      }
    }
  });

  it('defines the maps libbpf defines, with the same initial values', () => {
    expect(
      spec.maps.map((m) => {
        const out: Record<string, unknown> = {
          map: m.name,
          type: m.type,
          key: m.keySize,
          value: m.valueSize,
          max: m.maxEntries,
          flags: m.flags,
          numa: m.numaNode ?? 0,
          extra: Number(m.mapExtra ?? 0n),
          pinned: m.pinning === 'by_name',
          internal: m.initialData !== undefined,
        };
        if (m.innerMap) out.inner = { type: m.innerMap.type, key: m.innerMap.keySize, value: m.innerMap.valueSize, max: m.innerMap.maxEntries };
        if (m.initialData && !bigEndian) out.init = hex(m.initialData);
        return out;
      }),
    ).toEqual(libbpf.maps.map(({ init, ...m }) => ({ ...m, map: libbpfMapName(m.map), ...(init && !bigEndian ? { init } : {}) })));
    if (bigEndian) {
      // The data bytes are the sections' bytes, as llvm-readelf dumps them.
      for (const m of spec.maps.filter((x) => x.initialData && x.sectionName !== '.bss' && x.sectionName !== '.kconfig')) {
        const dump = run('llvm-readelf-19', ['-x', m.sectionName, path]);
        const bytes = [...dump.matchAll(/^\s*0x[0-9a-f]+ ((?:[0-9a-f]{2,8} ){1,4})/gm)].map((x) => x[1]!.replace(/ /g, '')).join('');
        expect(hex(m.initialData)).toBe(bytes);
      }
    }
  });

  it('reads the values initialisers of the prog array and the map of maps from .rel.maps', () => {
    const rel = run('llvm-readelf-19', ['-r', path]);
    const maps = spec.maps;
    const jumps = maps.find((m) => m.name === 'jumps')!;
    const outer = maps.find((m) => m.name === 'outer')!;
    // The relocations llvm-readelf lists against .maps name exactly our initialisers.
    const section = rel.split(/\n(?=Relocation section)/).find((s) => s.startsWith("Relocation section '.rel.maps'"))!;
    const named = [...section.matchAll(/R_BPF_64_ABS64\s+\S+\s+(\S+)/g)].map((m) => m[1]);
    expect([...jumps.initialSlots!, ...outer.initialSlots!].map((s) => s.name).sort()).toEqual(named.sort());
    // Slot indexes are C's designated initialisers, which the fixture states.
    expect(jumps.initialSlots).toEqual([
      { index: 0, name: 'tail_a' },
      { index: 2, name: 'tail_b' },
    ]);
    expect(outer.initialSlots).toEqual([
      { index: 1, name: 'inner_a' },
      { index: 5, name: 'inner_b' },
    ]);
  });

  it('lists the global variables with the offsets and sizes of the symbol table and the types bpftool shows', () => {
    const btf = JSON.parse(run('bpftool', ['btf', 'dump', 'file', path, '-j'])) as { types: Array<{ id: number; kind: string; name: string; type_id: number }> };
    const symbols = refSymbols(path);
    const sections = refSections(path);
    const dataSections = new Set(spec.maps.filter((m) => m.initialData && m.name !== '.kconfig').map((m) => m.name));
    const expected = symbols
      .filter((s) => s.type === 1 && s.section > 0 && s.section < sections.length && dataSections.has(sections[s.section]!.name))
      .map((s) => ({ name: s.name, map: sections[s.section]!.name, offset: s.value, size: s.size }));
    expect(spec.variables.map(({ name, map, offset, size }) => ({ name, map, offset, size })).sort(byName)).toEqual(expected.sort(byName));
    for (const v of spec.variables) {
      const varType = btf.types.find((t) => t.kind === 'VAR' && t.name === v.name);
      expect(v.typeId).toBe(varType?.type_id);
    }
  });

  it('classifies the externs as bpftool\'s DATASECs do', () => {
    const text = run('bpftool', ['btf', 'dump', 'file', path]);
    const inSec = (name: string) => {
      const block = text.split(/\n(?=\[)/).find((b) => b.includes(`DATASEC '${name}'`)) ?? '';
      return [...block.matchAll(/\((?:VAR|FUNC) '([^']+)'\)/g)].map((m) => m[1]!).sort();
    };
    expect(spec.externs.filter((e) => e.kind === 'kconfig').map((e) => e.name).sort()).toEqual(inSec('.kconfig'));
    expect(spec.externs.filter((e) => e.kind === 'ksym').map((e) => e.name).sort()).toEqual(inSec('.ksyms'));
    const weak = refSymbols(path).filter((s) => s.section === 0 && s.bind === 2).map((s) => s.name).sort();
    expect(spec.externs.filter((e) => e.weak).map((e) => e.name).sort()).toEqual(weak);
  });

  it('moves func_info to the start of every piece and keeps line_info inside the program', () => {
    for (const p of spec.programs) {
      const entry = entryOf(fns, p);
      const pieces = [entry, ...p.subprograms.map((n) => fns.find((f) => f.name === n)!)];
      let at = 0;
      const starts = pieces.map((f) => {
        const s = at;
        at += f.end - f.start;
        return s;
      });
      expect(p.funcInfo.map((f) => f.slot)).toEqual(starts);
      expect(p.lineInfo.length).toBeGreaterThan(0);
      expect(p.lineInfo[0]!.slot).toBe(0);
      for (const l of p.lineInfo) expect(l.slot).toBeLessThan(at);
    }
  });

  it('reads the license and decodes the section names', () => {
    expect(spec.license).toBe('Dual BSD/GPL');
    const byName = (n: string): ProgramSpec => spec.programs.find((p) => p.name === n)!;
    expect(byName('tp_openat').attachTarget).toBe('syscalls/sys_enter_openat');
    expect(byName('up_readline').attachTarget).toBe('/bin/bash:readline');
    expect(byName('fentry_sleepable').flags).toBe(1 << 4); // BPF_F_SLEEPABLE
    expect(byName('frags_prog').flags).toBe(1 << 5); // BPF_F_XDP_HAS_FRAGS
  });
});

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
