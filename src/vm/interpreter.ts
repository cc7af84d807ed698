import { VmFault, VmLimitError, type FaultKind } from './errors.js';
import type { HelperFn } from './helpers/helper.js';
import { bswap16, bswap32, cmpS64, cmpU64, mul64, sdiv64, smod64, udiv64, umod64 } from './int64.js';
import { Op } from './internal-ops.js';
import { jumpK32, jumpK64 } from './jump-conditions.js';
import { copyLoopDw } from './copy-loop.js';
import { AddressSpace, ID_MASK, Region, REGION_BASE, address, type Pointer } from './memory.js';
import type { VmRuntime } from './runtime.js';
import { compiledFor } from './js-compiler.js';
import { BPF_MAX_LOOPS, MAX_BPF_STACK, MAX_CALL_FRAMES, MAX_TAIL_CALL_CNT, type LoadedProgram } from './program.js';

/** The default instruction budget of one run. */
export const DEFAULT_INSTRUCTION_BUDGET = 1 << 27;

/** Packet bytes a legacy packet load (ldabs/ldind) reads. */
export interface LegacyPacket {
  bytes: Uint8Array;
}

/** What one run starts from. */
export interface RunInput {
  /** r1-r5 at entry: pointers (lo/hi), BigInts or numbers (taken as unsigned 64-bit). */
  args?: ReadonlyArray<Pointer | bigint | number>;
  /** Virtual CPU the run is on (bpf_get_smp_processor_id, per-CPU maps). */
  cpu?: number;
  /** Bytes ldabs/ldind read (socket filter and tc programs). */
  legacyPacket?: LegacyPacket;
  /** Instructions the run may execute before VmLimitError('instructions'); default 2^27. */
  budget?: number;
  /** Program-type specific state the helpers use (the skb, the xdp buffer, ...). */
  context?: unknown;
  /** Iterations each frame's may_goto allows (default BPF_MAX_LOOPS, 8M, as in the kernel). */
  mayGotoLoops?: number;
}

/** Per-run state shared with helpers. */
export interface RunState {
  cpu: number;
  legacyPacket: LegacyPacket | undefined;
  context: unknown;
  tailCalls: number;
  /** Set by bpf_tail_call on success: where execution continues. */
  tailTarget: LoadedProgram | undefined;
  /** Ring buffer records reserved and not yet submitted or discarded. */
  openRecords: Set<{ release(): void; region: Region }>;
  /** Set by a helper that ends the program (bpf_conformance's unwind helper). */
  stopped: boolean;
  /** Where bpf_redirect sent the packet. */
  redirect?: { ifindex: number; flags: number } | undefined;
  /** Where bpf_msg_redirect_map/hash sent the message (an opaque simulated socket). */
  msgRedirect?: { socket: unknown; ingress: boolean } | undefined;
}

/**
 * The eBPF interpreter. Registers are 64-bit values held as two Int32Array halves
 * (`lo`, `hi`), so the hot path uses only 32-bit and double arithmetic, never BigInt.
 * One Machine runs one program at a time; it owns the stack frames (512 bytes each, at
 * most 8) mapped into the runtime's {@link AddressSpace}.
 */
export class Machine {
  /** Low words of r0-r10 (16 entries so a malformed index can never leave the array). */
  readonly lo = new Int32Array(16);
  /** High words of r0-r10. */
  readonly hi = new Int32Array(16);
  /** Scratch for 64-bit results. */
  private readonly tmp = new Int32Array(2);
  /** Slot of the instruction being executed (for helpers' faults). */
  pc = 0;
  /** Instructions left in this run's budget. */
  remaining = 0;
  /** The current frame, 0 = the program's entry function. */
  depth = 0;
  /** The program whose code is executing (changes on tail calls and returns). */
  current!: LoadedProgram;
  state: RunState = newState(0, undefined, undefined);

  private readonly frames: Region[] = [];
  private readonly returnPc = new Int32Array(MAX_CALL_FRAMES);
  private readonly saved = new Int32Array(MAX_CALL_FRAMES * 10);
  private readonly callerProgram: (LoadedProgram | undefined)[] = new Array(MAX_CALL_FRAMES).fill(undefined);
  private readonly stackUsed = new Int32Array(MAX_CALL_FRAMES);
  private readonly mayGoto = new Float64Array(MAX_CALL_FRAMES);
  private running = false;
  private mayGotoLoops = BPF_MAX_LOOPS;
  /** Registers saved around helper callbacks (bpf_loop), one buffer per frame depth. */
  private readonly callbackSave = Array.from({ length: MAX_CALL_FRAMES }, () => new Int32Array(32));
  /**
   * How programs run: 'interpreter' (default) decodes and dispatches per instruction; 'js'
   * translates eligible programs (no bpf-to-bpf calls, callx or tail calls) into a
   * JavaScript function once, with registers in locals, and interprets the rest.
   */
  tier: 'interpreter' | 'js' = 'interpreter';
  /** @internal the may_goto allowance per frame of this run */
  get mayGotoAllowance(): number {
    return this.mayGotoLoops;
  }
  /** The runtime this machine belongs to (maps, environment), for helpers. */
  runtime!: VmRuntime;

  constructor(readonly memory: AddressSpace) {
    for (let i = 0; i < MAX_CALL_FRAMES; i++) {
      this.frames.push(memory.add(new Region('stack', `stack frame ${i}`, new Uint8Array(MAX_BPF_STACK), true)));
    }
  }

  /** Unmap the stack frames. */
  dispose(): void {
    for (const f of this.frames) this.memory.remove(f);
  }

  /**
   * Run `program` from its first instruction and return r0 as an unsigned 64-bit BigInt.
   * Use {@link runRaw} to avoid the BigInt.
   */
  run(program: LoadedProgram, input: RunInput = {}): bigint {
    this.runRaw(program, input);
    return (BigInt(this.hi[0]! >>> 0) << 32n) | BigInt(this.lo[0]! >>> 0);
  }

  /** Run `program`; r0 is left in `lo[0]`/`hi[0]`. */
  runRaw(program: LoadedProgram, input: RunInput = {}): void {
    if (this.running) throw new Error('this Machine is already running a program; use one Machine per concurrent run');
    this.running = true;
    try {
      resetState(this.state, input.cpu ?? 0, input.legacyPacket, input.context);
      this.remaining = input.budget ?? DEFAULT_INSTRUCTION_BUDGET;
      this.lo.fill(0);
      this.hi.fill(0);
      const args = input.args ?? [];
      for (let i = 0; i < args.length && i < 5; i++) setReg(this, i + 1, args[i]!);
      this.depth = 0;
      this.current = program;
      const entryDepth = program.frameDepth[0]!;
      this.stackUsed[0] = entryDepth;
      this.mayGotoLoops = input.mayGotoLoops ?? BPF_MAX_LOOPS;
      this.mayGoto[0] = this.mayGotoLoops;
      const frame = this.frames[0]!;
      frame.bytes.fill(0);
      this.lo[10] = AddressSpace.lo(MAX_BPF_STACK);
      this.hi[10] = frame.hi;
      const compiled = this.tier === 'js' ? compiledFor(program) : undefined;
      if (compiled !== undefined) compiled(this, this.lo, this.hi, this.memory, 0);
      else this.execute(0, 0);
      this.checkReleased();
    } finally {
      this.running = false;
    }
  }

  /**
   * Call a function of the current program (a callback of bpf_loop or
   * bpf_for_each_map_elem) with r1-r5 = `args`, and return its r0 low and high words in
   * `out`. Registers of the caller are preserved.
   */
  callFunction(fn: Pointer, args: readonly Pointer[], out: Int32Array): void {
    const prog = this.current;
    const entry = this.functionSlot(prog, fn);
    const callerPc = this.pc;
    const depth = this.depth;
    const save = this.callbackSave[depth]!;
    save.set(this.lo, 0);
    save.set(this.hi, 16);
    for (let i = 0; i < args.length; i++) {
      this.lo[i + 1] = args[i]!.lo;
      this.hi[i + 1] = args[i]!.hi;
    }
    this.pushFrame(callerPc, prog, entry);
    try {
      const compiled = this.tier === 'js' ? compiledFor(prog) : undefined;
      if (compiled !== undefined) compiled(this, this.lo, this.hi, this.memory, entry);
      else this.execute(entry, this.depth);
    } finally {
      // The callback's frame exits at its base depth without popping (execute returns there).
      this.depth = depth;
      this.current = prog;
    }
    out[0] = this.lo[0]!;
    out[1] = this.hi[0]!;
    this.lo.set(save.subarray(0, 16));
    this.hi.set(save.subarray(16, 32));
    this.pc = callerPc;
  }

  /** Throw a fault at the current helper call. */
  fault(kind: FaultKind, reason: string, at?: { hi: number; lo: number; size: number; region?: string }): never {
    if (at === undefined) throw new VmFault(kind, reason, this.pc);
    throw new VmFault(kind, reason, this.pc, address(at.hi, at.lo, 0), at.region ?? this.memory.regionOf(at.hi)?.name ?? 'none', at.size);
  }

  /** Set r0 from a 64-bit value given as halves. */
  ret(lo: number, hi: number): void {
    this.lo[0] = lo;
    this.hi[0] = hi;
  }

  /** Set r0 from a number: non-negative integers up to 2^53, or negative errnos (sign-extended). */
  retNumber(n: number): void {
    if (n < 0) {
      this.lo[0] = n;
      this.hi[0] = n < -0x80000000 ? Math.floor(n / 4294967296) : -1;
    } else {
      this.lo[0] = n % 4294967296;
      this.hi[0] = Math.floor(n / 4294967296);
    }
  }

  /** Register `i` as an unsigned Number (exact below 2^53). */
  argNumber(i: number): number {
    return (this.hi[i]! >>> 0) * 4294967296 + (this.lo[i]! >>> 0);
  }

  /** Register `i` as an unsigned BigInt. */
  argBigInt(i: number): bigint {
    return (BigInt(this.hi[i]! >>> 0) << 32n) | BigInt(this.lo[i]! >>> 0);
  }

  /** Register `i` as a pointer. */
  argPointer(i: number): Pointer {
    return { lo: this.lo[i]!, hi: this.hi[i]! };
  }

  /** The `size` bytes register `i` points at (checked; for helpers). */
  argBytes(i: number, size: number, write: boolean): Uint8Array {
    if (size < 0 || size > 0x7fffffff) this.fault('invalid_helper_call', `argument r${i + 1}... size ${size} is not a valid memory size`);
    return this.memory.slice(this.hi[i]!, this.lo[i]!, size, write, this.pc);
  }

  private functionSlot(prog: LoadedProgram, fn: Pointer): number {
    const t = (fn.lo >>> 0) - REGION_BASE;
    if (fn.hi !== prog.codeRegion.hi || prog.codeRegion.hi === 0 || t < 0 || t >= prog.code.length || prog.code.ops[t] === Op.LDDW_SECOND) {
      throw new VmFault('invalid_helper_call', `0x${address(fn.hi, fn.lo, 0).toString(16)} is not a function of program ${prog.name}`, this.pc);
    }
    return t;
  }

  private pushFrame(returnPc: number, caller: LoadedProgram, target: number): void {
    const d = this.depth;
    if (d + 1 >= MAX_CALL_FRAMES) {
      throw new VmLimitError('call_depth', `the call nests ${d + 2} frames deep; the kernel allows ${MAX_CALL_FRAMES}`, returnPc);
    }
    const used = this.stackUsed[d]! + caller.frameDepth[target]!;
    if (used > MAX_BPF_STACK) {
      throw new VmLimitError('stack_size', `combined stack size of ${d + 2} calls is ${used}; the kernel allows ${MAX_BPF_STACK}`, returnPc);
    }
    const base = d * 10;
    for (let r = 6; r <= 10; r++) {
      this.saved[base + (r - 6) * 2] = this.lo[r]!;
      this.saved[base + (r - 6) * 2 + 1] = this.hi[r]!;
    }
    this.returnPc[d] = returnPc + 1;
    this.callerProgram[d] = caller;
    const nd = d + 1;
    this.depth = nd;
    this.stackUsed[nd] = used;
    this.mayGoto[nd] = this.mayGotoLoops;
    // Like the kernel, a callee's stack is not cleared: the verifier forbids reading
    // uninitialised stack, so only such (rejected) programs could observe old bytes.
    const frame = this.frames[nd]!;
    this.lo[10] = AddressSpace.lo(MAX_BPF_STACK);
    this.hi[10] = frame.hi;
  }

  /** Return from the current frame: the pc to continue at, or -1 when `base` exits. */
  private popFrame(base: number): number {
    const d = this.depth;
    if (d === base) return -1;
    const pd = d - 1;
    const b = pd * 10;
    for (let r = 6; r <= 10; r++) {
      this.lo[r] = this.saved[b + (r - 6) * 2]!;
      this.hi[r] = this.saved[b + (r - 6) * 2 + 1]!;
    }
    this.depth = pd;
    this.current = this.callerProgram[pd]!;
    return this.returnPc[pd]!;
  }

  private checkReleased(): void {
    const open = this.state.openRecords;
    if (open.size === 0) return;
    for (const rec of open) rec.release();
    open.clear();
    throw new VmFault('unreleased_reference', 'the program exited holding a ring buffer record it neither submitted nor discarded', this.pc);
  }

  /** @internal (used by compiled code) */
  ctxLoad(r: Region, size: number, d: number, pc: number): void {
    const o = this.memory.offset;
    if (!r.context!.load(o, size, this.tmp)) {
      throw new VmFault('invalid_context_access', `invalid ${r.name} access: read of ${size} bytes at offset ${o}`, pc, address(r.hi, AddressSpace.lo(o), 0), r.name, size);
    }
    this.lo[d] = this.tmp[0]!;
    this.hi[d] = this.tmp[1]!;
  }

  /** @internal (used by compiled code) */
  ctxStore(r: Region, size: number, lo: number, hi: number, pc: number): void {
    const o = this.memory.offset;
    if (!r.context!.store(o, size, lo, hi)) {
      throw new VmFault('invalid_context_access', `invalid ${r.name} access: write of ${size} bytes at offset ${o}`, pc, address(r.hi, AddressSpace.lo(o), 0), r.name, size);
    }
  }

  /** A load the inline fast path did not take: resolve it (faulting precisely) or convert a context field. */
  private slowLoad(pc: number, s: number, d: number, off: number, size: number, signed: boolean): void {
    const r = this.memory.resolve(this.hi[s]!, this.lo[s]!, off, size, false, pc);
    const L = this.lo;
    if (r.context !== null) {
      this.ctxLoad(r, size, d, pc);
      if (!signed) return;
      if (size === 1) L[d] = (L[d]! << 24) >> 24;
      else if (size === 2) L[d] = (L[d]! << 16) >> 16;
      this.hi[d] = L[d]! >> 31;
      return;
    }
    const o = this.memory.offset;
    const v = r.view;
    if (size === 8) {
      L[d] = v.getInt32(o, true);
      this.hi[d] = v.getInt32(o + 4, true);
      return;
    }
    L[d] = size === 1 ? (signed ? v.getInt8(o) : v.getUint8(o)) : size === 2 ? (signed ? v.getInt16(o, true) : v.getUint16(o, true)) : v.getInt32(o, true);
    this.hi[d] = signed ? L[d]! >> 31 : 0;
  }

  /** A store the inline fast path did not take: resolve it (faulting precisely) or convert a context field. */
  private slowStore(pc: number, d: number, off: number, size: number, lo: number, hi: number): void {
    const r = this.memory.resolve(this.hi[d]!, this.lo[d]!, off, size, true, pc);
    if (r.context !== null) {
      this.ctxStore(r, size, lo, hi, pc);
      return;
    }
    const o = this.memory.offset;
    const v = r.view;
    if (size === 1) v.setUint8(o, lo);
    else if (size === 2) v.setInt16(o, lo, true);
    else v.setInt32(o, lo, true);
    if (size === 8) v.setInt32(o + 4, hi, true);
  }

  /** ldabs/ldind: false when the load is outside the packet (the program then returns 0). */
  /** @internal (used by compiled code) */
  legacyLoad(pc: number, size: number, indirect: boolean): boolean {
    const pkt = this.state.legacyPacket;
    if (pkt === undefined) throw new VmFault('invalid_instruction', 'legacy packet loads (ldabs/ldind) need a socket filter or tc program with a packet', pc);
    const off = indirect ? (this.current.code.imm[pc]! + this.lo[this.current.code.src[pc]!]!) | 0 : this.current.code.imm[pc]!;
    if (off < 0 || off + size > pkt.bytes.length) return false;
    const b = pkt.bytes;
    this.lo[0] = size === 1 ? b[off]! : size === 2 ? (b[off]! << 8) | b[off + 1]! : (b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!;
    this.hi[0] = 0;
    return true;
  }

  /** @internal (used by compiled code) */
  atomic(pc: number, size: number): void {
    const code = this.current.code;
    const d = code.dst[pc]!;
    const s = code.src[pc]!;
    const opn = code.imm[pc]!;
    const L = this.lo;
    const H = this.hi;
    if (opn === 0x100) {
      // load-acquire: dst = *(src + off)
      const r = this.memory.resolve(H[s]!, L[s]!, code.off[pc]!, size, false, pc);
      if (r.context !== null) throw this.atomicCtx(r, pc, size);
      const o = this.memory.offset;
      const v = r.view;
      L[d] = size === 1 ? v.getUint8(o) : size === 2 ? v.getUint16(o, true) : v.getInt32(o, true);
      H[d] = size === 8 ? v.getInt32(o + 4, true) : 0;
      return;
    }
    const r = this.memory.resolve(H[d]!, L[d]!, code.off[pc]!, size, true, pc);
    if (r.context !== null) throw this.atomicCtx(r, pc, size);
    const o = this.memory.offset;
    const v = r.view;
    if (opn === 0x110) {
      if (size === 1) v.setUint8(o, L[s]!);
      else if (size === 2) v.setUint16(o, L[s]!, true);
      else v.setInt32(o, L[s]!, true);
      if (size === 8) v.setInt32(o + 4, H[s]!, true);
      return;
    }
    if (r.bytes.buffer instanceof SharedArrayBuffer) {
      this.sharedAtomic(r, o, size, opn, s);
      return;
    }
    const oldLo = v.getInt32(o, true);
    const oldHi = size === 8 ? v.getInt32(o + 4, true) : 0;
    let nlo = 0;
    let nhi = 0;
    const base = opn & ~1;
    switch (base) {
      case 0x00: {
        const sum = (oldLo >>> 0) + (L[s]! >>> 0);
        nlo = sum | 0;
        nhi = (oldHi + H[s]! + (sum > 0xffffffff ? 1 : 0)) | 0;
        break;
      }
      case 0x40:
        nlo = oldLo | L[s]!;
        nhi = oldHi | H[s]!;
        break;
      case 0x50:
        nlo = oldLo & L[s]!;
        nhi = oldHi & H[s]!;
        break;
      case 0xa0:
        nlo = oldLo ^ L[s]!;
        nhi = oldHi ^ H[s]!;
        break;
      case 0xe0:
        nlo = L[s]!;
        nhi = H[s]!;
        break;
      case 0xf0: {
        // cmpxchg: compare r0 with memory; store src if equal; r0 = old.
        const eq = size === 8 ? oldLo === L[0]! && oldHi === H[0]! : oldLo === L[0]!;
        if (eq) {
          v.setInt32(o, L[s]!, true);
          if (size === 8) v.setInt32(o + 4, H[s]!, true);
        }
        L[0] = oldLo;
        H[0] = oldHi;
        return;
      }
    }
    v.setInt32(o, nlo, true);
    if (size === 8) v.setInt32(o + 4, nhi, true);
    if (opn & 1) {
      L[s] = oldLo;
      H[s] = oldHi;
    }
  }

  /**
   * A read-modify-write on memory other threads may share (a map in a SharedArrayBuffer):
   * done with Atomics, so concurrent programs in several workers see the kernel's atomicity.
   */
  private sharedAtomic(r: Region, o: number, size: number, opn: number, s: number): void {
    const L = this.lo;
    const H = this.hi;
    const at = r.bytes.byteOffset + o;
    if (at % size !== 0) throw new VmFault('out_of_bounds', `misaligned ${size}-byte atomic access at offset ${o} of ${r.name}`, this.pc);
    const base = opn & ~1;
    if (size === 4) {
      const a = new Int32Array(r.bytes.buffer, at, 1);
      const val = L[s]!;
      let old: number;
      switch (base) {
        case 0x00: old = Atomics.add(a, 0, val); break;
        case 0x40: old = Atomics.or(a, 0, val); break;
        case 0x50: old = Atomics.and(a, 0, val); break;
        case 0xa0: old = Atomics.xor(a, 0, val); break;
        case 0xe0: old = Atomics.exchange(a, 0, val); break;
        default: {
          old = Atomics.compareExchange(a, 0, L[0]!, val);
          L[0] = old;
          H[0] = 0;
          return;
        }
      }
      if (opn & 1) {
        L[s] = old;
        H[s] = 0;
      }
      return;
    }
    const a = new BigInt64Array(r.bytes.buffer, at, 1);
    const val = BigInt.asIntN(64, (BigInt(H[s]!) << 32n) | BigInt(L[s]! >>> 0));
    let old: bigint;
    switch (base) {
      case 0x00: old = Atomics.add(a, 0, val); break;
      case 0x40: old = Atomics.or(a, 0, val); break;
      case 0x50: old = Atomics.and(a, 0, val); break;
      case 0xa0: old = Atomics.xor(a, 0, val); break;
      case 0xe0: old = Atomics.exchange(a, 0, val); break;
      default: {
        const expected = BigInt.asIntN(64, (BigInt(H[0]!) << 32n) | BigInt(L[0]! >>> 0));
        old = Atomics.compareExchange(a, 0, expected, val);
        L[0] = Number(BigInt.asIntN(32, old));
        H[0] = Number(old >> 32n);
        return;
      }
    }
    if (opn & 1) {
      L[s] = Number(BigInt.asIntN(32, old));
      H[s] = Number(old >> 32n);
    }
  }

  private atomicCtx(r: Region, pc: number, size: number): VmFault {
    return new VmFault('invalid_context_access', `atomic access to ${r.name} is not allowed`, pc, address(r.hi, AddressSpace.lo(this.memory.offset), 0), r.name, size);
  }

  private callHelper(fn: HelperFn, pc: number): void {
    this.pc = pc;
    fn(this);
  }

  private callByValue(pc: number, reg: number): number {
    // callx: a function pointer calls that function; otherwise the register holds a
    // helper id (bpf_conformance's definition of callx).
    const prog = this.current;
    const lo = this.lo[reg]!;
    const hi = this.hi[reg]!;
    if (hi !== 0 && hi === prog.codeRegion.hi) {
      const t = this.functionSlot(prog, { lo, hi });
      this.pushFrame(pc, prog, t);
      return t;
    }
    const fn = hi === 0 ? prog.helperTable.get(lo) : undefined;
    if (fn === undefined) throw new VmFault('invalid_instruction', `callx through r${reg} = 0x${address(hi, lo, 0).toString(16)}: neither a function of the program nor a helper id`, pc);
    this.callHelper(fn, pc);
    return -1;
  }

  /**
   * The interpreter loop: run from `startPc` until the frame at depth `base` exits.
   * Registers live in `lo`/`hi`; the program's decoded arrays are cached in locals and
   * reloaded whenever the executing program changes (tail call, return).
   */
  private execute(startPc: number, base: number): void {
    const L = this.lo;
    const H = this.hi;
    const t = this.tmp;
    const mem = this.memory;
    const T = mem.table;
    let prog = this.current;
    let code = prog.code;
    let ops = code.ops;
    let C = code.words;
    let pc = startPc;
    let left = this.remaining;
    for (;;) {
      if (--left < 0) {
        this.remaining = 0;
        throw budgetSpent(pc);
      }
      const p = pc << 2;
      const w = C[p]!;
      switch (w & 0xfff) {
        // ---------------------------------------------------------------- ALU64
        case 0x07: { const d = ((w >>> 12) & 15); const b = C[p + 1]!; const s = (L[d]! >>> 0) + (b >>> 0); L[d] = s; H[d] = (H[d]! + (b >> 31) + (s > 0xffffffff ? 1 : 0)) | 0; pc++; continue; }
        case 0x0f: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); const s = (L[d]! >>> 0) + (L[r]! >>> 0); const bh = H[r]!; L[d] = s; H[d] = (H[d]! + bh + (s > 0xffffffff ? 1 : 0)) | 0; pc++; continue; }
        case 0x17: { const d = ((w >>> 12) & 15); const b = C[p + 1]!; const a = L[d]! >>> 0; const s = a - (b >>> 0); L[d] = s; H[d] = (H[d]! - (b >> 31) - (s < 0 ? 1 : 0)) | 0; pc++; continue; }
        case 0x1f: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); const s = (L[d]! >>> 0) - (L[r]! >>> 0); const bh = H[r]!; L[d] = s; H[d] = (H[d]! - bh - (s < 0 ? 1 : 0)) | 0; pc++; continue; }
        case 0x27: { const d = ((w >>> 12) & 15); const b = C[p + 1]!; mul64(L[d]!, H[d]!, b, b >> 31, t); L[d] = t[0]!; H[d] = t[1]!; pc++; continue; }
        case 0x2f: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); mul64(L[d]!, H[d]!, L[r]!, H[r]!, t); L[d] = t[0]!; H[d] = t[1]!; pc++; continue; }
        case 0x37: { const d = ((w >>> 12) & 15); const b = C[p + 1]!; if (b === 0) { L[d] = 0; H[d] = 0; } else { udiv64(L[d]!, H[d]!, b, b >> 31, t); L[d] = t[0]!; H[d] = t[1]!; } pc++; continue; }
        case 0x3f: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); const bl = L[r]!, bh = H[r]!; if (bl === 0 && bh === 0) { L[d] = 0; H[d] = 0; } else if (H[d] === 0 && bh === 0) { L[d] = Math.floor((L[d]! >>> 0) / (bl >>> 0)); } else { udiv64(L[d]!, H[d]!, bl, bh, t); L[d] = t[0]!; H[d] = t[1]!; } pc++; continue; }
        case 0x47: { const d = ((w >>> 12) & 15); const b = C[p + 1]!; L[d] = L[d]! | b; H[d] = H[d]! | (b >> 31); pc++; continue; }
        case 0x4f: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); L[d] = L[d]! | L[r]!; H[d] = H[d]! | H[r]!; pc++; continue; }
        case 0x57: { const d = ((w >>> 12) & 15); const b = C[p + 1]!; L[d] = L[d]! & b; H[d] = H[d]! & (b >> 31); pc++; continue; }
        case 0x5f: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); L[d] = L[d]! & L[r]!; H[d] = H[d]! & H[r]!; pc++; continue; }
        case 0x67: { lsh64(L, H, ((w >>> 12) & 15), C[p + 1]! & 63); pc++; continue; }
        case 0x6f: { lsh64(L, H, ((w >>> 12) & 15), L[((w >>> 16) & 15)]! & 63); pc++; continue; }
        case 0x77: { rsh64(L, H, ((w >>> 12) & 15), C[p + 1]! & 63); pc++; continue; }
        case 0x7f: { rsh64(L, H, ((w >>> 12) & 15), L[((w >>> 16) & 15)]! & 63); pc++; continue; }
        case 0x87: { const d = ((w >>> 12) & 15); const l = L[d]!; L[d] = -l | 0; H[d] = l === 0 ? -H[d]! | 0 : ~H[d]!; pc++; continue; }
        case 0x97: { const d = ((w >>> 12) & 15); const b = C[p + 1]!; if (b !== 0) { umod64(L[d]!, H[d]!, b, b >> 31, t); L[d] = t[0]!; H[d] = t[1]!; } pc++; continue; }
        case 0x9f: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); const bl = L[r]!, bh = H[r]!; if (bh === 0 && H[d] === 0) { if (bl !== 0) L[d] = (L[d]! >>> 0) % (bl >>> 0); } else if (bl !== 0 || bh !== 0) { umod64(L[d]!, H[d]!, bl, bh, t); L[d] = t[0]!; H[d] = t[1]!; } pc++; continue; }
        case 0xa7: { const d = ((w >>> 12) & 15); const b = C[p + 1]!; L[d] = L[d]! ^ b; H[d] = H[d]! ^ (b >> 31); pc++; continue; }
        case 0xaf: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); L[d] = L[d]! ^ L[r]!; H[d] = H[d]! ^ H[r]!; pc++; continue; }
        case 0xb7: { const d = ((w >>> 12) & 15); const b = C[p + 1]!; L[d] = b; H[d] = b >> 31; pc++; continue; }
        case 0xbf: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); L[d] = L[r]!; H[d] = H[r]!; pc++; continue; }
        case 0xc7: { arsh64(L, H, ((w >>> 12) & 15), C[p + 1]! & 63); pc++; continue; }
        case 0xcf: { arsh64(L, H, ((w >>> 12) & 15), L[((w >>> 16) & 15)]! & 63); pc++; continue; }
        case 0x100 /* MOVSX64_8 */: { const v = (L[((w >>> 16) & 15)]! << 24) >> 24; const d = ((w >>> 12) & 15); L[d] = v; H[d] = v >> 31; pc++; continue; }
        case 0x101 /* MOVSX64_16 */: { const v = (L[((w >>> 16) & 15)]! << 16) >> 16; const d = ((w >>> 12) & 15); L[d] = v; H[d] = v >> 31; pc++; continue; }
        case 0x102 /* MOVSX64_32 */: { const v = L[((w >>> 16) & 15)]!; const d = ((w >>> 12) & 15); L[d] = v; H[d] = v >> 31; pc++; continue; }
        case 0x105 /* SDIV64_K */: { const d = ((w >>> 12) & 15); const b = C[p + 1]!; if (b === 0) { L[d] = 0; H[d] = 0; } else { sdiv64(L[d]!, H[d]!, b, b >> 31, t); L[d] = t[0]!; H[d] = t[1]!; } pc++; continue; }
        case 0x106 /* SDIV64_X */: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); const bl = L[r]!, bh = H[r]!; if (bl === 0 && bh === 0) { L[d] = 0; H[d] = 0; } else { sdiv64(L[d]!, H[d]!, bl, bh, t); L[d] = t[0]!; H[d] = t[1]!; } pc++; continue; }
        case 0x107 /* SMOD64_K */: { const d = ((w >>> 12) & 15); const b = C[p + 1]!; if (b !== 0) { smod64(L[d]!, H[d]!, b, b >> 31, t); L[d] = t[0]!; H[d] = t[1]!; } pc++; continue; }
        case 0x108 /* SMOD64_X */: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); const bl = L[r]!, bh = H[r]!; if (bl !== 0 || bh !== 0) { smod64(L[d]!, H[d]!, bl, bh, t); L[d] = t[0]!; H[d] = t[1]!; } pc++; continue; }
        case 0x10d /* ADDR_SPACE_CAST */: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); L[d] = L[r]!; H[d] = H[r]!; pc++; continue; }

        // ---------------------------------------------------------------- ALU32
        case 0x04: { const d = ((w >>> 12) & 15); L[d] = (L[d]! + C[p + 1]!) | 0; H[d] = 0; pc++; continue; }
        case 0x0c: { const d = ((w >>> 12) & 15); L[d] = (L[d]! + L[((w >>> 16) & 15)]!) | 0; H[d] = 0; pc++; continue; }
        case 0x14: { const d = ((w >>> 12) & 15); L[d] = (L[d]! - C[p + 1]!) | 0; H[d] = 0; pc++; continue; }
        case 0x1c: { const d = ((w >>> 12) & 15); L[d] = (L[d]! - L[((w >>> 16) & 15)]!) | 0; H[d] = 0; pc++; continue; }
        case 0x24: { const d = ((w >>> 12) & 15); L[d] = Math.imul(L[d]!, C[p + 1]!); H[d] = 0; pc++; continue; }
        case 0x2c: { const d = ((w >>> 12) & 15); L[d] = Math.imul(L[d]!, L[((w >>> 16) & 15)]!); H[d] = 0; pc++; continue; }
        case 0x34: { const d = ((w >>> 12) & 15); const b = C[p + 1]! >>> 0; L[d] = b === 0 ? 0 : Math.floor((L[d]! >>> 0) / b); H[d] = 0; pc++; continue; }
        case 0x3c: { const d = ((w >>> 12) & 15); const b = L[((w >>> 16) & 15)]! >>> 0; L[d] = b === 0 ? 0 : Math.floor((L[d]! >>> 0) / b); H[d] = 0; pc++; continue; }
        case 0x44: { const d = ((w >>> 12) & 15); L[d] = L[d]! | C[p + 1]!; H[d] = 0; pc++; continue; }
        case 0x4c: { const d = ((w >>> 12) & 15); L[d] = L[d]! | L[((w >>> 16) & 15)]!; H[d] = 0; pc++; continue; }
        case 0x54: { const d = ((w >>> 12) & 15); L[d] = L[d]! & C[p + 1]!; H[d] = 0; pc++; continue; }
        case 0x5c: { const d = ((w >>> 12) & 15); L[d] = L[d]! & L[((w >>> 16) & 15)]!; H[d] = 0; pc++; continue; }
        case 0x64: { const d = ((w >>> 12) & 15); L[d] = L[d]! << (C[p + 1]! & 31); H[d] = 0; pc++; continue; }
        case 0x6c: { const d = ((w >>> 12) & 15); L[d] = L[d]! << (L[((w >>> 16) & 15)]! & 31); H[d] = 0; pc++; continue; }
        case 0x74: { const d = ((w >>> 12) & 15); L[d] = L[d]! >>> (C[p + 1]! & 31); H[d] = 0; pc++; continue; }
        case 0x7c: { const d = ((w >>> 12) & 15); L[d] = L[d]! >>> (L[((w >>> 16) & 15)]! & 31); H[d] = 0; pc++; continue; }
        case 0x84: { const d = ((w >>> 12) & 15); L[d] = -L[d]! | 0; H[d] = 0; pc++; continue; }
        case 0x94: { const d = ((w >>> 12) & 15); const b = C[p + 1]! >>> 0; if (b !== 0) L[d] = (L[d]! >>> 0) % b; H[d] = 0; pc++; continue; }
        case 0x9c: { const d = ((w >>> 12) & 15); const b = L[((w >>> 16) & 15)]! >>> 0; if (b !== 0) L[d] = (L[d]! >>> 0) % b; H[d] = 0; pc++; continue; }
        case 0xa4: { const d = ((w >>> 12) & 15); L[d] = L[d]! ^ C[p + 1]!; H[d] = 0; pc++; continue; }
        case 0xac: { const d = ((w >>> 12) & 15); L[d] = L[d]! ^ L[((w >>> 16) & 15)]!; H[d] = 0; pc++; continue; }
        case 0xb4: { const d = ((w >>> 12) & 15); L[d] = C[p + 1]!; H[d] = 0; pc++; continue; }
        case 0xbc: { const d = ((w >>> 12) & 15); L[d] = L[((w >>> 16) & 15)]!; H[d] = 0; pc++; continue; }
        case 0xc4: { const d = ((w >>> 12) & 15); L[d] = L[d]! >> (C[p + 1]! & 31); H[d] = 0; pc++; continue; }
        case 0xcc: { const d = ((w >>> 12) & 15); L[d] = L[d]! >> (L[((w >>> 16) & 15)]! & 31); H[d] = 0; pc++; continue; }
        case 0x103 /* MOVSX32_8 */: { const d = ((w >>> 12) & 15); L[d] = (L[((w >>> 16) & 15)]! << 24) >> 24; H[d] = 0; pc++; continue; }
        case 0x104 /* MOVSX32_16 */: { const d = ((w >>> 12) & 15); L[d] = (L[((w >>> 16) & 15)]! << 16) >> 16; H[d] = 0; pc++; continue; }
        case 0x109 /* SDIV32_K */: { const d = ((w >>> 12) & 15); const b = C[p + 1]!; L[d] = b === 0 ? 0 : Math.trunc(L[d]! / b) | 0; H[d] = 0; pc++; continue; }
        case 0x10a /* SDIV32_X */: { const d = ((w >>> 12) & 15); const b = L[((w >>> 16) & 15)]!; L[d] = b === 0 ? 0 : Math.trunc(L[d]! / b) | 0; H[d] = 0; pc++; continue; }
        case 0x10b /* SMOD32_K */: { const d = ((w >>> 12) & 15); const b = C[p + 1]!; if (b !== 0) L[d] = L[d]! % b | 0; H[d] = 0; pc++; continue; }
        case 0x10c /* SMOD32_X */: { const d = ((w >>> 12) & 15); const b = L[((w >>> 16) & 15)]!; if (b !== 0) L[d] = L[d]! % b | 0; H[d] = 0; pc++; continue; }

        // ---------------------------------------------------------------- byte order (little-endian host)
        case 0x110 /* LE16 */: { const d = ((w >>> 12) & 15); L[d] = L[d]! & 0xffff; H[d] = 0; pc++; continue; }
        case 0x111 /* LE32 */: { H[((w >>> 12) & 15)] = 0; pc++; continue; }
        case 0x112 /* LE64 */: { pc++; continue; }
        case 0x113 /* BE16 */: { const d = ((w >>> 12) & 15); L[d] = bswap16(L[d]!); H[d] = 0; pc++; continue; }
        case 0x114 /* BE32 */: { const d = ((w >>> 12) & 15); L[d] = bswap32(L[d]!); H[d] = 0; pc++; continue; }
        case 0x115 /* BE64 */: { const d = ((w >>> 12) & 15); const l = L[d]!; L[d] = bswap32(H[d]!); H[d] = bswap32(l); pc++; continue; }

        // ---------------------------------------------------------------- JMP (64-bit compares)
        case 0x118 /* JA */: { pc = C[p + 2]!; continue; }
        case 0x15: { const d = ((w >>> 12) & 15), b = C[p + 1]!; pc = L[d] === b && H[d] === b >> 31 ? C[p + 2]! : pc + 1; continue; }
        case 0x1d: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); pc = L[d] === L[r] && H[d] === H[r] ? C[p + 2]! : pc + 1; continue; }
        case 0x55: { const d = ((w >>> 12) & 15), b = C[p + 1]!; pc = L[d] !== b || H[d] !== b >> 31 ? C[p + 2]! : pc + 1; continue; }
        case 0x5d: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); pc = L[d] !== L[r] || H[d] !== H[r] ? C[p + 2]! : pc + 1; continue; }
        case 0x45: { const d = ((w >>> 12) & 15), b = C[p + 1]!; pc = (L[d]! & b) !== 0 || (H[d]! & (b >> 31)) !== 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x4d: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); pc = (L[d]! & L[r]!) !== 0 || (H[d]! & H[r]!) !== 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x25: { const d = ((w >>> 12) & 15), b = C[p + 1]!; pc = cmpU64(L[d]!, H[d]!, b, b >> 31) > 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x2d: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); pc = cmpU64(L[d]!, H[d]!, L[r]!, H[r]!) > 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x35: { const d = ((w >>> 12) & 15), b = C[p + 1]!; pc = cmpU64(L[d]!, H[d]!, b, b >> 31) >= 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x3d: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); pc = cmpU64(L[d]!, H[d]!, L[r]!, H[r]!) >= 0 ? C[p + 2]! : pc + 1; continue; }
        case 0xa5: { const d = ((w >>> 12) & 15), b = C[p + 1]!; pc = cmpU64(L[d]!, H[d]!, b, b >> 31) < 0 ? C[p + 2]! : pc + 1; continue; }
        case 0xad: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); pc = cmpU64(L[d]!, H[d]!, L[r]!, H[r]!) < 0 ? C[p + 2]! : pc + 1; continue; }
        case 0xb5: { const d = ((w >>> 12) & 15), b = C[p + 1]!; pc = cmpU64(L[d]!, H[d]!, b, b >> 31) <= 0 ? C[p + 2]! : pc + 1; continue; }
        case 0xbd: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); pc = cmpU64(L[d]!, H[d]!, L[r]!, H[r]!) <= 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x65: { const d = ((w >>> 12) & 15), b = C[p + 1]!; pc = cmpS64(L[d]!, H[d]!, b, b >> 31) > 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x6d: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); pc = cmpS64(L[d]!, H[d]!, L[r]!, H[r]!) > 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x75: { const d = ((w >>> 12) & 15), b = C[p + 1]!; pc = cmpS64(L[d]!, H[d]!, b, b >> 31) >= 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x7d: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); pc = cmpS64(L[d]!, H[d]!, L[r]!, H[r]!) >= 0 ? C[p + 2]! : pc + 1; continue; }
        case 0xc5: { const d = ((w >>> 12) & 15), b = C[p + 1]!; pc = cmpS64(L[d]!, H[d]!, b, b >> 31) < 0 ? C[p + 2]! : pc + 1; continue; }
        case 0xcd: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); pc = cmpS64(L[d]!, H[d]!, L[r]!, H[r]!) < 0 ? C[p + 2]! : pc + 1; continue; }
        case 0xd5: { const d = ((w >>> 12) & 15), b = C[p + 1]!; pc = cmpS64(L[d]!, H[d]!, b, b >> 31) <= 0 ? C[p + 2]! : pc + 1; continue; }
        case 0xdd: { const d = ((w >>> 12) & 15), r = ((w >>> 16) & 15); pc = cmpS64(L[d]!, H[d]!, L[r]!, H[r]!) <= 0 ? C[p + 2]! : pc + 1; continue; }

        // ---------------------------------------------------------------- JMP32 (32-bit compares)
        case 0x16: { pc = L[((w >>> 12) & 15)] === C[p + 1] ? C[p + 2]! : pc + 1; continue; }
        case 0x1e: { pc = L[((w >>> 12) & 15)] === L[((w >>> 16) & 15)] ? C[p + 2]! : pc + 1; continue; }
        case 0x56: { pc = L[((w >>> 12) & 15)] !== C[p + 1] ? C[p + 2]! : pc + 1; continue; }
        case 0x5e: { pc = L[((w >>> 12) & 15)] !== L[((w >>> 16) & 15)] ? C[p + 2]! : pc + 1; continue; }
        case 0x46: { pc = (L[((w >>> 12) & 15)]! & C[p + 1]!) !== 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x4e: { pc = (L[((w >>> 12) & 15)]! & L[((w >>> 16) & 15)]!) !== 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x26: { pc = L[((w >>> 12) & 15)]! >>> 0 > C[p + 1]! >>> 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x2e: { pc = L[((w >>> 12) & 15)]! >>> 0 > L[((w >>> 16) & 15)]! >>> 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x36: { pc = L[((w >>> 12) & 15)]! >>> 0 >= C[p + 1]! >>> 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x3e: { pc = L[((w >>> 12) & 15)]! >>> 0 >= L[((w >>> 16) & 15)]! >>> 0 ? C[p + 2]! : pc + 1; continue; }
        case 0xa6: { pc = L[((w >>> 12) & 15)]! >>> 0 < C[p + 1]! >>> 0 ? C[p + 2]! : pc + 1; continue; }
        case 0xae: { pc = L[((w >>> 12) & 15)]! >>> 0 < L[((w >>> 16) & 15)]! >>> 0 ? C[p + 2]! : pc + 1; continue; }
        case 0xb6: { pc = L[((w >>> 12) & 15)]! >>> 0 <= C[p + 1]! >>> 0 ? C[p + 2]! : pc + 1; continue; }
        case 0xbe: { pc = L[((w >>> 12) & 15)]! >>> 0 <= L[((w >>> 16) & 15)]! >>> 0 ? C[p + 2]! : pc + 1; continue; }
        case 0x66: { pc = L[((w >>> 12) & 15)]! > C[p + 1]! ? C[p + 2]! : pc + 1; continue; }
        case 0x6e: { pc = L[((w >>> 12) & 15)]! > L[((w >>> 16) & 15)]! ? C[p + 2]! : pc + 1; continue; }
        case 0x76: { pc = L[((w >>> 12) & 15)]! >= C[p + 1]! ? C[p + 2]! : pc + 1; continue; }
        case 0x7e: { pc = L[((w >>> 12) & 15)]! >= L[((w >>> 16) & 15)]! ? C[p + 2]! : pc + 1; continue; }
        case 0xc6: { pc = L[((w >>> 12) & 15)]! < C[p + 1]! ? C[p + 2]! : pc + 1; continue; }
        case 0xce: { pc = L[((w >>> 12) & 15)]! < L[((w >>> 16) & 15)]! ? C[p + 2]! : pc + 1; continue; }
        case 0xd6: { pc = L[((w >>> 12) & 15)]! <= C[p + 1]! ? C[p + 2]! : pc + 1; continue; }
        case 0xde: { pc = L[((w >>> 12) & 15)]! <= L[((w >>> 16) & 15)]! ? C[p + 2]! : pc + 1; continue; }

        // ---------------------------------------------------------------- loads
        // Inline fast path: a live plain region and an access inside it; anything else
        // (context fields, faults) goes through AddressSpace.resolve in slowLoad/slowStore,
        // which faults precisely. The offset is computed in int32: it wraps only for low
        // words far outside any region, and then lands above MAX_REGION_SIZE or below 0.
        case 0x11c /* LDDW */: { const d = ((w >>> 12) & 15); L[d] = C[p + 1]!; H[d] = code.imm2[pc]!; pc += 2; continue; }
        case 0x61: { const s = ((w >>> 16) & 15), d = ((w >>> 12) & 15); const hs = H[s]!; const r = T[hs & FAST_ID_MASK]; const o = (L[s]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hs && o >= 0 && o + 4 <= r.size && r.context === null) { L[d] = r.view.getInt32(o, true); H[d] = 0; } else this.slowLoad(pc, s, d, C[p + 2]!, 4, false); pc++; continue; }
        case 0x69: { const s = ((w >>> 16) & 15), d = ((w >>> 12) & 15); const hs = H[s]!; const r = T[hs & FAST_ID_MASK]; const o = (L[s]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hs && o >= 0 && o + 2 <= r.size && r.context === null) { L[d] = r.view.getUint16(o, true); H[d] = 0; } else this.slowLoad(pc, s, d, C[p + 2]!, 2, false); pc++; continue; }
        case 0x71: { const s = ((w >>> 16) & 15), d = ((w >>> 12) & 15); const hs = H[s]!; const r = T[hs & FAST_ID_MASK]; const o = (L[s]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hs && o >= 0 && o + 1 <= r.size && r.context === null) { L[d] = r.bytes[o]!; H[d] = 0; } else this.slowLoad(pc, s, d, C[p + 2]!, 1, false); pc++; continue; }
        case 0x79: { const s = ((w >>> 16) & 15), d = ((w >>> 12) & 15); const hs = H[s]!; const r = T[hs & FAST_ID_MASK]; const o = (L[s]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hs && o >= 0 && o + 8 <= r.size && r.context === null) { const v = r.view; L[d] = v.getInt32(o, true); H[d] = v.getInt32(o + 4, true); } else this.slowLoad(pc, s, d, C[p + 2]!, 8, false); pc++; continue; }
        case 0x11e /* LDXSB */: { const s = ((w >>> 16) & 15), d = ((w >>> 12) & 15); const hs = H[s]!; const r = T[hs & FAST_ID_MASK]; const o = (L[s]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hs && o >= 0 && o + 1 <= r.size && r.context === null) { L[d] = r.view.getInt8(o); H[d] = L[d]! >> 31; } else this.slowLoad(pc, s, d, C[p + 2]!, 1, true); pc++; continue; }
        case 0x11f /* LDXSH */: { const s = ((w >>> 16) & 15), d = ((w >>> 12) & 15); const hs = H[s]!; const r = T[hs & FAST_ID_MASK]; const o = (L[s]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hs && o >= 0 && o + 2 <= r.size && r.context === null) { L[d] = r.view.getInt16(o, true); H[d] = L[d]! >> 31; } else this.slowLoad(pc, s, d, C[p + 2]!, 2, true); pc++; continue; }
        case 0x120 /* LDXSW */: { const s = ((w >>> 16) & 15), d = ((w >>> 12) & 15); const hs = H[s]!; const r = T[hs & FAST_ID_MASK]; const o = (L[s]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hs && o >= 0 && o + 4 <= r.size && r.context === null) { L[d] = r.view.getInt32(o, true); H[d] = L[d]! >> 31; } else this.slowLoad(pc, s, d, C[p + 2]!, 4, true); pc++; continue; }
        case 0x20: case 0x28: case 0x30: case 0x40: case 0x48: case 0x50: {
          const op = ops[pc]!;
          const size = (op & 0x18) === 0 ? 4 : (op & 0x18) === 8 ? 2 : 1;
          if (this.legacyLoad(pc, size, (op & 0xe0) === 0x40)) { pc++; continue; }
          L[0] = 0; H[0] = 0;
          const next = this.popFrame(base);
          if (next < 0) { this.remaining = left; return; }
          pc = next; prog = this.current; code = prog.code; ops = code.ops; C = code.words;
          continue;
        }

        // ---------------------------------------------------------------- stores
        case 0x62: { const d = ((w >>> 12) & 15); const vl = C[p + 1]!, vh = vl >> 31; const hd = H[d]!; const r = T[hd & FAST_ID_MASK]; const o = (L[d]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hd && o >= 0 && o + 4 <= r.size && r.writable && r.context === null) { r.view.setInt32(o, vl, true); } else this.slowStore(pc, d, C[p + 2]!, 4, vl, vh); pc++; continue; }
        case 0x6a: { const d = ((w >>> 12) & 15); const vl = C[p + 1]!, vh = vl >> 31; const hd = H[d]!; const r = T[hd & FAST_ID_MASK]; const o = (L[d]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hd && o >= 0 && o + 2 <= r.size && r.writable && r.context === null) { r.view.setInt16(o, vl, true); } else this.slowStore(pc, d, C[p + 2]!, 2, vl, vh); pc++; continue; }
        case 0x72: { const d = ((w >>> 12) & 15); const vl = C[p + 1]!, vh = vl >> 31; const hd = H[d]!; const r = T[hd & FAST_ID_MASK]; const o = (L[d]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hd && o >= 0 && o + 1 <= r.size && r.writable && r.context === null) { r.bytes[o] = vl; } else this.slowStore(pc, d, C[p + 2]!, 1, vl, vh); pc++; continue; }
        case 0x7a: { const d = ((w >>> 12) & 15); const vl = C[p + 1]!, vh = vl >> 31; const hd = H[d]!; const r = T[hd & FAST_ID_MASK]; const o = (L[d]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hd && o >= 0 && o + 8 <= r.size && r.writable && r.context === null) { const v = r.view; v.setInt32(o, vl, true); v.setInt32(o + 4, vh, true); } else this.slowStore(pc, d, C[p + 2]!, 8, vl, vh); pc++; continue; }
        case 0x63: { const d = ((w >>> 12) & 15); const s = ((w >>> 16) & 15); const vl = L[s]!, vh = H[s]!; const hd = H[d]!; const r = T[hd & FAST_ID_MASK]; const o = (L[d]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hd && o >= 0 && o + 4 <= r.size && r.writable && r.context === null) { r.view.setInt32(o, vl, true); } else this.slowStore(pc, d, C[p + 2]!, 4, vl, vh); pc++; continue; }
        case 0x6b: { const d = ((w >>> 12) & 15); const s = ((w >>> 16) & 15); const vl = L[s]!, vh = H[s]!; const hd = H[d]!; const r = T[hd & FAST_ID_MASK]; const o = (L[d]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hd && o >= 0 && o + 2 <= r.size && r.writable && r.context === null) { r.view.setInt16(o, vl, true); } else this.slowStore(pc, d, C[p + 2]!, 2, vl, vh); pc++; continue; }
        case 0x73: { const d = ((w >>> 12) & 15); const s = ((w >>> 16) & 15); const vl = L[s]!, vh = H[s]!; const hd = H[d]!; const r = T[hd & FAST_ID_MASK]; const o = (L[d]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hd && o >= 0 && o + 1 <= r.size && r.writable && r.context === null) { r.bytes[o] = vl; } else this.slowStore(pc, d, C[p + 2]!, 1, vl, vh); pc++; continue; }
        case 0x7b: { const d = ((w >>> 12) & 15); const s = ((w >>> 16) & 15); const vl = L[s]!, vh = H[s]!; const hd = H[d]!; const r = T[hd & FAST_ID_MASK]; const o = (L[d]! - FAST_REGION_BASE + C[p + 2]!) | 0; if (r !== undefined && r.hi === hd && o >= 0 && o + 8 <= r.size && r.writable && r.context === null) { const v = r.view; v.setInt32(o, vl, true); v.setInt32(o + 4, vh, true); } else this.slowStore(pc, d, C[p + 2]!, 8, vl, vh); pc++; continue; }
        case 0xc3: { this.atomic(pc, 4); pc++; continue; }
        case 0xdb: { this.atomic(pc, 8); pc++; continue; }
        case 0xd3: { this.atomic(pc, 1); pc++; continue; }
        case 0xcb: { this.atomic(pc, 2); pc++; continue; }

        // ---------------------------------------------------------------- superinstructions (fusion.ts)
        // Each runs its first instruction, charges the second to the budget, then runs the second.
        case 0x130 /* MOV_ADD_X */: {
          const d = ((w >>> 12) & 15); const s = ((w >>> 16) & 15); const sl = L[s]!, sh = H[s]!; L[d] = sl; H[d] = sh;
          if (--left < 0) { this.remaining = 0; throw budgetSpent(pc + 1); }
          const r = ((C[p + 4]! >>> 16) & 15); const x = (sl >>> 0) + (L[r]! >>> 0); const bh = H[r]!; L[d] = x; H[d] = (sh + bh + (x > 0xffffffff ? 1 : 0)) | 0;
          pc += 2; continue;
        }
        case 0x138 /* COPY_LOOP_DW */: {
          if (copyLoopDw(L, H, T, C, ops, pc, left, t)) { pc = t[0]!; left = t[1]!; continue; }
          // Not a whole iteration: run the first pair alone (as MOV_ADD_X), the rest as usual.
          left = t[1]!;
          const d = ((w >>> 12) & 15); const s = ((w >>> 16) & 15); const sl = L[s]!, sh = H[s]!; L[d] = sl; H[d] = sh;
          if (--left < 0) { this.remaining = 0; throw budgetSpent(pc + 1); }
          const r = ((C[p + 4]! >>> 16) & 15); const x = (sl >>> 0) + (L[r]! >>> 0); const bh = H[r]!; L[d] = x; H[d] = (sh + bh + (x > 0xffffffff ? 1 : 0)) | 0;
          pc += 2; continue;
        }
        case 0x131 /* MOV_ADD_K */: {
          const d = ((w >>> 12) & 15); const s = ((w >>> 16) & 15); const sl = L[s]!, sh = H[s]!; L[d] = sl; H[d] = sh;
          if (--left < 0) { this.remaining = 0; throw budgetSpent(pc + 1); }
          const b = C[p + 5]!; const x = (sl >>> 0) + (b >>> 0); L[d] = x; H[d] = (sh + (b >> 31) + (x > 0xffffffff ? 1 : 0)) | 0;
          pc += 2; continue;
        }
        case 0x132 /* ADD_K_JMP_K */: {
          const d = ((w >>> 12) & 15); const b = C[p + 1]!; const x = (L[d]! >>> 0) + (b >>> 0); L[d] = x; H[d] = (H[d]! + (b >> 31) + (x > 0xffffffff ? 1 : 0)) | 0;
          if (--left < 0) { this.remaining = 0; throw budgetSpent(pc + 1); }
          const j = pc + 1; const e = ((C[p + 4]! >>> 12) & 15); const k = C[p + 5]!;
          const jo = ops[j]!;
          pc = (jo === 0x55 ? L[e] !== k || H[e] !== k >> 31 : jumpK64(jo, L[e]!, H[e]!, k)) ? C[p + 6]! : pc + 2; continue;
        }
        case 0x133 /* ADD32_K_JMP32_K */: {
          const d = ((w >>> 12) & 15); L[d] = (L[d]! + C[p + 1]!) | 0; H[d] = 0;
          if (--left < 0) { this.remaining = 0; throw budgetSpent(pc + 1); }
          const j = pc + 1;
          pc = jumpK32(ops[j]!, L[((C[p + 4]! >>> 12) & 15)]!, C[p + 5]!) ? C[p + 6]! : pc + 2; continue;
        }
        case 0x134 /* COPY_DW */: {
          const s = ((w >>> 16) & 15); const d = ((w >>> 12) & 15);
          const hs = H[s]!; const r = T[hs & FAST_ID_MASK]; const o = (L[s]! - FAST_REGION_BASE + C[p + 2]!) | 0;
          if (r !== undefined && r.hi === hs && o >= 0 && o + 8 <= r.size && r.context === null) { const v = r.view; L[d] = v.getInt32(o, true); H[d] = v.getInt32(o + 4, true); }
          else this.slowLoad(pc, s, d, C[p + 2]!, 8, false);
          if (--left < 0) { this.remaining = 0; throw budgetSpent(pc + 1); }
          const t2 = ((C[p + 4]! >>> 12) & 15);
          const hd = H[t2]!; const wr = T[hd & FAST_ID_MASK]; const o2 = (L[t2]! - FAST_REGION_BASE + C[p + 6]!) | 0;
          if (wr !== undefined && wr.hi === hd && o2 >= 0 && o2 + 8 <= wr.size && wr.writable && wr.context === null) { const v = wr.view; v.setInt32(o2, L[d]!, true); v.setInt32(o2 + 4, H[d]!, true); }
          else this.slowStore(pc + 1, t2, C[p + 6]!, 8, L[d]!, H[d]!);
          pc += 2; continue;
        }
        case 0x135 /* JEQ32_K_JEQ32_K */: {
          const x = L[((w >>> 12) & 15)]!;
          if (x === C[p + 1]) { pc = C[p + 2]!; continue; }
          if (--left < 0) { this.remaining = 0; throw budgetSpent(pc + 1); }
          pc = x === C[p + 5] ? C[p + 6]! : pc + 2; continue;
        }
        case 0x136 /* MOV32_K_JA */: {
          const d = ((w >>> 12) & 15); L[d] = C[p + 1]!; H[d] = 0;
          if (--left < 0) { this.remaining = 0; throw budgetSpent(pc + 1); }
          pc = C[p + 6]!; continue;
        }
        case 0x137 /* MOV64_K_JA */: {
          const d = ((w >>> 12) & 15); const b = C[p + 1]!; L[d] = b; H[d] = b >> 31;
          if (--left < 0) { this.remaining = 0; throw budgetSpent(pc + 1); }
          pc = C[p + 6]!; continue;
        }

        // ---------------------------------------------------------------- calls and exit
        case 0x85: {
          this.remaining = left;
          this.callHelper(code.helpers[pc]!, pc);
          left = this.remaining;
          const st = this.state;
          if (st.stopped) { this.remaining = left; return; }
          if (st.tailTarget !== undefined) {
            prog = st.tailTarget; st.tailTarget = undefined; this.current = prog;
            code = prog.code; ops = code.ops; C = code.words;
            pc = 0;
            continue;
          }
          pc++; continue;
        }
        case 0x11a /* CALL_LOCAL */: { this.pushFrame(pc, prog, C[p + 2]!); pc = C[p + 2]!; continue; }
        case 0x11b /* CALLX */: {
          this.remaining = left;
          const target = this.callByValue(pc, ((w >>> 12) & 15));
          left = this.remaining;
          if (this.state.stopped) return;
          pc = target >= 0 ? target : pc + 1;
          continue;
        }
        case 0x119 /* MAY_GOTO */: {
          const d = this.depth;
          if (this.mayGoto[d] === 0) pc = C[p + 2]!;
          else { this.mayGoto[d]--; pc++; }
          continue;
        }
        case 0x95: {
          const next = this.popFrame(base);
          if (next < 0) { this.remaining = left; return; }
          pc = next; prog = this.current; code = prog.code; ops = code.ops; C = code.words;
          continue;
        }
        case 0x11d /* LDDW_SECOND */:
          throw new VmFault('invalid_instruction', 'jump into the second slot of an lddw', pc);
        default:
          throw new VmFault('invalid_instruction', pc >= code.length ? `execution fell off the end of the program (${code.length} slots)` : `opcode 0x${(ops[pc] ?? 0).toString(16)} cannot run`, pc);
      }
    }
  }
}

/**
 * Module-local copies of memory.ts's constants for the inline memory fast path: a module
 * transformed to CommonJS (test runners, bundlers) reads imported bindings through getters.
 */
const FAST_REGION_BASE: number = REGION_BASE;
const FAST_ID_MASK: number = ID_MASK;

function budgetSpent(pc: number): VmLimitError {
  return new VmLimitError('instructions', `the run executed its budget of instructions without exiting`, pc);
}

function newState(cpu: number, legacyPacket: LegacyPacket | undefined, context: unknown): RunState {
  return { cpu, legacyPacket, context, tailCalls: 0, tailTarget: undefined, openRecords: new Set(), stopped: false, redirect: undefined, msgRedirect: undefined };
}

/**
 * Start a run with `state`, reused across runs: allocating a state and its Set per run
 * costs more than a short program's instructions.
 */
function resetState(state: RunState, cpu: number, legacyPacket: LegacyPacket | undefined, context: unknown): void {
  state.cpu = cpu;
  state.legacyPacket = legacyPacket;
  state.context = context;
  state.tailCalls = 0;
  state.tailTarget = undefined;
  // Records a faulted run left open were never submitted; a new run starts without them.
  if (state.openRecords.size > 0) state.openRecords.clear();
  state.stopped = false;
  state.redirect = undefined;
  state.msgRedirect = undefined;
}

function setReg(m: Machine, r: number, v: Pointer | bigint | number): void {
  if (typeof v === 'object') {
    m.lo[r] = v.lo;
    m.hi[r] = v.hi;
  } else {
    const u = BigInt.asUintN(64, BigInt(v));
    m.lo[r] = Number(u & 0xffffffffn);
    m.hi[r] = Number(u >> 32n);
  }
}

function lsh64(L: Int32Array, H: Int32Array, d: number, n: number): void {
  if (n === 0) return;
  if (n < 32) {
    H[d] = (H[d]! << n) | (L[d]! >>> (32 - n));
    L[d] = L[d]! << n;
  } else {
    H[d] = L[d]! << (n - 32);
    L[d] = 0;
  }
}

function rsh64(L: Int32Array, H: Int32Array, d: number, n: number): void {
  if (n === 0) return;
  if (n < 32) {
    L[d] = (L[d]! >>> n) | (H[d]! << (32 - n));
    H[d] = H[d]! >>> n;
  } else {
    L[d] = H[d]! >>> (n - 32);
    H[d] = 0;
  }
}

function arsh64(L: Int32Array, H: Int32Array, d: number, n: number): void {
  if (n === 0) return;
  if (n < 32) {
    L[d] = (L[d]! >>> n) | (H[d]! << (32 - n));
    H[d] = H[d]! >> n;
  } else {
    L[d] = H[d]! >> (n - 32);
    H[d] = H[d]! >> 31;
  }
}

/** Tail-call bookkeeping for the bpf_tail_call helper: false when the limit is reached. */
export function countTailCall(m: Machine): boolean {
  if (m.state.tailCalls >= MAX_TAIL_CALL_CNT) return false;
  m.state.tailCalls++;
  return true;
}
