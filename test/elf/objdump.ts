/**
 * llvm-objdump-19's view of a BPF object: per executable section, each instruction's
 * slot, bytes and relocation, parsed from `llvm-objdump-19 -dr --no-print-imm-hex`.
 */
import { run } from '../support/clang.js';

export interface DumpedInsn {
  slot: number;
  /** The instruction's bytes as printed (8, or 16 for lddw). */
  bytes: number[];
  /** The relocation printed under it: type name and symbol name. */
  reloc?: { type: string; symbol: string };
}

export function objdump(path: string): Map<string, DumpedInsn[]> {
  const text = run('llvm-objdump-19', ['-dr', '--no-print-imm-hex', path]);
  const out = new Map<string, DumpedInsn[]>();
  let current: DumpedInsn[] | undefined;
  for (const line of text.split('\n')) {
    const sec = /^Disassembly of section (.*):$/.exec(line);
    if (sec) {
      current = [];
      out.set(sec[1]!, current);
      continue;
    }
    const insn = /^\s+(\d+):\t((?:[0-9a-f]{2} )*[0-9a-f]{2})\t/.exec(line);
    if (insn && current) {
      current.push({ slot: Number(insn[1]), bytes: insn[2]!.trim().split(' ').map((b) => parseInt(b, 16)) });
      continue;
    }
    const rel = /^\s+[0-9a-f]+:\s+(R_BPF_\w+)\s+(\S+)/.exec(line);
    if (rel && current && current.length > 0) current[current.length - 1]!.reloc = { type: rel[1]!, symbol: rel[2]! };
  }
  return out;
}
