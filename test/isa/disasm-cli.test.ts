/** `bpfkit disasm`: options, output, and every kind of bad input. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseElf, sectionByName } from '../../src/elf/index.js';
import { compileBpf, haveClang } from '../support/clang.js';
import { haveLlvm19, objdump } from './disasm-support.js';

/** Run `bpfkit ARGS` in-process, capturing its exit code and output. */
async function bpfkit(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-disasm-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bpfkit disasm', () => {
  it('has --help', async () => {
    const r = await bpfkit('disasm', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: bpfkit disasm FILE\.o \[--section NAME\] \[--syntax llvm\|bpfkit\]/);
  });

  it('refuses bad arguments with usage errors', async () => {
    expect((await bpfkit('disasm')).code).toBe(2);
    expect((await bpfkit('disasm', 'a.o', 'b.o')).code).toBe(2);
    const syntax = await bpfkit('disasm', '--syntax', 'att', 'a.o');
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toContain('--syntax must be llvm or bpfkit, not "att"');
    expect((await bpfkit('disasm', '--bogus', 'a.o')).code).toBe(2);
  });

  it('names a file it cannot read, or that is not an ELF object', async () => {
    const missing = await bpfkit('disasm', join(dir, 'missing.o'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read');
    const junk = join(dir, 'junk.o');
    writeFileSync(junk, 'this is not an ELF file at all');
    const r = await bpfkit('disasm', junk);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ELF header');
    expect(r.stderr).toContain('bad magic');
  });

  describe.skipIf(!haveClang('v3') || !haveLlvm19())('on a compiled object', () => {
    const object = () => compileBpf('test/fixtures/isa/calls_maps.c', { cpu: 'v3', flags: ['-DFIXTURE_CPU=3'] });

    it('prints exactly what llvm-objdump-19 prints, one section with --section', async () => {
      const r = await bpfkit('disasm', '--syntax', 'llvm', '--section', 'socket', object());
      expect(r.code).toBe(0);
      const theirs = objdump(object(), ['--section=socket']);
      expect(r.stdout).toBe(theirs);
    });

    it('prints the bpfkit syntax by default: helpers by name, local calls with their callee', async () => {
      const r = await bpfkit('disasm', object());
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Disassembly of section socket:');
      expect(r.stdout).toContain('Disassembly of section .text:');
      expect(r.stdout).toMatch(/\tcall bpf_map_lookup_elem#1\n/);
      // Relocated calls name their callee as libbpf resolves it: a global function, a
      // static one through the .text section symbol, an extern kfunc.
      expect(r.stdout).toMatch(/\tcall local -1 <global_helper>\n/);
      expect(r.stdout).toMatch(/\tcall local \+\d+ <mix>\n/);
      expect(r.stdout).toMatch(/\tcall local -1 <bpf_rcu_read_lock>\n/);
      expect(r.stdout).toMatch(/\tw\d = atomic_fetch_or\(\(u32 \*\)\(r\d \+ 0\), w\d\)\n/);
    });

    it('names an unknown section, or one without code', async () => {
      const unknown = await bpfkit('disasm', '--section', 'nope', object());
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('no section named "nope"');
      const data = await bpfkit('disasm', '--section', 'license', object());
      expect(data.code).toBe(1);
      expect(data.stderr).toContain('section "license" does not hold code');
    });

    it('names the section, slot and byte offset of a malformed instruction, or marks it with --keep-going', async () => {
      const bytes = new Uint8Array(readFileSync(object()));
      const socket = sectionByName(parseElf(bytes), 'socket')!;
      bytes[socket.offset + 2 * 8] = 0xff; // third instruction: an opcode that does not exist
      const corrupt = join(dir, 'corrupt.o');
      writeFileSync(corrupt, bytes);
      const r = await bpfkit('disasm', corrupt);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/section socket: instruction 2 \(byte offset 16\): unknown/);
      const marked = await bpfkit('disasm', '--keep-going', corrupt);
      expect(marked.code).toBe(0);
      expect(marked.stdout).toMatch(/\n {7}2:\tff [0-9a-f ]+\t\.insn code=0xff .* ; unknown/);
      const llvm = await bpfkit('disasm', '--keep-going', '--syntax', 'llvm', corrupt);
      expect(llvm.stdout).toMatch(/\n {7}2:\tff [0-9a-f ]+\t<unknown>\n/);
    });

    it('names the part of a truncated object', async () => {
      const bytes = readFileSync(object());
      const cut = join(dir, 'cut.o');
      writeFileSync(cut, bytes.subarray(0, 100));
      const r = await bpfkit('disasm', cut);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cut\.o: .*offset/);
    });
  });
});
