import { describe, expect, it } from 'vitest';
import { DataFileError, dataFileProgram, parseDataFile } from '../../src/conformance/data-file.js';
import { AssemblyError, InstructionError } from '../../src/isa/errors.js';

const SAMPLE = `# Copyright (c) Someone
# SPDX-License-Identifier: MIT
-- asm
mov %r0, 1 # one
exit
-- mem
00 01 0a ff
aa
-- result
0x1122334455667788
`;

describe('parseDataFile', () => {
  it('reads asm (with the file line it starts on), mem and result', () => {
    const file = parseDataFile(SAMPLE);
    expect(file.asm).toEqual({ text: 'mov %r0, 1 # one\nexit', firstLine: 4 });
    expect([...file.mem]).toEqual([0x00, 0x01, 0x0a, 0xff, 0xaa]);
    expect(file.result).toBe(0x1122334455667788n);
    expect(file.raw).toBeUndefined();
    expect(file.error).toBeUndefined();
  });

  it('reads decimal results and CRLF line ends', () => {
    expect(parseDataFile('-- asm\r\nexit\r\n-- result\r\n42\r\n').result).toBe(42n);
  });

  it('reads -- raw as 64-bit words with the opcode in the low byte', () => {
    const file = parseDataFile('-- raw\n0x5566778800000018\n0x1122334400000000\n0x0000000000000095\n-- result\n0x0\n');
    expect([...file.raw!.subarray(0, 8)]).toEqual([0x18, 0, 0, 0, 0x88, 0x77, 0x66, 0x55]);
    expect(file.raw).toHaveLength(24);
  });

  it('reads -- raw as bytes', () => {
    const file = parseDataFile('-- raw\n07 00 01 00 01 00 00 00\n95 00 00 00 00 00 00 00\n-- error\n');
    expect([...file.raw!.subarray(0, 4)]).toEqual([0x07, 0, 1, 0]);
    expect(file.error).toBe('');
  });

  it('keeps -- error text, -- c source and -- no register offset notes', () => {
    const file = parseDataFile('-- c\nint x;\n-- asm\nexit\n-- no register offset\ncall instruction\n-- error\nInvalid register');
    expect(file.c).toBe('int x;');
    expect(file.noRegisterOffset).toBe('call instruction');
    expect(file.error).toBe('Invalid register');
  });

  it('rejects an unknown section, naming its line', () => {
    expect(() => parseDataFile('# x\n-- asm\nexit\n-- Unknown directive\n')).toThrow(/line 4: unknown section "-- Unknown directive"/);
  });

  it('rejects a section given twice', () => {
    expect(() => parseDataFile('-- asm\nexit\n-- asm\nexit\n')).toThrow(/line 3: section "-- asm" is given twice/);
  });

  it('rejects bad memory bytes and bad results, naming the line', () => {
    expect(() => parseDataFile('-- asm\nexit\n-- mem\n00 zz\n')).toThrow(DataFileError);
    expect(() => parseDataFile('-- asm\nexit\n-- mem\n00 zz\n')).toThrow(/line 4: "zz" is not a hex byte/);
    expect(() => parseDataFile('-- asm\nexit\n-- mem\n100\n')).toThrow(/line 4/);
    expect(() => parseDataFile('-- asm\nexit\n-- result\nbanana\n')).toThrow(/line 4: "banana" is not a number/);
    expect(() => parseDataFile('-- asm\nexit\n-- result\n0x10000000000000000\n')).toThrow(/line 4: .*64 bits/);
    expect(() => parseDataFile('-- raw\n0x1g\n')).toThrow(/line 2/);
  });
});

describe('dataFileProgram', () => {
  it('assembles -- asm in the ubpf syntax', () => {
    expect(dataFileProgram(parseDataFile(SAMPLE))).toEqual([
      { code: 0xb7, dst: 0, src: 0, off: 0, imm: 1 },
      { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
    ]);
  });

  it('prefers -- raw, decoded strictly', () => {
    const file = parseDataFile('-- asm\nmov %r0, 2\nexit\n-- raw\n0x00000001000000b7\n0x0000000000000095\n');
    expect(dataFileProgram(file)[0]).toEqual({ code: 0xb7, dst: 0, src: 0, off: 0, imm: 1 });
    expect(() => dataFileProgram(parseDataFile('-- raw\n07 00 01 00 01 00 00 00\n'))).toThrow(InstructionError);
  });

  it('names the data-file line of an assembly error', () => {
    const err = (() => {
      try {
        dataFileProgram(parseDataFile('# header\n-- asm\nmov %r0, 1\nfoo %r0\n'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AssemblyError);
    expect((err as AssemblyError).line).toBe(4);
  });

  it('rejects a file without a program, or with an empty one', () => {
    expect(() => dataFileProgram(parseDataFile('# nothing\n'))).toThrow(/no program/);
    expect(() => dataFileProgram(parseDataFile('-- asm\n# only a comment\n-- result\n0x0\n'))).toThrow(/holds no instructions/);
  });
});
