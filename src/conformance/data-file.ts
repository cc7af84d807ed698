/**
 * The bpf_conformance test-file format (`*.data`): a program, the memory it runs on and
 * the value it must return. Pure: it takes the file's text and returns values.
 *
 * ```
 * # Copyright ...            (comments before the first section are ignored)
 * -- asm                     uBPF/bpf_conformance assembly
 * mov %r0, 1
 * exit
 * -- mem                     hex bytes; r1 points at them, r2 is their length
 * 00 01 02 03
 * -- raw                     the program as bytes or as 64-bit words (0x...), if given
 * -- result                  the expected r0, hex (0x...) or decimal
 * 0x1
 * -- error                   or: the error the runner must report instead
 * -- c                       the C source the program came from (informational)
 * -- no register offset      a note for runners (informational)
 * ```
 */

import { assemble } from '../isa/asm/index.js';
import { decodeInstructions } from '../isa/codec.js';
import type { Instruction } from '../isa/instruction.js';

/** A section of a data file that bpf_conformance knows. */
export type DataFileSectionName = 'asm' | 'mem' | 'raw' | 'result' | 'error' | 'c' | 'no register offset';

const SECTION_NAMES: readonly DataFileSectionName[] = ['asm', 'mem', 'raw', 'result', 'error', 'c', 'no register offset'];

/** Malformed data file: an unknown section, bad hex, a result that is not a number. */
export class DataFileError extends Error {
  override readonly name = 'DataFileError';
  constructor(
    /** What is wrong, without the location. */
    readonly reason: string,
    /** 1-based line of the data file, when the problem has one. */
    readonly line?: number,
  ) {
    super(line === undefined ? reason : `line ${line}: ${reason}`);
  }
}

/** The assembly of a test, with where it sits in the file so errors can name file lines. */
export interface DataFileAssembly {
  /** The section's lines joined with `\n`, comments kept (the assembler strips them). */
  text: string;
  /** 1-based file line of the section's first line: add `firstLine - 1` to an assembly line. */
  firstLine: number;
}

/** A parsed bpf_conformance test file. */
export interface ConformanceDataFile {
  /** The `-- asm` section, if present. */
  asm?: DataFileAssembly;
  /** The `-- raw` section as a little-endian instruction byte stream, if present. */
  raw?: Uint8Array;
  /** The `-- mem` bytes (empty when the file has no memory). */
  mem: Uint8Array;
  /** The expected return value, as an unsigned 64-bit integer. */
  result?: bigint;
  /** The expected error text of a `-- error` section ('' when the section is empty). */
  error?: string;
  /** The `-- c` source text, if present. */
  c?: string;
  /** The text of a `-- no register offset` note, if present. */
  noRegisterOffset?: string;
}

interface SectionText {
  firstLine: number;
  lines: { line: number; text: string }[];
}

/**
 * Parse a bpf_conformance `.data` file.
 *
 * @throws DataFileError naming the line: an unknown `-- ` section, a section given twice,
 *   a `-- mem` or `-- raw` token that is not hex, a `-- result` that is not a number.
 */
export function parseDataFile(text: string): ConformanceDataFile {
  const sections = splitSections(text);
  const file: ConformanceDataFile = { mem: new Uint8Array(0) };
  for (const [name, section] of sections) {
    switch (name) {
      case 'asm':
        file.asm = { text: section.lines.map((l) => l.text).join('\n'), firstLine: section.firstLine };
        break;
      case 'mem':
        file.mem = parseHexBytes(section);
        break;
      case 'raw':
        file.raw = parseRaw(section);
        break;
      case 'result':
        file.result = parseResult(section);
        break;
      case 'error':
        file.error = section.lines
          .map((l) => l.text.trim())
          .filter((l) => l !== '')
          .join('\n');
        break;
      case 'c':
        file.c = section.lines.map((l) => l.text).join('\n');
        break;
      case 'no register offset':
        file.noRegisterOffset = section.lines.map((l) => l.text).join('\n').trim();
        break;
    }
  }
  return file;
}

function splitSections(text: string): Map<DataFileSectionName, SectionText> {
  const sections = new Map<DataFileSectionName, SectionText>();
  let current: SectionText | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    const lineNo = i + 1;
    if (line.startsWith('--')) {
      const name = line.slice(2).trim();
      if (!isSectionName(name)) {
        throw new DataFileError(`unknown section "-- ${name}" (known: ${SECTION_NAMES.map((n) => `-- ${n}`).join(', ')})`, lineNo);
      }
      if (sections.has(name)) throw new DataFileError(`section "-- ${name}" is given twice`, lineNo);
      current = { firstLine: lineNo + 1, lines: [] };
      sections.set(name, current);
      continue;
    }
    // Lines before the first section are the file's header comments.
    current?.lines.push({ line: lineNo, text: line });
  }
  return sections;
}

function isSectionName(name: string): name is DataFileSectionName {
  return (SECTION_NAMES as readonly string[]).includes(name);
}

/** Section text without `#` comments, as whitespace-separated tokens with their lines. */
function tokens(section: SectionText): { line: number; token: string }[] {
  const out: { line: number; token: string }[] = [];
  for (const { line, text } of section.lines) {
    const code = text.replace(/#.*/, '');
    for (const token of code.split(/\s+/)) if (token !== '') out.push({ line, token });
  }
  return out;
}

function parseHexBytes(section: SectionText): Uint8Array {
  return Uint8Array.from(
    tokens(section).map(({ line, token }) => {
      if (!/^[0-9a-fA-F]{1,2}$/.test(token)) throw new DataFileError(`"${token}" is not a hex byte (-- mem holds bytes like "0a ff")`, line);
      return parseInt(token, 16);
    }),
  );
}

/**
 * `-- raw` comes in two spellings: 64-bit words (`0x5566778800000018`, the opcode in the
 * low byte, as bpf_conformance reads them on a little-endian host) or bytes (`18 00 ...`).
 */
function parseRaw(section: SectionText): Uint8Array {
  const toks = tokens(section);
  const words = toks.length > 0 && toks.every(({ token }) => /^0x/i.test(token) || token.length > 2);
  if (!words) return parseHexBytes(section);
  const out = new Uint8Array(toks.length * 8);
  const view = new DataView(out.buffer);
  toks.forEach(({ line, token }, i) => {
    const value = parseUnsigned(token);
    if (value === undefined || value >= 1n << 64n) throw new DataFileError(`"${token}" is not a 64-bit instruction word`, line);
    view.setBigUint64(i * 8, value, true);
  });
  return out;
}

function parseResult(section: SectionText): bigint | undefined {
  const toks = tokens(section);
  if (toks.length === 0) return undefined;
  if (toks.length > 1) throw new DataFileError(`-- result holds one number, found "${toks[1]!.token}" after it`, toks[1]!.line);
  const { line, token } = toks[0]!;
  const value = parseUnsigned(token);
  if (value === undefined) throw new DataFileError(`"${token}" is not a number (-- result is hex 0x... or decimal)`, line);
  if (value >= 1n << 64n) throw new DataFileError(`result ${token} does not fit in 64 bits`, line);
  return value;
}

/** A hex (0x...) or decimal unsigned integer, or a negative decimal taken modulo 2^64. */
function parseUnsigned(token: string): bigint | undefined {
  if (/^0x[0-9a-fA-F]+$/i.test(token)) return BigInt(token);
  if (/^[0-9]+$/.test(token)) return BigInt(token);
  if (/^-[0-9]+$/.test(token)) {
    const v = BigInt(token);
    return v < -(1n << 63n) ? undefined : BigInt.asUintN(64, v);
  }
  return undefined;
}

/**
 * The program of a test: its `-- raw` bytes when given (as bpf_conformance prefers them),
 * decoded strictly, or else its `-- asm` section assembled in the ubpf syntax.
 *
 * @throws DataFileError when the file has no program or an empty one; AssemblyError
 *   (naming the line of the data file) for malformed assembly; InstructionError
 *   (naming the slot) for malformed raw bytes.
 */
export function dataFileProgram(file: ConformanceDataFile): Instruction[] {
  let program: Instruction[];
  if (file.raw !== undefined) {
    program = decodeInstructions(file.raw);
  } else if (file.asm !== undefined) {
    program = assemble(file.asm.text, { syntax: 'ubpf', firstLine: file.asm.firstLine });
  } else {
    throw new DataFileError('the file has no program: neither a "-- asm" nor a "-- raw" section');
  }
  if (program.length === 0) {
    throw new DataFileError(`the "-- ${file.raw !== undefined ? 'raw' : 'asm'}" section holds no instructions`, file.raw !== undefined ? undefined : file.asm?.firstLine);
  }
  return program;
}
