/**
 * `bpfkit asm FILE.s`: assemble eBPF assembly (bpfkit, llvm or ubpf syntax) into raw
 * little-endian instruction bytes, written to a file or printed as hex.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DataFileError, parseDataFile } from '../conformance/data-file.js';
import { assemble, type AsmSyntax } from '../isa/asm/index.js';
import { encodeInstructions } from '../isa/codec.js';
import { AssemblyError } from '../isa/errors.js';
import type { Instruction } from '../isa/instruction.js';
import type { Command } from './main.js';

const HELP = `usage: bpfkit asm FILE [-o OUT.bin] [--syntax bpfkit|llvm|ubpf]

Assemble eBPF assembly into raw instruction bytes (little-endian, 8 bytes per slot,
16 for lddw). FILE may be "-" for standard input. A bpf_conformance ".data" file is
read for its "-- asm" section, in the ubpf syntax unless --syntax says otherwise.

options:
  -o, --output OUT  write the bytes to OUT (default: print them as hex, one
                    instruction per line)
  --syntax NAME     bpfkit (default), llvm (llvm-objdump's text) or ubpf
                    (bpf_conformance / uBPF: "mov %r0, 1"); see docs/assembly-syntax.md
  -h, --help        this text

Errors name the line and what is wrong, e.g. "prog.s:3: undefined label "out"".
`;

const SYNTAXES: readonly AsmSyntax[] = ['bpfkit', 'llvm', 'ubpf'];

/** The hex listing: one instruction per line, its bytes as hex pairs. */
export function hexListing(insns: readonly Instruction[]): string {
  return insns
    .map((insn) => Array.from(encodeInstructions([insn]), (b) => b.toString(16).padStart(2, '0')).join(' '))
    .join('\n');
}

/** Assemble a file's text: a `.data` file's `-- asm` section, or the whole text. */
function assembleFile(file: string, text: string, syntax: AsmSyntax | undefined): Instruction[] {
  if (file.endsWith('.data')) {
    const data = parseDataFile(text);
    if (data.asm === undefined) throw new DataFileError('the file has no "-- asm" section');
    return assemble(data.asm.text, { syntax: syntax ?? 'ubpf', firstLine: data.asm.firstLine });
  }
  return assemble(text, { syntax: syntax ?? 'bpfkit' });
}

export const command: Command = {
  summary: 'assemble eBPF assembly into raw instruction bytes',
  help: HELP,
  async run(args: string[]): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: true,
        options: { output: { type: 'string', short: 'o' }, syntax: { type: 'string' } },
      });
    } catch (e) {
      process.stderr.write(`bpfkit asm: ${(e as Error).message}\n\n${HELP}`);
      return 2;
    }
    const { values, positionals } = parsed;
    const syntax = values.syntax as AsmSyntax | undefined;
    if (syntax !== undefined && !SYNTAXES.includes(syntax)) {
      process.stderr.write(`bpfkit asm: --syntax must be one of ${SYNTAXES.join(', ')}, not "${syntax}"\n`);
      return 2;
    }
    if (positionals.length !== 1) {
      process.stderr.write(`bpfkit asm: expected one source file, got ${positionals.length}\n\n${HELP}`);
      return 2;
    }
    const file = positionals[0]!;
    let text: string;
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (e) {
      process.stderr.write(`bpfkit asm: cannot read ${file}: ${(e as Error).message}\n`);
      return 1;
    }
    let insns: Instruction[];
    try {
      insns = assembleFile(file, text, syntax);
    } catch (e) {
      if (e instanceof AssemblyError || e instanceof DataFileError) {
        const where = e.line === undefined ? file : `${file}:${e.line}`;
        const shown = e instanceof AssemblyError && e.text !== undefined ? `\n  ${e.text.trim()}` : '';
        process.stderr.write(`bpfkit asm: ${where}: ${e.reason}${shown}\n`);
        return 1;
      }
      throw e;
    }
    if (values.output === undefined) {
      if (insns.length > 0) process.stdout.write(hexListing(insns) + '\n');
      return 0;
    }
    try {
      writeFileSync(values.output, encodeInstructions(insns));
    } catch (e) {
      process.stderr.write(`bpfkit asm: cannot write ${values.output}: ${(e as Error).message}\n`);
      return 1;
    }
    return 0;
  },
};
