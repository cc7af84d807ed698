import { splitImm64 } from '../instruction.js';
import type { AluName, CondName, Operand, Operation, PseudoLdName } from '../operation.js';
import { parseCall } from './llvm-call.js';
import { isIntegerLiteral, parseImm32Llvm, parseImm64, parseInteger, parseOff16, parseUnsigned32 } from './numbers.js';
import { isLlvmRegister, llvmRegister, type LlvmRegister } from './registers.js';
import type { Statement } from './statement.js';
import { problem } from './syntax-error.js';
import { withTarget } from './targets.js';

/**
 * The llvm-objdump syntax (`r0 = *(u32 *)(r1 + 20)`, `if w1 s< 5 goto +3`, ...) and
 * bpfkit's extension of it, one line at a time. See docs/assembly-syntax.md.
 */

const REG = String.raw`([rw]\d+)`;
const NUM = String.raw`([+-]?(?:0x[0-9a-fA-F]+|\d+))`;
/** `(r1 + 20)`, `(r10 - 8)`, `(r1)`: register, sign, magnitude. */
const ADDR = String.raw`\(\s*${REG}\s*(?:([+-])\s*(0x[0-9a-fA-F]+|\d+))?\s*\)`;
/** `r1 + 0` as the cmpxchg/xchg builtins write it. */
const BARE_ADDR = String.raw`${REG}\s*(?:([+-])\s*(0x[0-9a-fA-F]+|\d+))?`;
/** `*(u32 *)(r1 + 20)`: signedness, bits, then ADDR's groups. */
const MEMREF = String.raw`\*\s*\(\s*([us])(8|16|32|64)\s*\*\s*\)\s*${ADDR}`;
/** `(u64 *)(r1 + 0)` inside atomic builtins. */
const PTR = String.raw`\(\s*u(8|16|32|64)\s*\*\s*\)\s*${ADDR}`;

function re(source: string): RegExp {
  return new RegExp(`^${source}$`);
}

const EXIT = re('exit');
const GOTO = re(String.raw`(goto|gotol|may_goto)\s+(\S+)`);
const CALL = re(String.raw`(call|callx)\s+(.+)`);
const IF = re(String.raw`if\s+${REG}\s*(==|!=|s>=|s<=|s>|s<|>=|<=|>|<|&)\s*(\S+)\s+goto\s+(\S+)`);
const LOCK = re(String.raw`lock\s+${MEMREF}\s*([+|&^])=\s*${REG}`);
const STORE_RELEASE = re(String.raw`store_release\s*\(\s*${PTR}\s*,\s*${REG}\s*\)`);
const STORE = re(String.raw`${MEMREF}\s*=\s*(\S+)`);
const ASSIGN = re(String.raw`${REG}\s*=\s*(.+)`);
const COMPOUND = re(String.raw`${REG}\s*(\+|-|\*|/|\||&|<<|>>|%|\^|s>>|s/|s%)=\s*(\S+)`);

const FETCH = re(String.raw`atomic_fetch_(add|or|and|xor)\s*\(\s*${PTR}\s*,\s*${REG}\s*\)`);
const XCHG = re(String.raw`xchg(32_32|_64)\s*\(\s*${BARE_ADDR}\s*,\s*${REG}\s*\)`);
const CMPXCHG = re(String.raw`cmpxchg(32_32|_64)\s*\(\s*${BARE_ADDR}\s*,\s*${REG}\s*,\s*${REG}\s*\)`);
const LOAD_ACQUIRE = re(String.raw`load_acquire\s*\(\s*${PTR}\s*\)`);
const LOAD = re(MEMREF);
const PACKET = re(String.raw`\*\s*\(\s*u(8|16|32|64)\s*\*\s*\)\s*skb\s*\[\s*(?:${REG}\s*(?:([+-])\s*(0x[0-9a-fA-F]+|\d+))?|${NUM})\s*\]`);
const PSEUDO = re(String.raw`(map_fd|map_value|btf_id|func|map_idx_value|map_idx)\s*\(([^)]*)\)(\s+ll)?`);
const WIDE = re(String.raw`${NUM}\s+ll`);
const NEG = re(String.raw`-\s*${REG}`);
const MOVSX = re(String.raw`\(\s*s(8|16|32)\s*\)\s*${REG}`);
const ENDIAN = re(String.raw`(be|le|bswap)(16|32|64)\s+${REG}`);
/** llvm-objdump's text for an lddw with a pseudo source: `ld_pseudo r1, 2, 5` (no second immediate). */
const LD_PSEUDO = re(String.raw`ld_pseudo\s+${REG}\s*,\s*(\S+)\s*,\s*(\S+)`);
const PSEUDO_BY_NUMBER: readonly PseudoLdName[] = ['imm64', 'map_fd', 'map_value', 'btf_id', 'func', 'map_idx', 'map_idx_value'];
const ADDR_SPACE_CAST = re(String.raw`addr_space_cast\s*\(\s*${REG}\s*,\s*(\S+?)\s*,\s*(\S+?)\s*\)`);

const COMPOUND_OPS: Readonly<Record<string, AluName>> = {
  '+': 'add',
  '-': 'sub',
  '*': 'mul',
  '/': 'div',
  '|': 'or',
  '&': 'and',
  '<<': 'lsh',
  '>>': 'rsh',
  '%': 'mod',
  '^': 'xor',
  's>>': 'arsh',
  's/': 'sdiv',
  's%': 'smod',
};

const CONDITIONS: Readonly<Record<string, CondName>> = {
  '==': 'eq',
  '!=': 'ne',
  '>': 'gt',
  '>=': 'ge',
  '<': 'lt',
  '<=': 'le',
  's>': 'sgt',
  's>=': 'sge',
  's<': 'slt',
  's<=': 'sle',
  '&': 'set',
};

const ATOMIC_ASSIGN: Readonly<Record<string, 'add' | 'or' | 'and' | 'xor'>> = { '+': 'add', '|': 'or', '&': 'and', '^': 'xor' };

/**
 * Remove a trailing ` <label>` that llvm-objdump prints after jump and call targets.
 * (Done by hand: a regex searching for it backtracks quadratically on long blank runs.)
 */
function withoutAnnotation(code: string): string {
  if (!code.endsWith('>')) return code;
  const open = code.lastIndexOf('<');
  if (open <= 0 || !/\s/.test(code[open - 1]!)) return code;
  const label = code.slice(open + 1, -1);
  if (label === '' || /[\s<>]/.test(label)) return code;
  return code.slice(0, open);
}

/** Parse one line of llvm (or, with `bpfkit`, bpfkit) assembly. */
export function parseLlvmLine(code: string, syntax: 'llvm' | 'bpfkit'): Statement {
  const s = withoutAnnotation(code).trim();
  let m: RegExpExecArray | null;
  if (EXIT.test(s)) return { op: { kind: 'exit' } };
  if ((m = GOTO.exec(s))) {
    const kind = m[1]!;
    if (kind === 'may_goto') return withTarget(m[2]!, (off) => ({ kind: 'may_goto', off }));
    return withTarget(m[2]!, (off) => ({ kind: 'ja', off, long: kind === 'gotol' }));
  }
  if (s.startsWith('.')) problem(`unknown directive "${s.split(/\s/)[0]}" (bpfkit assembles instructions only)`);
  if ((m = LD_PSEUDO.exec(s))) return ldPseudo(m);
  if ((m = CALL.exec(s))) return parseCall(m[1] as 'call' | 'callx', m[2]!.trim(), syntax);
  if ((m = IF.exec(s))) return conditional(m);
  if ((m = LOCK.exec(s))) {
    const [size] = memSize(m[1]!, m[2]!, 'lock');
    return { op: { kind: 'atomic', size, op: ATOMIC_ASSIGN[m[6]!]!, fetch: false, dst: base(m[3]!), src: reg(m[7]!).reg, off: offset(m[4], m[5]) } };
  }
  if ((m = STORE_RELEASE.exec(s))) {
    return { op: { kind: 'atomic', size: bytes(m[1]!), op: 'store_release', fetch: false, dst: base(m[2]!), src: reg(m[5]!).reg, off: offset(m[3], m[4]) } };
  }
  if ((m = STORE.exec(s))) {
    const [size, signed] = memSize(m[1]!, m[2]!, 'store');
    if (signed) problem('a store is written *(uN *)(...) = ...: there is no signed store');
    const dst = base(m[3]!);
    const off = offset(m[4], m[5]);
    const value = m[6]!;
    if (isLlvmRegister(value)) return { op: { kind: 'store', size, dst, src: reg(value).reg, off } };
    return { op: { kind: 'store_imm', size, dst, off, imm: parseImm32Llvm(value, 'stored immediate') } };
  }
  if ((m = ASSIGN.exec(s))) {
    const assigned = assignment(reg(m[1]!), m[2]!.trim(), syntax);
    if (assigned) return assigned;
  }
  if ((m = COMPOUND.exec(s))) {
    const dst = reg(m[1]!);
    return { op: { kind: 'alu', width: dst.width, op: COMPOUND_OPS[m[2]!]!, dst: dst.reg, operand: operand(m[3]!, dst) } };
  }
  problem(`cannot read "${s}" as an instruction in ${syntax} syntax`);
}

function reg(text: string): LlvmRegister {
  return llvmRegister(text);
}

/** A memory base register: always the 64-bit view. */
function base(text: string): number {
  const r = llvmRegister(text);
  if (r.width === 32) problem(`a memory address uses a 64-bit register: write r${r.reg}, not ${text}`);
  return r.reg;
}

function offset(sign: string | undefined, magnitude: string | undefined): number {
  if (sign === undefined || magnitude === undefined) return 0;
  return parseOff16(`${sign}${magnitude}`, 'memory offset');
}

function bytes(bits: string): 1 | 2 | 4 | 8 {
  return (Number(bits) / 8) as 1 | 2 | 4 | 8;
}

function memSize(sign: string, bits: string, what: string): [1 | 2 | 4 | 8, boolean] {
  if (sign === 's' && what !== 'load') problem(`${what}: write u${bits}, not s${bits}`);
  return [bytes(bits), sign === 's'];
}

/** A second operand: a register of the same width as `dst`, or an immediate. */
function operand(text: string, dst: LlvmRegister): Operand {
  if (isLlvmRegister(text)) {
    const r = reg(text);
    if (r.width !== dst.width) problem(`mixes 32-bit (w) and 64-bit (r) registers: use ${dst.width === 32 ? 'w' : 'r'}${r.reg}`);
    return { kind: 'reg', reg: r.reg };
  }
  return { kind: 'imm', value: parseImm32Llvm(text) };
}

function conditional(m: RegExpExecArray): Statement {
  const dst = reg(m[1]!);
  const cond = CONDITIONS[m[2]!]!;
  const right = operand(m[3]!, dst);
  return withTarget(m[4]!, (off) => ({ kind: 'jcond', width: dst.width, cond, dst: dst.reg, operand: right, off }));
}

function sameRegister(left: LlvmRegister, right: LlvmRegister, what: string): void {
  if (left.reg !== right.reg) problem(`${what} works in place: both sides must be the same register (r${left.reg} vs r${right.reg})`);
}

/** Everything of the form `rD = ...`; undefined when the right side is not recognised. */
function assignment(dst: LlvmRegister, rhs: string, syntax: 'llvm' | 'bpfkit'): Statement | undefined {
  let m: RegExpExecArray | null;
  if ((m = FETCH.exec(rhs))) {
    const src = reg(m[6]!);
    sameRegister(dst, src, `atomic_fetch_${m[1]} returns the old value into its source register, so it`);
    return { op: { kind: 'atomic', size: bytes(m[2]!), op: m[1] as 'add', fetch: true, dst: base(m[3]!), src: src.reg, off: offset(m[4], m[5]) } };
  }
  if ((m = XCHG.exec(rhs))) {
    const src = reg(m[5]!);
    sameRegister(dst, src, 'xchg returns the old value into its source register, so it');
    return { op: { kind: 'atomic', size: m[1] === '_64' ? 8 : 4, op: 'xchg', fetch: true, dst: base(m[2]!), src: src.reg, off: offset(m[3], m[4]) } };
  }
  if ((m = CMPXCHG.exec(rhs))) {
    const expected = reg(m[5]!);
    if (dst.reg !== 0 || expected.reg !== 0) problem('cmpxchg compares with and returns into r0: write r0 = cmpxchg_64(rD + off, r0, rS)');
    return { op: { kind: 'atomic', size: m[1] === '_64' ? 8 : 4, op: 'cmpxchg', fetch: true, dst: base(m[2]!), src: reg(m[6]!).reg, off: offset(m[3], m[4]) } };
  }
  if ((m = LOAD_ACQUIRE.exec(rhs))) {
    return { op: { kind: 'atomic', size: bytes(m[1]!), op: 'load_acquire', fetch: false, dst: dst.reg, src: base(m[2]!), off: offset(m[3], m[4]) } };
  }
  if ((m = LOAD.exec(rhs))) {
    const size = bytes(m[2]!);
    return { op: { kind: 'load', size, signed: m[1] === 's', dst: dst.reg, src: base(m[3]!), off: offset(m[4], m[5]) } };
  }
  if ((m = PACKET.exec(rhs))) return packetLoad(dst, m);
  if ((m = PSEUDO.exec(rhs))) {
    if (syntax === 'llvm') problem(`${m[1]}(...) is bpfkit syntax (llvm writes every lddw as "rN = IMM ll")`);
    return pseudoLoad(dst, m[1] as PseudoLdName, m[2]!);
  }
  if ((m = WIDE.exec(rhs))) {
    if (dst.width === 32) problem(`lddw loads a 64-bit register: write r${dst.reg}`);
    const { imm, imm2 } = splitImm64(parseImm64(m[1]!));
    return { op: { kind: 'lddw', dst: dst.reg, pseudo: 'imm64', imm, imm2 } };
  }
  if ((m = NEG.exec(rhs))) {
    const src = reg(m[1]!);
    sameRegister(dst, src, 'negation');
    if (src.width !== dst.width) problem('negation mixes 32-bit (w) and 64-bit (r) registers');
    return { op: { kind: 'alu', width: dst.width, op: 'neg', dst: dst.reg, operand: { kind: 'imm', value: 0 } } };
  }
  if ((m = MOVSX.exec(rhs))) {
    const src = reg(m[2]!);
    if (src.width !== dst.width) problem('sign extension mixes 32-bit (w) and 64-bit (r) registers');
    return { op: { kind: 'alu', width: dst.width, op: 'movsx', dst: dst.reg, operand: { kind: 'reg', reg: src.reg }, extendBits: Number(m[1]) as 8 | 16 | 32 } };
  }
  if ((m = ENDIAN.exec(rhs))) {
    sameRegister(dst, reg(m[3]!), `${m[1]}${m[2]}`);
    const order = m[1] === 'bswap' ? 'swap' : (m[1] as 'be' | 'le');
    return { op: { kind: 'endian', order, bits: Number(m[2]) as 16 | 32 | 64, dst: dst.reg } };
  }
  if ((m = ADDR_SPACE_CAST.exec(rhs))) {
    const to = parseUnsigned32(m[2]!, 'address space');
    const from = parseUnsigned32(m[3]!, 'address space');
    return { op: { kind: 'alu', width: 64, op: 'addr_space_cast', dst: dst.reg, operand: { kind: 'reg', reg: reg(m[1]!).reg }, addrSpace: { to, from } } };
  }
  if (isLlvmRegister(rhs) || isIntegerLiteral(rhs)) {
    return { op: { kind: 'alu', width: dst.width, op: 'mov', dst: dst.reg, operand: operand(rhs, dst) } };
  }
  return undefined;
}

function packetLoad(dst: LlvmRegister, m: RegExpExecArray): Statement {
  if (dst.reg !== 0) problem('legacy packet loads always load into r0');
  const size = bytes(m[1]!);
  if (m[2] !== undefined) {
    const imm = m[3] === undefined ? 0 : parseImm32Llvm(`${m[3]}${m[4]}`, 'packet offset');
    return { op: { kind: 'ldind', size, src: base(m[2]), imm } };
  }
  return { op: { kind: 'ldabs', size, src: 0, imm: parseImm32Llvm(m[5]!, 'packet offset') } };
}

function pseudoLoad(dst: LlvmRegister, pseudo: PseudoLdName, args: string): Statement {
  if (dst.width === 32) problem(`lddw loads a 64-bit register: write r${dst.reg}`);
  const parts = args.split(',').map((a) => a.trim());
  const two = pseudo === 'map_value' || pseudo === 'map_idx_value';
  const shape = two ? `${pseudo}(N, OFFSET)` : pseudo === 'func' ? 'func(+N) or func(label)' : `${pseudo}(N)`;
  if (parts.length !== (two ? 2 : 1) || parts.some((p) => p === '')) problem(`${pseudo} takes ${two ? 2 : 1} argument${two ? 's' : ''}: ${shape}`);
  const build = (imm: number): Operation => ({
    kind: 'lddw',
    dst: dst.reg,
    pseudo,
    imm,
    imm2: two ? parseImm32Llvm(parts[1]!, 'map value offset') : 0,
  });
  if (pseudo === 'func') return withTarget(parts[0]!, build);
  return { op: build(parseImm32Llvm(parts[0]!, pseudo === 'btf_id' ? 'BTF id' : pseudo.startsWith('map_idx') ? 'map index' : 'map fd')) };
}

/** `ld_pseudo rN, SRC, IMM`: llvm-objdump's lddw with a pseudo source; its second immediate is not printed, so it is 0. */
function ldPseudo(m: RegExpExecArray): Statement {
  const dst = reg(m[1]!);
  if (dst.width === 32) problem(`lddw loads a 64-bit register: write r${dst.reg}`);
  const source = parseUnsigned32(m[2]!, 'pseudo source');
  const pseudo = PSEUDO_BY_NUMBER[source];
  if (pseudo === undefined) problem(`unknown lddw pseudo source ${source} (0-6 exist)`);
  const { value } = parseInteger(m[3]!, 'immediate');
  if (value < -(1n << 31n) || value > 0xffffffffn) problem(`ld_pseudo immediate ${m[3]} does not fit in 32 bits`);
  return { op: { kind: 'lddw', dst: dst.reg, pseudo, imm: Number(BigInt.asIntN(32, value)), imm2: 0 } };
}
