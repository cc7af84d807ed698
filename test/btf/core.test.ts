import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Btf } from '../../src/btf/btf.js';
import { applyCoreRelocations, CoreTarget, POISON_HELPER_ID } from '../../src/btf/core/index.js';
import { parseBtfExt } from '../../src/btf/ext.js';
import type { Instruction } from '../../src/isa/instruction.js';
import { decodeInstructions } from '../../src/isa/codec.js';
import { loadObjectSpec } from '../../src/elf/load-object.js';
import { compileBpf } from '../support/clang.js';
import { bpfUsable, libbpfJudge } from './judge.js';
import { btfOf, dumpSection, VMLINUX, vmlinuxHeaderDir } from './support.js';

interface RawInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

/** libbpf's final instructions per program (one slot per line), after bpf_object__load. */
function judgeCore(obj: string, targetBtf?: string): { progs: Map<string, RawInsn[]>; specs: Map<string, string[]> } {
  const run = spawnSync(libbpfJudge(), ['core', obj, ...(targetBtf ? [targetBtf] : [])], {
    encoding: 'utf8',
    env: { ...process.env, JUDGE_DEBUG: '1' },
    maxBuffer: 64 << 20,
  });
  if (run.status !== 0) throw new Error(`libbpf-judge failed: ${run.stderr.slice(-2000)}`);
  const text = run.stdout;
  // libbpf's debug log prints each relocation's local spec first: "prog 'p': relo #3: <byte_off> ...".
  const specs = new Map<string, string[]>();
  for (const m of run.stderr.matchAll(/^libbpf: prog '(\w+)': relo #(\d+): (<.*)$/gm)) {
    const list = specs.get(m[1]!) ?? [];
    if (list[Number(m[2])] === undefined) list[Number(m[2])] = m[3]!;
    specs.set(m[1]!, list);
  }
  const progs = new Map<string, RawInsn[]>();
  let cur: RawInsn[] = [];
  for (const line of text.split('\n')) {
    const p = /^prog (\S+) \d+$/.exec(line);
    if (p) progs.set(p[1]!, (cur = []));
    else if (line) {
      const [code, dst, src, off, imm] = line.split(' ').map(Number) as [number, number, number, number, number];
      cur.push({ code, dst, src, off, imm });
    }
  }
  return { progs, specs };
}

/** Our instructions as slots. */
function slots(insns: Instruction[]): RawInsn[] {
  const out: RawInsn[] = [];
  for (const i of insns) {
    out.push({ code: i.code, dst: i.dst, src: i.src, off: i.off, imm: i.imm });
    if (i.code === 0x18) out.push({ code: 0, dst: 0, src: 0, off: 0, imm: i.imm2 ?? 0 });
  }
  return out;
}

/** Compare slot for slot; lddw of maps/global data (libbpf sets src 1/2 and fds) compare opcode and dst only. */
function diffSlots(ours: RawInsn[], theirs: RawInsn[]): string[] {
  const diffs: string[] = [];
  if (ours.length !== theirs.length) diffs.push(`length ${ours.length} != ${theirs.length}`);
  for (let i = 0; i < Math.min(ours.length, theirs.length); i++) {
    const a = ours[i]!;
    const b = theirs[i]!;
    if (b.code === 0x18 && (b.src === 1 || b.src === 2)) {
      if (a.code !== b.code || a.dst !== b.dst) diffs.push(`slot ${i}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`);
      i++; // second half: the map value offset moves from imm to imm2 when libbpf rewrites it
      continue;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) diffs.push(`slot ${i}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`);
  }
  return diffs;
}

/** Relocate each program section of `obj` with our engine against `target`. */
function relocateObject(obj: string, target: CoreTarget) {
  const local = Btf.parse(btfOf(obj).bytes);
  const ext = parseBtfExt(dumpSection(obj, '.BTF.ext')!, local);
  const out = new Map<string, ReturnType<typeof applyCoreRelocations>>();
  for (const [section, relos] of ext.coreRelos) {
    const code = dumpSection(obj, section)!;
    const insns = decodeInstructions(code, { endian: local.endian });
    out.set(section, applyCoreRelocations(insns, relos, local, target));
  }
  return out;
}

let vmlinux: CoreTarget | undefined;
/** vmlinux BTF, parsed once per file. */
function vmlinuxTarget(): CoreTarget {
  return (vmlinux ??= new CoreTarget(Btf.parse(new Uint8Array(readFileSync(VMLINUX)))));
}

const programs: Record<string, string> = { 'raw_tp/sys_enter': 'probed', 'tp_btf/sys_enter': 'direct' };

describe.skipIf(!bpfUsable()).each([
  { compiler: 'clang 14', cpu: 'v3' as const, clang: 'clang' },
  { compiler: 'clang-19', cpu: 'v3' as const, clang: 'clang-19' },
])('CO-RE against this kernel, $compiler', ({ cpu, clang }) => {
  let obj: string;
  let target: CoreTarget;
  beforeAll(() => {
    obj = compileBpf('test/fixtures/btf/core.c', { cpu, clang, flags: [`-I${vmlinuxHeaderDir()}`] });
    target = vmlinuxTarget();
  });

  it('patches the same instructions as libbpf', () => {
    const theirs = judgeCore(obj);
    const ours = relocateObject(obj, target);
    expect([...ours.keys()].sort()).toEqual(Object.keys(programs).sort());
    for (const [section, { insns, results }] of ours) {
      const failed = results.filter((r) => r.status === 'failed');
      expect(failed).toEqual([]);
      expect(diffSlots(slots(insns), theirs.progs.get(programs[section]!)!)).toEqual([]);
      expect(results.map((r) => r.local)).toEqual(theirs.specs.get(programs[section]!));
    }
    // Not vacuous: offsets moved, a guarded missing field was poisoned, every kind family appears.
    const all = [...ours.values()].flatMap((r) => r.results);
    expect(all.filter((r) => r.status === 'poisoned').length).toBeGreaterThanOrEqual(2);
    expect(all.some((r) => r.status === 'patched' && r.origValue !== r.newValue)).toBe(true);
    const kinds = new Set(all.map((r) => r.kindName));
    for (const k of ['byte_off', 'byte_sz', 'field_exists', 'signed', 'lshift_u64', 'rshift_u64', 'local_type_id', 'target_type_id', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value']) {
      expect(kinds, k).toContain(k);
    }
    if (clang === 'clang-19') expect(kinds).toContain('type_matches');
    // A direct u64 load of a u32 kernel field was narrowed (LDX DW -> W), as libbpf does.
    const before = decodeInstructions(dumpSection(obj, 'tp_btf/sys_enter')!);
    const after = ours.get('tp_btf/sys_enter')!.insns;
    expect(before.some((insn, i) => insn.code === 0x79 && after[i]!.code === 0x61)).toBe(true);
    const probed = ours.get('raw_tp/sys_enter')!.insns;
    expect(probed.some((i) => i.code === 0x85 && i.imm === POISON_HELPER_ID)).toBe(true);
  });
});

describe.skipIf(!bpfUsable())('CO-RE against a custom target BTF (libbpf btf_custom_path)', () => {
  it('patches the same instructions as libbpf: flavors, anonymous members, bitfields, arrays, enum64, poisoned lddw', () => {
    const targetObj = compileBpf('test/fixtures/btf/core-target.c', { cpu: 'v3', clang: 'clang-19' });
    const obj = compileBpf('test/fixtures/btf/core-local.c', { cpu: 'v3', clang: 'clang-19' });
    const theirs = judgeCore(obj, targetObj);
    const target = new CoreTarget(Btf.parse(btfOf(targetObj).bytes));
    const ours = relocateObject(obj, target).get('raw_tp/sys_enter')!;
    expect(ours.results.filter((r) => r.status === 'failed')).toEqual([]);
    expect(diffSlots(slots(ours.insns), theirs.progs.get('prog')!)).toEqual([]);
    expect(ours.results.map((r) => r.local)).toEqual(theirs.specs.get('prog'));
    // A poisoned lddw becomes two poison calls, as in libbpf.
    const poisoned = ours.results.filter((r) => r.status === 'poisoned');
    expect(poisoned.map((r) => r.kindName).sort()).toContain('enumval_value');
    expect(ours.results.find((r) => r.kindName === 'enumval_value' && r.status === 'patched' && r.newValue! > 0xffffffffn)).toBeDefined();
  });
});

describe.skipIf(!bpfUsable())('CO-RE on the ObjectSpec the ELF loader produces', () => {
  it('relocating ProgramSpec instructions gives libbpf\'s program', () => {
    const obj = compileBpf('test/fixtures/btf/core.c', { cpu: 'v3', clang: 'clang-19', flags: [`-I${vmlinuxHeaderDir()}`] });
    const spec = loadObjectSpec(new Uint8Array(readFileSync(obj)));
    const local = Btf.parse(spec.btfData!);
    const theirs = judgeCore(obj);
    const target = vmlinuxTarget();
    for (const prog of spec.programs) {
      const { insns, results } = applyCoreRelocations(prog.instructions, prog.coreRelocations, local, target);
      expect(results.length).toBeGreaterThan(0);
      expect(results.filter((r) => r.status === 'failed')).toEqual([]);
      expect(diffSlots(slots(insns), theirs.progs.get(prog.name)!)).toEqual([]);
    }
  });
});
