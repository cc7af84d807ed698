/** `bpfkit disasm`: options, output, and every kind of bad input. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DisassemblyError, disassembleObject } from '../../src/cli/disasm.js';
import { ElfError, parseElf, sectionByName } from '../../src/elf/index.js';
import { compileBpf, haveClang } from '../support/clang.js';
import { haveLlvm19, objdump } from './disasm-support.js';
import { bpfkit } from '../support/cli.js';

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

  it.skipIf(!existsSync('/bin/true'))('refuses an ELF file for another machine', async () => {
    const r = await bpfkit('disasm', '/bin/true');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not an eBPF object: ELF machine \d+, expected EM_BPF \(247\)/);
  });

  describe.skipIf(!haveClang('v3') || !haveLlvm19())('on a compiled object', () => {
    const object = () => compileBpf('test/fixtures/isa/calls_maps.c', { cpu: 'v3', flags: ['-DFIXTURE_CPU=3'] });

    it('prints exactly what llvm-objdump-19 prints, one section with --section', async () => {
      const r = await bpfkit('disasm', '--syntax', 'llvm', '--section', 'socket', object());
      expect(r.code).toBe(0);
      const theirs = objdump(object(), ['--section=socket']);
      expect(r.stdout).toBe(theirs);
    });

    it('prints the bpfkit syntax by default: helpers by name, relocated calls and lddw with what they refer to', async () => {
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
      // Relocated lddw name their map or variable (by section for static data).
      expect(r.stdout).toMatch(/\tr1 = 0 ll <counts>\n/);
      expect(r.stdout).toMatch(/\tr\d = \d+ ll <(\.bss|flags32|flags64)>\n/);
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

    it('fails on mutated objects only with located ELF or disassembly errors', () => {
      const original = new Uint8Array(readFileSync(object()));
      let seed = 42;
      const random = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
      let failures = 0;
      for (let n = 0; n < 1000; n++) {
        const bytes = original.slice(0, n % 10 === 0 ? random(original.length) : original.length);
        for (let k = 0; k < 1 + (n % 8); k++) if (bytes.length > 0) bytes[random(bytes.length)] = random(256);
        try {
          disassembleObject(bytes, { fileName: 'm.o', syntax: n % 2 === 0 ? 'llvm' : 'bpfkit', keepGoing: n % 4 < 2 });
        } catch (e) {
          expect(e instanceof ElfError || e instanceof DisassemblyError).toBe(true);
          expect((e as Error).message).toMatch(/offset|section|m\.o/);
          failures++;
        }
      }
      expect(failures).toBeGreaterThan(0);
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
