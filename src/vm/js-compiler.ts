import { VmFault, VmLimitError } from './errors.js';
import { bswap16, bswap32, mul64, sdiv64, smod64, udiv64, umod64 } from './int64.js';
import type { Machine } from './interpreter.js';
import { Op } from './internal-ops.js';
import { ID_MASK, REGION_BASE, type AddressSpace } from './memory.js';
import type { LoadedProgram } from './program.js';

/**
 * The vm's second tier: a program translated once into a JavaScript function, with the
 * eleven registers held in local variables (lo/hi pairs) and straight-line code falling
 * through `case` labels, so only jumps dispatch. Semantics are the interpreter's, and it
 * reuses the interpreter's checked memory (`AddressSpace.resolve`) and helpers; the
 * instruction budget counts taken jumps, which every loop passes.
 *
 * Programs with bpf-to-bpf calls, callx or tail calls are left to the interpreter.
 * Uses `new Function`, so it is unavailable where a Content-Security-Policy forbids eval;
 * callers then get undefined and interpret.
 */
/** Runs from slot `start` (0, or a callback's entry) until that function exits. */
export type CompiledProgram = (m: Machine, L: Int32Array, H: Int32Array, mem: AddressSpace, start: number) => void;

const cache = new WeakMap<LoadedProgram, CompiledProgram | null>();

/** The compiled form of a program, compiling it on first use; undefined when not eligible. */
export function compiledFor(prog: LoadedProgram): CompiledProgram | undefined {
  let c = cache.get(prog);
  if (c === undefined) {
    c = compile(prog);
    cache.set(prog, c);
  }
  return c ?? undefined;
}

const RT = {
  mul64,
  udiv64,
  umod64,
  sdiv64,
  smod64,
  bswap16,
  bswap32,
  limit: (pc: number) => new VmLimitError('instructions', 'the run executed its budget of jumps without exiting', pc),
  trap: (pc: number, n: number) =>
    new VmFault('invalid_instruction', pc >= n ? `execution fell off the end of the program (${n} slots)` : `jump to slot ${pc}, which is not an instruction`, pc),
};

const SYNC = Array.from({ length: 11 }, (_, r) => `L[${r}]=l${r};H[${r}]=h${r};`).join('');
const LOAD = Array.from({ length: 11 }, (_, r) => `l${r}=L[${r}];h${r}=H[${r}];`).join('');

function compile(prog: LoadedProgram): CompiledProgram | null {
  const c = prog.code;
  for (let pc = 0; pc < c.length; pc++) {
    const op = c.ops[pc]!;
    if (op === Op.CALL_LOCAL || op === Op.CALLX) return null;
    if (op === 0x85 && c.imm[pc] === 12) return null;
  }
  if (c.length > 50_000) return null;
  const out: string[] = [];
  out.push(`let ${Array.from({ length: 11 }, (_, r) => `l${r}=L[${r}],h${r}=H[${r}]`).join(',')};`);
  out.push('const T=mem.table;const t=new Int32Array(2);let left=m.remaining;let mg=m.mayGotoAllowance;let pc=start;');
  out.push('for(;;){if(--left<0){m.remaining=0;throw rt.limit(pc);}switch(pc){');
  for (let pc = 0; pc < c.length; pc++) {
    const op = c.ops[pc]!;
    if (op === Op.LDDW_SECOND) continue;
    out.push(`case ${pc}:`);
    out.push(emit(prog, pc));
  }
  // Straight-line code that runs past the last instruction falls into this case.
  out.push(`case ${c.length}:throw rt.trap(${c.length},${c.length});`);
  out.push(`default:throw rt.trap(pc,${c.length});}}`);
  try {
    const factory = new Function('rt', 'helpers', `return function compiled(m,L,H,mem,start){${out.join('\n')}}`) as (rt: typeof RT, helpers: unknown[]) => CompiledProgram;
    return factory(RT, c.helpers);
  } catch {
    return null;
  }
}

function emit(prog: LoadedProgram, pc: number): string {
  const c = prog.code;
  const op = c.ops[pc]!;
  const d = c.dst[pc]!;
  const s = c.src[pc]!;
  const off = c.off[pc]!;
  const imm = c.imm[pc]!;
  const isReg = (op & 0x08) !== 0 && op < 0x100;
  // Literals are parenthesised so that `x - (-1)` never becomes `x--1`.
  const bl = isReg ? `l${s}` : `(${imm})`;
  const bh = isReg ? `h${s}` : `(${imm >> 31})`;
  const D = `l${d}`;
  const DH = `h${d}`;
  const jump = (cond: string) => `if(${cond}){pc=${off};continue;}`;
  const exitCode = `${SYNC}m.remaining=left;return;`;
  const cls = op & 7;
  if (op < 0x100 && (cls === 7 || cls === 4) && (op & 0xf0) !== 0xd0) {
    const wide = cls === 7;
    const a = op & 0xf0;
    if (wide) {
      switch (a) {
        case 0x00: return `{const x=(${D}>>>0)+(${bl}>>>0);${D}=x|0;${DH}=(${DH}+${bh}+(x>4294967295?1:0))|0;}`;
        case 0x10: return `{const x=(${D}>>>0)-(${bl}>>>0);${D}=x|0;${DH}=(${DH}-${bh}-(x<0?1:0))|0;}`;
        case 0x20: return `rt.mul64(${D},${DH},${bl},${bh},t);${D}=t[0];${DH}=t[1];`;
        case 0x30: return `if((${bl}|${bh})===0){${D}=0;${DH}=0;}else if(${DH}===0&&${bh}===0){${D}=Math.floor((${D}>>>0)/(${bl}>>>0))|0;}else{rt.udiv64(${D},${DH},${bl},${bh},t);${D}=t[0];${DH}=t[1];}`;
        case 0x40: return `${D}|=${bl};${DH}|=${bh};`;
        case 0x50: return `${D}&=${bl};${DH}&=${bh};`;
        case 0x60: return shift64('lsh', D, DH, isReg ? `(${bl}&63)` : `${imm & 63}`);
        case 0x70: return shift64('rsh', D, DH, isReg ? `(${bl}&63)` : `${imm & 63}`);
        case 0x80: return `{const x=${D};${D}=-x|0;${DH}=x===0?(-${DH}|0):~${DH};}`;
        case 0x90: return `if(${DH}===0&&${bh}===0){if(${bl}!==0)${D}=((${D}>>>0)%(${bl}>>>0))|0;}else if((${bl}|${bh})!==0){rt.umod64(${D},${DH},${bl},${bh},t);${D}=t[0];${DH}=t[1];}`;
        case 0xa0: return `${D}^=${bl};${DH}^=${bh};`;
        case 0xb0: return `${D}=${bl};${DH}=${bh};`;
        case 0xc0: return shift64('arsh', D, DH, isReg ? `(${bl}&63)` : `${imm & 63}`);
      }
    } else {
      switch (a) {
        case 0x00: return `${D}=(${D}+${bl})|0;${DH}=0;`;
        case 0x10: return `${D}=(${D}-${bl})|0;${DH}=0;`;
        case 0x20: return `${D}=Math.imul(${D},${bl});${DH}=0;`;
        case 0x30: return `{const b=${bl}>>>0;${D}=b===0?0:Math.floor((${D}>>>0)/b)|0;${DH}=0;}`;
        case 0x40: return `${D}|=${bl};${DH}=0;`;
        case 0x50: return `${D}&=${bl};${DH}=0;`;
        case 0x60: return `${D}<<=(${bl}&31);${DH}=0;`;
        case 0x70: return `${D}=(${D}>>>(${bl}&31))|0;${DH}=0;`;
        case 0x80: return `${D}=-${D}|0;${DH}=0;`;
        case 0x90: return `{const b=${bl}>>>0;if(b!==0)${D}=((${D}>>>0)%b)|0;${DH}=0;}`;
        case 0xa0: return `${D}^=${bl};${DH}=0;`;
        case 0xb0: return `${D}=${bl};${DH}=0;`;
        case 0xc0: return `${D}>>=(${bl}&31);${DH}=0;`;
      }
    }
  }
  const ls = `l${s}`;
  const hs = `h${s}`;
  const K = `(${imm})`;
  const KH = `(${imm >> 31})`;
  switch (op) {
    case Op.MOVSX64_8: return `${D}=(${ls}<<24)>>24;${DH}=${D}>>31;`;
    case Op.MOVSX64_16: return `${D}=(${ls}<<16)>>16;${DH}=${D}>>31;`;
    case Op.MOVSX64_32: return `${D}=${ls};${DH}=${D}>>31;`;
    case Op.MOVSX32_8: return `${D}=(${ls}<<24)>>24;${DH}=0;`;
    case Op.MOVSX32_16: return `${D}=(${ls}<<16)>>16;${DH}=0;`;
    case Op.SDIV64_K: return imm === 0 ? `${D}=0;${DH}=0;` : `rt.sdiv64(${D},${DH},${K},${KH},t);${D}=t[0];${DH}=t[1];`;
    case Op.SDIV64_X: return `if((${ls}|${hs})===0){${D}=0;${DH}=0;}else{rt.sdiv64(${D},${DH},${ls},${hs},t);${D}=t[0];${DH}=t[1];}`;
    case Op.SMOD64_K: return imm === 0 ? '' : `rt.smod64(${D},${DH},${K},${KH},t);${D}=t[0];${DH}=t[1];`;
    case Op.SMOD64_X: return `if((${ls}|${hs})!==0){rt.smod64(${D},${DH},${ls},${hs},t);${D}=t[0];${DH}=t[1];}`;
    case Op.SDIV32_K: return `${D}=${imm === 0 ? '0' : `Math.trunc(${D}/${K})|0`};${DH}=0;`;
    case Op.SDIV32_X: return `${D}=${ls}===0?0:Math.trunc(${D}/${ls})|0;${DH}=0;`;
    case Op.SMOD32_K: return imm === 0 ? `${DH}=0;` : `${D}=(${D}%${K})|0;${DH}=0;`;
    case Op.SMOD32_X: return `if(${ls}!==0)${D}=(${D}%${ls})|0;${DH}=0;`;
    case Op.ADDR_SPACE_CAST: return `${D}=${ls};${DH}=${hs};`;
    case Op.LE16: return `${D}&=65535;${DH}=0;`;
    case Op.LE32: return `${DH}=0;`;
    case Op.LE64: return '';
    case Op.BE16: return `${D}=rt.bswap16(${D});${DH}=0;`;
    case Op.BE32: return `${D}=rt.bswap32(${D});${DH}=0;`;
    case Op.BE64: return `{const x=${D};${D}=rt.bswap32(${DH});${DH}=rt.bswap32(x);}`;
    case Op.JA: return `pc=${off};continue;`;
    case Op.LDDW: return `${D}=(${imm});${DH}=(${prog.code.imm2[pc]});`;
    case Op.MAY_GOTO: return `if(mg===0){pc=${off};continue;}mg--;`;
    case 0x61: return load(d, s, off, 4, pc, 'r.view.getInt32(o,true)', false);
    case 0x69: return load(d, s, off, 2, pc, 'r.view.getUint16(o,true)', false);
    case 0x71: return load(d, s, off, 1, pc, 'r.bytes[o]', false);
    case 0x79: return load(d, s, off, 8, pc, '', false);
    case Op.LDXSB: return load(d, s, off, 1, pc, 'r.view.getInt8(o)', true);
    case Op.LDXSH: return load(d, s, off, 2, pc, 'r.view.getInt16(o,true)', true);
    case Op.LDXSW: return load(d, s, off, 4, pc, 'r.view.getInt32(o,true)', true);
    case 0x62: case 0x6a: case 0x72: case 0x7a: return store(d, off, sizeOf(op), pc, K, KH);
    case 0x63: case 0x6b: case 0x73: case 0x7b: return store(d, off, sizeOf(op), pc, ls, hs);
    case 0xc3: case 0xdb: case 0xd3: case 0xcb: return `${SYNC}m.atomic(${pc},${sizeOf(op)});${LOAD}`;
    case 0x20: case 0x28: case 0x30: case 0x40: case 0x48: case 0x50:
      return `${SYNC}if(!m.legacyLoad(${pc},${sizeOf(op)},${(op & 0xe0) === 0x40})){l0=0;h0=0;${exitCode}}l0=L[0];h0=0;`;
    case 0x85:
      return `${SYNC}m.remaining=left;m.pc=${pc};helpers[${pc}](m);left=m.remaining;if(m.state.stopped)return;${LOAD}`;
    case 0x95:
      return exitCode;
  }
  if (cls === 5 || cls === 6) {
    const wide = cls === 5;
    const a = op & 0xf0;
    if (!wide) {
      const b = isReg ? `l${s}` : `(${imm})`;
      const u = (o: string) => `(${D}>>>0)${o}(${b}>>>0)`;
      const sg = (o: string) => `${D}${o}${b}`;
      const cond: Record<number, string> = { 0x10: `${D}===${b}`, 0x50: `${D}!==${b}`, 0x40: `(${D}&${b})!==0`, 0x20: u('>'), 0x30: u('>='), 0xa0: u('<'), 0xb0: u('<='), 0x60: sg('>'), 0x70: sg('>='), 0xc0: sg('<'), 0xd0: sg('<=') };
      if (cond[a] !== undefined) return jump(cond[a]!);
    } else {
      const uc = (o: string) => `(${DH}===${bh}?(${D}>>>0)${o}(${bl}>>>0):(${DH}>>>0)${o[0]}(${bh}>>>0))`;
      const sc = (o: string) => `(${DH}===${bh}?(${D}>>>0)${o}(${bl}>>>0):${DH}${o[0]}${bh})`;
      const cond: Record<number, string> = {
        0x10: `${D}===${bl}&&${DH}===${bh}`,
        0x50: `${D}!==${bl}||${DH}!==${bh}`,
        0x40: `(${D}&${bl})!==0||(${DH}&${bh})!==0`,
        0x20: uc('>'), 0x30: uc('>='), 0xa0: uc('<'), 0xb0: uc('<='),
        0x60: sc('>'), 0x70: sc('>='), 0xc0: sc('<'), 0xd0: sc('<='),
      };
      if (cond[a] !== undefined) return jump(cond[a]!);
    }
  }
  return `throw rt.trap(${pc},${c.length});`;
}

function sizeOf(op: number): number {
  const sz = op & 0x18;
  return sz === 0 ? 4 : sz === 8 ? 2 : sz === 0x10 ? 1 : 8;
}

function shift64(kind: 'lsh' | 'rsh' | 'arsh', D: string, DH: string, n: string): string {
  const body =
    kind === 'lsh'
      ? `if(n<32){${DH}=(${DH}<<n)|(${D}>>>(32-n));${D}=${D}<<n;}else{${DH}=${D}<<(n-32);${D}=0;}`
      : kind === 'rsh'
        ? `if(n<32){${D}=(${D}>>>n)|(${DH}<<(32-n));${DH}=(${DH}>>>n)|0;}else{${D}=(${DH}>>>(n-32))|0;${DH}=0;}`
        : `if(n<32){${D}=(${D}>>>n)|(${DH}<<(32-n));${DH}=${DH}>>n;}else{${D}=${DH}>>(n-32);${DH}=${DH}>>31;}`;
  return `{const n=${n};if(n!==0){${body}}}`;
}

function load(d: number, s: number, off: number, size: number, pc: number, read: string, signed: boolean): string {
  const D = `l${d}`;
  const DH = `h${d}`;
  const plain = size === 8 ? `${D}=r.view.getInt32(o,true);${DH}=r.view.getInt32(o+4,true);` : signed ? `${D}=${read};${DH}=${D}>>31;` : `${D}=${read};${DH}=0;`;
  const ext = signed ? (size === 1 ? `${D}=(${D}<<24)>>24;` : size === 2 ? `${D}=(${D}<<16)>>16;` : '') + `${DH}=${D}>>31;` : '';
  // Inline fast path: a live plain region and an access inside it; otherwise resolve, which faults precisely.
  const fast = `const hi=h${s};const r=T[hi&${ID_MASK}];const o=(l${s}>>>0)+${off - REGION_BASE};if(r!==undefined&&r.hi===hi&&o>=0&&o+${size}<=r.size&&r.context===null){${plain}}else`;
  return `{${fast}{const r=mem.resolve(h${s},l${s},${off},${size},false,${pc});const o=mem.offset;if(r.context===null){${plain}}else{m.ctxLoad(r,${size},${d},${pc});${D}=L[${d}];${DH}=H[${d}];${ext}}}}`;
}

function store(d: number, off: number, size: number, pc: number, lo: string, hi: string): string {
  const write =
    size === 1 ? `r.bytes[o]=${lo};` : size === 2 ? `r.view.setInt16(o,${lo},true);` : size === 4 ? `r.view.setInt32(o,${lo},true);` : `r.view.setInt32(o,${lo},true);r.view.setInt32(o+4,${hi},true);`;
  const fast = `const hi=h${d};const r=T[hi&${ID_MASK}];const o=(l${d}>>>0)+${off - REGION_BASE};if(r!==undefined&&r.hi===hi&&o>=0&&o+${size}<=r.size&&r.writable&&r.context===null){${write}}else`;
  return `{${fast}{const r=mem.resolve(h${d},l${d},${off},${size},true,${pc});const o=mem.offset;if(r.context===null){${write}}else m.ctxStore(r,${size},${lo},${hi},${pc});}}`;
}
