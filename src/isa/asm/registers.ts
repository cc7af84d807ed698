import { REG_COUNT } from '../opcodes.js';
import { problem } from './syntax-error.js';

/** A register of the llvm/bpfkit syntax: `r0`-`r10` (64-bit view) or `w0`-`w10` (32-bit). */
export interface LlvmRegister {
  reg: number;
  width: 32 | 64;
}

function checkNumber(n: number, text: string, range: string): number {
  if (n >= REG_COUNT) problem(`bad register ${text} (registers are ${range})`);
  return n;
}

/** Parse a ubpf register, `%r0`-`%r10`. */
export function ubpfRegister(text: string): number {
  const t = text.trim();
  const m = /^%r(\d{1,3})$/.exec(t);
  if (!m) problem(`bad register "${t}" (registers are %r0-%r10)`);
  return checkNumber(Number(m[1]), t, '%r0-%r10');
}

/** Does this text look like a ubpf register (so it is not an immediate)? */
export function isUbpfRegister(text: string): boolean {
  return text.trim().startsWith('%');
}

/** Parse an llvm/bpfkit register, `rN` or `wN`. */
export function llvmRegister(text: string): LlvmRegister {
  const t = text.trim();
  const m = /^([rw])(\d{1,3})$/.exec(t);
  if (!m) problem(`bad register "${t}" (registers are r0-r10, or w0-w10 for 32-bit operations)`);
  return { reg: checkNumber(Number(m[2]), t, m[1] === 'w' ? 'w0-w10' : 'r0-r10'), width: m[1] === 'w' ? 32 : 64 };
}

/** Does this text look like an llvm/bpfkit register? */
export function isLlvmRegister(text: string): boolean {
  return /^[rw]\d+$/.test(text.trim());
}
