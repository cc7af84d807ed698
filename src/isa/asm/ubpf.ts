import type { AluName, AtomicName, CondName, Operation } from '../operation.js';
import { splitImm64 } from '../instruction.js';
import { parseImm32, parseImm64, parseOff16 } from './numbers.js';
import { isUbpfRegister, ubpfRegister } from './registers.js';
import type { Statement } from './statement.js';
import { problem } from './syntax-error.js';
import { withTarget } from './targets.js';

/**
 * The bpf_conformance / uBPF assembly syntax, one line at a time:
 * `mnemonic op1, op2, ...` with registers `%rN`, memory operands `[%rN+off]`,
 * immediates in decimal or hex, and jump targets as `+N`/`-N` or labels.
 */

const ALU_BINARY: ReadonlySet<string> = new Set(['add', 'sub', 'mul', 'div', 'sdiv', 'or', 'and', 'lsh', 'rsh', 'mod', 'smod', 'xor', 'mov', 'arsh']);
const CONDITIONS: ReadonlySet<string> = new Set(['eq', 'gt', 'ge', 'set', 'ne', 'sgt', 'sge', 'lt', 'le', 'slt', 'sle']);
const SIZE_SUFFIX: Readonly<Record<string, 1 | 2 | 4 | 8>> = { b: 1, h: 2, w: 4, dw: 8 };
const LOCK_OPS: ReadonlySet<string> = new Set(['add', 'or', 'and', 'xor', 'xchg', 'cmpxchg']);

/** Split `a, [b+1], c` into its operands. */
function splitOperands(text: string): string[] {
  const t = text.trim();
  if (t === '') return [];
  return t.split(',').map((s) => s.trim());
}

function expectCount(mnemonic: string, operands: string[], count: number, shape: string): void {
  if (operands.length !== count) {
    problem(`${mnemonic} takes ${count} operand${count === 1 ? '' : 's'} (${shape}), found ${operands.length}`);
  }
  operands.forEach((o, i) => {
    if (o === '') problem(`${mnemonic}: operand ${i + 1} is empty`);
  });
}

/** `[%rN]`, `[%rN+off]`, `[%rN-off]`. */
function memoryOperand(text: string): { reg: number; off: number } {
  const m = /^\[\s*([^\]+-]+?)\s*(?:([+-])\s*([^\]]+?))?\s*\]$/.exec(text.trim());
  if (!m) problem(`expected a memory operand like [%r1+8], found "${text.trim()}"`);
  const reg = ubpfRegister(m[1]!);
  const off = m[2] === undefined ? 0 : parseOff16(`${m[2]}${m[3]}`, 'memory offset');
  return { reg, off };
}

/** A register or immediate second operand. */
function source(text: string): { kind: 'reg'; reg: number } | { kind: 'imm'; value: number } {
  return isUbpfRegister(text) ? { kind: 'reg', reg: ubpfRegister(text) } : { kind: 'imm', value: parseImm32(text) };
}

/** Parse one line of ubpf assembly (comment and labels already removed). */
export function parseUbpfLine(code: string): Statement {
  const m = /^(\S+)\s*(.*)$/.exec(code)!;
  const mnemonic = m[1]!.toLowerCase();
  const rest = m[2]!;
  if (mnemonic.startsWith('.')) problem(`unknown directive "${m[1]}" (the ubpf syntax has none)`);
  if (mnemonic === 'lock') return lock(rest);
  const operands = splitOperands(rest);
  const op = plain(mnemonic, operands);
  if (op !== undefined) return op;
  problem(`unknown mnemonic "${m[1]}"`);
}

function plain(mnemonic: string, operands: string[]): Statement | undefined {
  const width = mnemonic.endsWith('32') ? 32 : 64;
  const base = width === 32 ? mnemonic.slice(0, -2) : mnemonic;
  let match: RegExpExecArray | null;

  if (ALU_BINARY.has(base)) {
    expectCount(mnemonic, operands, 2, 'destination register, source register or immediate');
    return { op: { kind: 'alu', width, op: base as AluName, dst: ubpfRegister(operands[0]!), operand: source(operands[1]!) } };
  }
  if (base === 'neg') {
    expectCount(mnemonic, operands, 1, 'register');
    return { op: { kind: 'alu', width, op: 'neg', dst: ubpfRegister(operands[0]!), operand: { kind: 'imm', value: 0 } } };
  }
  if ((match = /^(be|le|swap|bswap)(16|32|64)$/.exec(mnemonic))) {
    expectCount(mnemonic, operands, 1, 'register');
    const order = match[1] === 'be' ? 'be' : match[1] === 'le' ? 'le' : 'swap';
    return { op: { kind: 'endian', order, bits: Number(match[2]) as 16 | 32 | 64, dst: ubpfRegister(operands[0]!) } };
  }
  if ((match = /^movsx(8|16|32)(32|64)$/.exec(mnemonic))) {
    expectCount(mnemonic, operands, 2, 'destination register, source register');
    const from = Number(match[1]) as 8 | 16 | 32;
    const to = Number(match[2]) as 32 | 64;
    if (from >= to) problem(`${mnemonic}: cannot sign-extend ${from} bits into ${to}`);
    return {
      op: { kind: 'alu', width: to, op: 'movsx', dst: ubpfRegister(operands[0]!), operand: { kind: 'reg', reg: ubpfRegister(operands[1]!) }, extendBits: from },
    };
  }
  if ((match = /^ldx(s?)(b|h|w|dw)$/.exec(mnemonic))) {
    expectCount(mnemonic, operands, 2, 'destination register, [source register+offset]');
    const dst = ubpfRegister(operands[0]!);
    const { reg, off } = memoryOperand(operands[1]!);
    return { op: { kind: 'load', size: SIZE_SUFFIX[match[2]!]!, signed: match[1] === 's', dst, src: reg, off } };
  }
  if ((match = /^st(x?)(b|h|w|dw)$/.exec(mnemonic))) {
    const size = SIZE_SUFFIX[match[2]!]!;
    if (match[1] === 'x') {
      expectCount(mnemonic, operands, 2, '[destination register+offset], source register');
      const { reg, off } = memoryOperand(operands[0]!);
      return { op: { kind: 'store', size, dst: reg, src: ubpfRegister(operands[1]!), off } };
    }
    expectCount(mnemonic, operands, 2, '[destination register+offset], immediate');
    const { reg, off } = memoryOperand(operands[0]!);
    return { op: { kind: 'store_imm', size, dst: reg, off, imm: parseImm32(operands[1]!) } };
  }
  if (mnemonic === 'lddw') {
    expectCount(mnemonic, operands, 2, 'destination register, 64-bit immediate');
    const dst = ubpfRegister(operands[0]!);
    const { imm, imm2 } = splitImm64(parseImm64(operands[1]!));
    return { op: { kind: 'lddw', dst, pseudo: 'imm64', imm, imm2 } };
  }
  if ((match = /^ld(abs|ind)(b|h|w)$/.exec(mnemonic))) {
    const size = SIZE_SUFFIX[match[2]!]!;
    if (match[1] === 'abs') {
      expectCount(mnemonic, operands, 1, 'packet offset');
      return { op: { kind: 'ldabs', size, src: 0, imm: parseImm32(operands[0]!) } };
    }
    expectCount(mnemonic, operands, 2, 'offset register, packet offset');
    return { op: { kind: 'ldind', size, src: ubpfRegister(operands[0]!), imm: parseImm32(operands[1]!) } };
  }
  if (mnemonic === 'ja' || mnemonic === 'ja32') {
    expectCount(mnemonic, operands, 1, 'jump target');
    const long = mnemonic === 'ja32';
    return withTarget(operands[0]!, (off) => ({ kind: 'ja', off, long }));
  }
  if (base.startsWith('j') && CONDITIONS.has(base.slice(1))) {
    expectCount(mnemonic, operands, 3, 'register, register or immediate, jump target');
    const dst = ubpfRegister(operands[0]!);
    const operand = source(operands[1]!);
    return withTarget(operands[2]!, (off) => ({ kind: 'jcond', width, cond: base.slice(1) as CondName, dst, operand, off }));
  }
  if (mnemonic === 'exit') {
    expectCount(mnemonic, operands, 0, 'none');
    return { op: { kind: 'exit' } };
  }
  if (mnemonic === 'call' || mnemonic === 'callx') return call(mnemonic, operands);
  return undefined;
}

/** `call N`, `call helper N`, `call local label`, `call runtime N` (kfunc), `call %rN` / `callx %rN`. */
function call(mnemonic: string, operands: string[]): Statement {
  expectCount(mnemonic, operands, 1, 'helper id, "local" target, or register');
  const words = operands[0]!.split(/\s+/);
  if (mnemonic === 'callx' || (words.length === 1 && isUbpfRegister(words[0]!))) {
    if (words.length !== 1) problem(`${mnemonic} takes one register`);
    return { op: { kind: 'callx', reg: ubpfRegister(words[0]!) } };
  }
  const [mode, target] = words.length === 1 ? ['helper', words[0]!] : words;
  if (words.length > 2 || target === undefined) problem(`call takes a helper id, "local" and a target, or a register; found "${operands[0]}"`);
  switch (mode) {
    case 'helper':
      return { op: { kind: 'call', target: 'helper', imm: parseImm32(target, 'helper id'), btfFdIndex: 0 } };
    case 'runtime':
      return { op: { kind: 'call', target: 'kfunc', imm: parseImm32(target, 'function id'), btfFdIndex: 0 } };
    case 'local':
      return withTarget(target, (imm) => ({ kind: 'call', target: 'local', imm, btfFdIndex: 0 }));
    default:
      problem(`unknown call kind "${mode}" (use call N, call local LABEL, call runtime N or call %rN)`);
  }
}

/** `lock [fetch] add|or|and|xor[32] [%rD+off], %rS`, `lock xchg[32] ...`, `lock cmpxchg[32] ...`. */
function lock(rest: string): Statement {
  const m = /^(?:(fetch)\s+)?(\S+)\s*(.*)$/i.exec(rest.trim());
  if (!m) problem('Invalid number of operands for lock: write lock [fetch] OP [%rD+off], %rS');
  const fetch = m[1] !== undefined;
  const name = m[2]!.toLowerCase();
  if (name === 'fetch') problem('Invalid number of operands for lock: "lock fetch" needs an operation and 2 operands');
  const size = name.endsWith('32') ? 4 : 8;
  const op = size === 4 ? name.slice(0, -2) : name;
  if (!LOCK_OPS.has(op)) {
    problem(`invalid lock operation "${m[2]}" (add, or, and, xor, xchg, cmpxchg, each with an optional 32 suffix)`);
  }
  const operands = splitOperands(m[3]!);
  if (operands.length !== 2 || operands.some((o) => o === '')) {
    problem(`Invalid number of operands for lock: lock ${fetch ? 'fetch ' : ''}${name} takes 2 ([%rD+off], %rS), found ${operands.length}`);
  }
  const { reg, off } = memoryOperand(operands[0]!);
  const src = ubpfRegister(operands[1]!);
  const alwaysFetch = op === 'xchg' || op === 'cmpxchg';
  const result: Operation = { kind: 'atomic', size, op: op as AtomicName, fetch: fetch || alwaysFetch, dst: reg, src, off };
  return { op: result };
}
