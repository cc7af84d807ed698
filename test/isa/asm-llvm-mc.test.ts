/**
 * The llvm syntax against LLVM's own assembler: every text llvm-objdump prints for the
 * valid opcode forms below (with and without alu32), plus hand-written forms, is
 * assembled by llvm-mc-19 and by bpfkit, and the encodings must agree byte for byte.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble, disassemble, encodeInstructions, insn, isValidInstruction, type Instruction } from '../../src/isa/index.js';

function haveLlvmMc(): boolean {
  return spawnSync('llvm-mc-19', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Every valid opcode byte crossed with field values that hit each field rule, and every lddw pseudo source. */
function forms(): Instruction[] {
  const out: Instruction[] = [];
  for (let code = 0; code < 256; code++) {
    if (code === 0x18) continue;
    for (const dst of [0, 1, 10])
      for (const src of [0, 2, 10])
        for (const off of [0, 1, 8, 16, 32, -8, 32767, -32768])
          for (const imm of [0, 1, -1, 16, 32, 64, 0x41, 0xe1, 0xf1, 0x100, 0x110, 1 << 16, 2147483647, -2147483648])
            if (isValidInstruction(insn(code, dst, src, off, imm))) out.push(insn(code, dst, src, off, imm));
  }
  for (let src = 0; src <= 6; src++) out.push(insn(0x18, 3, src, 0, 7, 0));
  out.push(insn(0x18, 3, 0, 0, -1, -1), insn(0x18, 3, 0, 0, 0x12345678, 0x7abcdef0));
  return out;
}

const HAND_WRITTEN = [
  'r1 = 18446744073709551615 ll',
  'w1 = 4294967295',
  'r1 = 0x7fffffff',
  'if r1 s>= -5 goto -3',
  '*(u16 *)(r10 - 2) = -1',
];

/** Texts LLVM's assembler refuses; bpfkit must refuse them too. */
const INVALID = ['w0 += r1', 'r0 = *(u32 *)(r1 + 40000)', 'if r1 == r2 goto +40000'];

/** llvm-mc-19's encodings, one array of bytes per source line. */
function llvmMcEncodings(lines: readonly string[]): { encodings: number[][]; errors: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-asm-'));
  try {
    const file = join(dir, 'forms.s');
    writeFileSync(file, lines.join('\n') + '\n');
    const run = spawnSync('llvm-mc-19', ['-triple=bpfel', '-mcpu=v4', '-show-encoding', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const encodings = run.stdout
      .split('\n')
      .map((l) => /# encoding: \[([^\]]*)\]/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => m[1]!.split(',').map((b) => Number(b)));
    return { encodings, errors: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const needTool = !haveLlvmMc() && process.env.CI !== 'true';

describe.skipIf(needTool)('the llvm syntax agrees with llvm-mc-19', () => {
  it('has llvm-mc-19 (CI installs llvm-19)', () => {
    expect(haveLlvmMc()).toBe(true);
  });

  it('encodes every form llvm-objdump prints exactly as llvm-mc-19 does', () => {
    const insns = forms();
    const texts = new Set<string>();
    for (const alu32 of [false, true]) {
      for (const text of disassemble(insns, { syntax: 'llvm', alu32 })) {
        // LLVM 19 has no text for these; its assembler reads gotol offsets as 16-bit only.
        if (text === '<unknown>' || /load_acquire|store_release/.test(text)) continue;
        const gotol = /^gotol ([+-]\d+)/.exec(text);
        if (gotol && Math.abs(Number(gotol[1])) > 32767) continue;
        texts.add(text);
      }
    }
    for (const text of HAND_WRITTEN) texts.add(text);
    const lines = [...texts];
    expect(lines.length).toBeGreaterThan(5000);

    const { encodings, errors } = llvmMcEncodings(lines);
    expect(errors).toBe('');
    expect(encodings).toHaveLength(lines.length);
    const mismatches: string[] = [];
    lines.forEach((line, i) => {
      const ours = [...encodeInstructions(assemble(line, { syntax: 'llvm' }))];
      if (ours.join(',') !== encodings[i]!.join(',')) mismatches.push(`${line}: llvm-mc ${encodings[i]!.join(',')} bpfkit ${ours.join(',')}`);
    });
    expect(mismatches.slice(0, 20)).toEqual([]);
  });

  it.each(INVALID)('rejects what llvm-mc-19 rejects: %s', (bad) => {
    expect(llvmMcEncodings([bad]).errors).toMatch(/error/);
    expect(() => assemble(bad, { syntax: 'llvm' })).toThrow(/^line 1: /);
  });
});
