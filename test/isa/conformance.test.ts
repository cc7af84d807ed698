import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataFileError, dataFileProgram, parseDataFile } from '../../src/conformance/data-file.js';
import { assemble } from '../../src/isa/asm/index.js';
import { decodeInstructions } from '../../src/isa/codec.js';
import { AssemblyError, InstructionError } from '../../src/isa/errors.js';
import { conformanceRoot } from '../support/clang.js';

/** The suite sits beside the checkout (../shared/conformance, see DESIGN.md). */
const ROOT = `${conformanceRoot}/`;

function dataFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.data'))
    .sort();
}

function read(dir: string, name: string): string {
  return readFileSync(join(ROOT, dir, name), 'utf8');
}

describe('bpf_conformance tests assemble', () => {
  const files = dataFiles('tests');

  it('finds the whole suite', () => {
    expect(files).toHaveLength(313);
  });

  it.each(files)('%s', (name) => {
    const file = parseDataFile(read('tests', name));
    expect(file.asm).toBeDefined();
    const program = assemble(file.asm!.text, { syntax: 'ubpf', firstLine: file.asm!.firstLine });
    expect(program.length).toBeGreaterThan(0);
    if (file.raw !== undefined) expect(decodeInstructions(file.raw)).toEqual(program);
  });
});

describe('bpf_conformance negative tests', () => {
  const files = dataFiles('negative');
  /** They test a runner, not a parser: their programs are fine. */
  const runnerTests = new Set(['error.data', 'incorrect_return_value_high_bits.data']);

  it('finds the negative files', () => {
    expect(files.length).toBeGreaterThanOrEqual(60);
  });

  it.each(files.filter((f) => runnerTests.has(f)))('%s assembles', (name) => {
    expect(dataFileProgram(parseDataFile(read('negative', name))).length).toBe(2);
  });

  it.each(files.filter((f) => f.startsWith('invalid')))('%s is rejected naming the line', (name) => {
    const text = read('negative', name);
    let error: unknown;
    try {
      dataFileProgram(parseDataFile(text));
    } catch (e) {
      error = e;
    }
    expect(error instanceof AssemblyError || error instanceof DataFileError).toBe(true);
    const line = (error as AssemblyError | DataFileError).line!;
    expect(line).toBeGreaterThan(0);
    // The line named is the offending one: not blank, not a comment.
    const offending = text.split('\n')[line - 1]!;
    expect(offending.trim()).not.toBe('');
    expect(offending.trim().startsWith('#')).toBe(false);
    expect((error as Error).message).toMatch(new RegExp(`^line ${line}: `));
  });

  it.each(files.filter((f) => f.startsWith('empty')))('%s is rejected: it has no program', (name) => {
    expect(() => dataFileProgram(parseDataFile(read('negative', name)))).toThrow(DataFileError);
  });

  it.each(files.filter((f) => f.startsWith('unused-')))('%s: reserved fields set, strict decoding names the slot', (name) => {
    const file = parseDataFile(read('negative', name));
    expect(file.raw).toBeDefined();
    expect(() => decodeInstructions(file.raw!)).toThrow(InstructionError);
    expect(() => decodeInstructions(file.raw!)).toThrow(/^instruction 0 \(byte offset 0\): /);
  });

  it('every negative file is covered by one of the cases above', () => {
    const covered = files.filter((f) => runnerTests.has(f) || f.startsWith('invalid') || f.startsWith('empty') || f.startsWith('unused-'));
    expect(covered).toEqual(files);
  });
});

describe('the specific negative cases say what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['invalid_imm32_dec_range.data', /line 5: immediate 2147483648 is out of range/],
    ['invalid_imm32_hex_range.data', /line 5: immediate 0x100000000 is out of range/],
    ['invalid_label.data', /line 4: undefined label "NOT_A_LABEL"/],
    ['invalid_lock.data', /line 4: Invalid number of operands for lock/],
    ['invalid_lock2.data', /line 4: Invalid number of operands for lock/],
    ['invalid_mnemonic.data', /line 5: unknown mnemonic "ldxq"/],
    ['invalid_offset.data', /line 4: expected a memory operand/],
    ['invalid_offset_range.data', /line 5: memory offset \+0x10000 is out of range for 16 bits/],
    ['invalid_operand_count.data', /line 4: lddw takes 2 operands/],
    ['invalid_register.data', /line 4: bad register %r50/],
    ['invalid_unknown_directive.data', /line 4: unknown section "-- Unknown directive"/],
  ];
  it.each(cases)('%s', (name, message) => {
    expect(() => dataFileProgram(parseDataFile(read('negative', name)))).toThrow(message);
  });
});
