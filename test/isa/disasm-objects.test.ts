/**
 * `bpfkit disasm --syntax llvm` against llvm-objdump-19 on objects clang compiles from the
 * C fixtures in test/fixtures/isa (clang 14 at -mcpu=v1..v3, clang-19 at -mcpu=v4, and
 * one big-endian object): the whole listing — section headers, labels, slot numbers,
 * raw bytes and instruction text — line for line, byte for byte; and the bpfkit-syntax
 * listing of every section assembles back to the same instructions. A coverage
 * check makes sure the fixtures between them really use every instruction form that C
 * can produce.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { disassembleObject } from '../../src/cli/disasm.js';
import { SectionFlags, parseElf } from '../../src/elf/index.js';
import { assemble, decodeInstructions, operationOf, type Operation } from '../../src/isa/index.js';
import { compileBpf, haveClang, repoRoot, type CompileOptions } from '../support/clang.js';
import { haveLlvm19, llvmMcObject, objdump } from './disasm-support.js';

interface Fixture {
  source: string;
  options: CompileOptions;
}

const fixtures: Fixture[] = [];
/** The fixtures see their -mcpu as FIXTURE_CPU (clang 14 has no __BPF_CPU_VERSION__). */
function cpuOptions(cpu: 'v1' | 'v2' | 'v3' | 'v4', extra: CompileOptions = {}): CompileOptions {
  return { cpu, flags: [`-DFIXTURE_CPU=${cpu.slice(1)}`], ...extra };
}
for (const source of ['alu_jmp', 'calls_maps', 'ld_abs', 'asm_forms']) {
  for (const cpu of ['v1', 'v2', 'v3', 'v4'] as const) fixtures.push({ source, options: cpuOptions(cpu) });
}
fixtures.push({ source: 'v4', options: cpuOptions('v4') });
fixtures.push({ source: 'long_jump', options: cpuOptions('v4', { debug: false }) });
fixtures.push({ source: 'alu_jmp', options: cpuOptions('v3', { bigEndian: true }) });
fixtures.push({ source: 'calls_maps', options: cpuOptions('v4', { bigEndian: true }) });

function label(f: Fixture): string {
  return `${f.source}.c -mcpu=${f.options.cpu}${f.options.bigEndian ? ' (big-endian)' : ''}`;
}

/**
 * The listing's lines. The issue asks for equality ignoring whitespace; the listings are
 * in fact byte-identical, so the comparison is exact.
 */
function lines(text: string): string[] {
  return text.split('\n');
}

/** A name for the instruction form: what differs in the text, not the operands' values. */
function formKey(op: Operation): string {
  switch (op.kind) {
    case 'alu':
      return `alu${op.width} ${op.op}${op.extendBits ?? ''} ${op.operand.kind}`;
    case 'endian':
      return `${op.order}${op.bits}`;
    case 'jcond':
      return `jmp${op.width} ${op.cond} ${op.operand.kind}`;
    case 'ja':
      return op.long ? 'gotol' : 'goto';
    case 'call':
      return `call ${op.target}`;
    case 'lddw':
      return `lddw ${op.pseudo}`;
    case 'ldabs':
    case 'ldind':
      return `${op.kind}${op.size * 8}`;
    case 'load':
      return `load ${op.signed ? 's' : 'u'}${op.size * 8}`;
    case 'store':
    case 'store_imm':
      return `${op.kind} ${op.size * 8}`;
    case 'atomic':
      return `atomic${op.size * 8} ${op.fetch && op.op !== 'xchg' && op.op !== 'cmpxchg' ? 'fetch_' : ''}${op.op}`;
    default:
      return op.kind;
  }
}

/**
 * Every form clang emits into objects. Not here: load-acquire/store-release (LLVM 21),
 * kfunc calls and lddw pseudo sources (objects hold them as relocated `call -1` and
 * `r1 = 0 ll`; libbpf sets the pseudo source at load time). le* comes from the
 * big-endian objects.
 */
function expectedForms(): string[] {
  const out: string[] = [];
  for (const w of [32, 64]) {
    for (const op of ['add', 'sub', 'mul', 'div', 'or', 'and', 'lsh', 'rsh', 'mod', 'xor', 'mov', 'arsh']) {
      out.push(`alu${w} ${op} reg`, `alu${w} ${op} imm`);
    }
    out.push(`alu${w} neg imm`, `alu${w} sdiv reg`, `alu${w} sdiv imm`, `alu${w} smod reg`, `alu${w} smod imm`);
    out.push(`alu${w} movsx8 reg`, `alu${w} movsx16 reg`);
    for (const c of ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'sgt', 'sge', 'slt', 'sle', 'set']) out.push(`jmp${w} ${c} reg`, `jmp${w} ${c} imm`);
    out.push(`atomic${w} add`, `atomic${w} fetch_add`, `atomic${w} or`, `atomic${w} fetch_or`, `atomic${w} and`, `atomic${w} fetch_and`);
    out.push(`atomic${w} xor`, `atomic${w} fetch_xor`, `atomic${w} xchg`, `atomic${w} cmpxchg`);
  }
  out.push('alu64 movsx32 reg', 'alu64 addr_space_cast reg');
  for (const b of [16, 32, 64]) out.push(`be${b}`, `le${b}`, `swap${b}`);
  out.push('goto', 'gotol', 'may_goto', 'call helper', 'call local', 'callx', 'exit', 'lddw imm64');
  for (const s of [8, 16, 32]) out.push(`ldabs${s}`, `load s${s}`);
  for (const s of [8, 16, 32]) out.push(`ldind${s}`);
  for (const s of [8, 16, 32, 64]) out.push(`load u${s}`, `store ${s}`, `store_imm ${s}`);
  return out.sort();
}

function shippedObjects(): string[] {
  const dir = join(repoRoot, 'bpf');
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.o')).map((f) => join('bpf', f)).sort();
}

describe.skipIf(!haveLlvm19() || !haveClang('v3') || !haveClang('v4'))('disassembly of compiled objects equals llvm-objdump-19', () => {
  const seen = new Set<string>();

  for (const fixture of fixtures) {
    it(label(fixture), () => {
      const object = compileBpf(`test/fixtures/isa/${fixture.source}.c`, fixture.options);
      const bytes = readFileSync(object);
      for (const alu32 of [false, true]) {
        const theirs = objdump(object, alu32 ? ['--mattr=+alu32'] : []);
        const ours = disassembleObject(bytes, { fileName: object, syntax: 'llvm', alu32 });
        const a = lines(ours);
        const b = lines(theirs);
        const firstDiff = a.findIndex((l, i) => l !== b[i]);
        expect(firstDiff === -1 ? null : { line: firstDiff, ours: a[firstDiff], llvm: b[firstDiff] }).toBeNull();
        expect(a.length).toBe(b.length);
        expect(b.length).toBeGreaterThan(10);
      }
      // Record the forms used, and check that the bpfkit syntax, annotations included,
      // assembles back to the same instructions.
      const elf = parseElf(bytes);
      for (const s of elf.sections) {
        if ((s.flags & SectionFlags.EXECINSTR) === 0 || s.size === 0) continue;
        const insns = decodeInstructions(s.data, { endian: elf.header.endian });
        for (const i of insns) seen.add(formKey(operationOf(i)));
        // The whole `bpfkit disasm --section` listing (labels, slots, bytes, <references>) is
        // assembler input.
        const listing = disassembleObject(bytes, { fileName: object, section: s.name, syntax: 'bpfkit' });
        expect(assemble(listing)).toEqual(insns);
      }
    });
  }

  // The objects bpfkit ships (bpf/**/*.o, committed): the same listing as llvm-objdump-19.
  for (const object of shippedObjects()) {
    it(`shipped ${object}`, () => {
      const path = join(repoRoot, object);
      expect(disassembleObject(readFileSync(path), { fileName: path, syntax: 'llvm' })).toBe(objdump(path));
    });
  }

  for (const bigEndian of [false, true]) {
    it(`symbols.s (llvm-mc-19, ${bigEndian ? 'big' : 'little'}-endian): labels and annotations as llvm-objdump picks them`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'bpfkit-disasm-sym-'));
      try {
        const object = llvmMcObject(join(repoRoot, 'test/fixtures/isa/symbols.s'), dir, { bigEndian });
        expect(disassembleObject(readFileSync(object), { fileName: object, syntax: 'llvm' })).toBe(objdump(object));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('the fixtures between them use every instruction form clang emits', () => {
    const missing = expectedForms().filter((f) => !seen.has(f));
    expect(missing).toEqual([]);
  });
});
