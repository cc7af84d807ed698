import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { command } from '../../src/cli/asm.js';
import { disassembleObject } from '../../src/cli/disasm.js';
import { parseElf, SectionFlags } from '../../src/elf/index.js';
import { assemble, decodeInstructions } from '../../src/isa/index.js';
import { runCli } from '../support/cli.js';

const run = (...args: string[]) => runCli(args, command);

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-asm-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('bpfkit asm', () => {
  it('prints hex, one instruction per line, when no -o is given', async () => {
    const src = file('a.s', 'r1 = 0x1122334455667788 ll\nr0 = 0\nexit\n');
    const { code, stdout } = await run(src);
    expect(code).toBe(0);
    expect(stdout).toBe('18 01 00 00 88 77 66 55 00 00 00 00 44 33 22 11\nb7 00 00 00 00 00 00 00\n95 00 00 00 00 00 00 00\n');
  });

  it('writes raw little-endian bytes with -o', async () => {
    const src = file('b.s', 'mov %r0, 1\nexit\n');
    const out = join(dir, 'b.bin');
    expect((await run(src, '--syntax', 'ubpf', '-o', out)).code).toBe(0);
    expect([...readFileSync(out)]).toEqual([0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('reads the -- asm section of a bpf_conformance .data file, in the ubpf syntax', async () => {
    const src = file('t.data', '# header\n-- asm\nmov32 %r0, 7\nexit\n-- result\n0x7\n');
    const { code, stdout } = await run(src);
    expect(code).toBe(0);
    expect(stdout).toBe('b4 00 00 00 07 00 00 00\n95 00 00 00 00 00 00 00\n');
  });

  it('reports an error with the file and line, exit code 1', async () => {
    const src = file('bad.s', 'r0 = 0\ngoto out\nexit\n');
    const { code, stderr } = await run(src);
    expect(code).toBe(1);
    expect(stderr).toBe(`bpfkit asm: ${src}:2: undefined label "out"\n  goto out\n`);
    const data = file('bad.data', '-- asm\nexit\nmov32 %r0, 2147483648\n');
    expect((await run(data)).stderr).toMatch(new RegExp(`${data.replace(/[.]/g, '\\.')}:3: immediate 2147483648 is out of range`));
  });

  it('rejects bad usage with exit code 2', async () => {
    expect((await run()).code).toBe(2);
    expect((await run('x.s', '--syntax', 'intel')).stderr).toMatch(/--syntax must be one of bpfkit, llvm, ubpf/);
    expect((await run('x.s', '--bogus')).code).toBe(2);
    expect((await run(join(dir, 'missing.s'))).stderr).toMatch(/cannot read/);
  });

  it('has help', () => {
    expect(command.help).toMatch(/usage: bpfkit asm FILE \[-o OUT\.bin\] \[--syntax bpfkit\|llvm\|ubpf\]/);
  });
});

describe('a bpfkit disasm listing assembles back into its object', () => {
  for (const object of ['bpf/examples/xdp_count.o', 'bpf/mesh/mesh.o']) {
    it(object, () => {
      const bytes = readFileSync(object);
      const elf = parseElf(bytes);
      for (const section of elf.sections.filter((s) => (s.flags & SectionFlags.EXECINSTR) !== 0 && s.size > 0)) {
        for (const syntax of ['bpfkit', 'llvm'] as const) {
          const listing = disassembleObject(bytes, { fileName: object, section: section.name, syntax });
          // In the llvm syntax, relocated lddw and calls are ambiguous but still encode the same here.
          expect(assemble(listing, { syntax }), `${section.name} in ${syntax}`).toEqual(decodeInstructions(section.data));
        }
      }
    });
  }
});
