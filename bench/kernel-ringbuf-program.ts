/**
 * The producer of bench/kernel-ringbuf.bench.ts: an XDP program that, per
 * BPF_PROG_TEST_RUN invocation, writes up to N 64-byte records into a ring buffer with
 * bpf_loop, N being the first u32 of the test packet. It writes no more than the ring
 * has room for at the start of the invocation (the producer paces itself instead of
 * failing reserves); a reserve that fails anyway is counted in `drops[0]`. Records are
 * submitted with BPF_RB_NO_WAKEUP except every `wakeupEvery`-th and the last of the
 * invocation (BPF_RB_FORCE_WAKEUP), so the producer is not dominated by wake-ups.
 * Returns (as the XDP verdict, i.e. the test run's retval) how many records it wrote.
 * Record: the loop index, eight times (u64).
 */
import { BtfBuilder } from '../src/btf/builder.js';
import { Linkage } from '../src/btf/kinds.js';
import type { FuncInfo } from '../src/btf/ext.js';
import { FP, ProgramBuilder, R0, R1, R2, R3, R4, R6, R7, reg, type Instruction } from '../src/isa/index.js';

const RECORD = 64;
/** Bytes one record takes in the ring: 8-byte header + the record, rounded to 8. */
export const RECORD_FOOTPRINT = RECORD + 8;
const BPF_FUNC_map_lookup_elem = 1;
const BPF_FUNC_ringbuf_reserve = 131;
const BPF_FUNC_ringbuf_submit = 132;
const BPF_FUNC_ringbuf_query = 134;
const BPF_FUNC_loop = 181;
const BPF_RB_NO_WAKEUP = 1;
const BPF_RB_FORCE_WAKEUP = 2;
const BPF_RB_AVAIL_DATA = 0;

/** The producer's instructions, and the BTF and func_info a bpf_loop callback needs. */
export interface ProducerProgram {
  instructions: Instruction[];
  /** BTF with the two functions' FUNC types (the kernel wants func_info for a program with a callback). */
  btf: Uint8Array;
  funcInfo: FuncInfo[];
}

export function producerProgram(ringFd: number, ringSize: number, dropsFd: number, wakeupEvery: number): ProducerProgram {
  if ((wakeupEvery & (wakeupEvery - 1)) !== 0) throw new RangeError('wakeupEvery must be a power of two');
  // Stack of the main frame, handed to the callback as its context (r2):
  //   ctx+0  last loop index (u64)   ctx+8  a reserve failed (u64, 0 or 1)
  const CTX = -16;
  const b = new ProgramBuilder();
  b.load(4, R2, R1, 0) // xdp_md->data
    .load(4, R3, R1, 4) // xdp_md->data_end
    .mov64(R4, reg(R2))
    .alu64('add', R4, 4)
    .mov64(R0, 0)
    .jump('gt', R4, reg(R3), 'exit')
    .load(4, R6, R2, 0) // records wanted
    // Room in the ring now, in records, keeping one record spare.
    .lddwPseudo(R1, 'map_fd', ringFd)
    .mov64(R2, BPF_RB_AVAIL_DATA)
    .call(BPF_FUNC_ringbuf_query)
    .mov64(R1, ringSize - RECORD_FOOTPRINT)
    .alu64('sub', R1, reg(R0))
    .jump('sgt', R1, 0, 'room')
    .mov64(R1, 0)
    .label('room')
    .alu64('div', R1, RECORD_FOOTPRINT)
    .jump('le', R6, reg(R1), 'sized')
    .mov64(R6, reg(R1))
    .label('sized')
    .mov64(R0, 0)
    .jump('eq', R6, 0, 'exit')
    .mov64(R7, reg(R6))
    .alu64('sub', R7, 1)
    .store(8, FP, CTX, reg(R7))
    .store(8, FP, CTX + 8, 0)
    .mov64(R1, reg(R6))
    .lddwFunc(R2, 'produce')
    .mov64(R3, reg(FP))
    .alu64('add', R3, CTX)
    .mov64(R4, 0)
    .call(BPF_FUNC_loop)
    // Iterations run, less the one whose reserve failed (it stopped the loop).
    .load(8, R6, FP, CTX + 8)
    .mov64(R7, reg(R0))
    .alu64('sub', R7, reg(R6))
    .jump('eq', R6, 0, 'done')
    .store(4, FP, CTX - 8, 0)
    .lddwPseudo(R1, 'map_fd', dropsFd)
    .mov64(R2, reg(FP))
    .alu64('add', R2, CTX - 8)
    .call(BPF_FUNC_map_lookup_elem)
    .jump('eq', R0, 0, 'done')
    .atomic('add', 8, R0, 0, R6)
    .label('done')
    .mov64(R0, reg(R7))
    .label('exit')
    .exit();
  const callbackSlot = b.position;
  // produce(index, ctx): reserve, fill, submit; on a failed reserve set ctx->failed and
  // stop (1). Nothing in ctx changes from one iteration to the next but that flag, so the
  // verifier's walk of the callback converges.
  b.label('produce')
    .mov64(R6, reg(R1))
    .mov64(R7, reg(R2))
    .lddwPseudo(R1, 'map_fd', ringFd)
    .mov64(R2, RECORD)
    .mov64(R3, 0)
    .call(BPF_FUNC_ringbuf_reserve)
    .jump('ne', R0, 0, 'reserved')
    .store(8, R7, 8, 1)
    .mov64(R0, 1)
    .exit()
    .label('reserved');
  for (let off = 0; off < RECORD; off += 8) b.store(8, R0, off, reg(R6));
  b.mov64(R2, BPF_RB_FORCE_WAKEUP)
    .load(8, R3, R7, 0)
    .jump('eq', R6, reg(R3), 'submit')
    .mov64(R3, reg(R6))
    .alu64('and', R3, wakeupEvery - 1)
    .jump('eq', R3, wakeupEvery - 1, 'submit')
    .mov64(R2, BPF_RB_NO_WAKEUP)
    .label('submit')
    .mov64(R1, reg(R0))
    .call(BPF_FUNC_ringbuf_submit)
    .mov64(R0, 0)
    .exit();
  const types = new BtfBuilder();
  const long = types.int('long', 8, true);
  const u64 = types.int('unsigned long', 8);
  const voidPtr = types.ptr(0);
  const mainProto = types.add({ kind: 'func_proto', name: '', type: long, params: [{ name: 'ctx', type: voidPtr }] });
  const callbackProto = types.add({ kind: 'func_proto', name: '', type: long, params: [{ name: 'index', type: u64 }, { name: 'ctx', type: voidPtr }] });
  const main = types.add({ kind: 'func', name: 'rb_producer', type: mainProto, linkage: Linkage.STATIC });
  const callback = types.add({ kind: 'func', name: 'produce', type: callbackProto, linkage: Linkage.STATIC });
  return {
    instructions: b.build(),
    btf: types.build().encode(),
    funcInfo: [
      { slot: 0, typeId: main },
      { slot: callbackSlot, typeId: callback },
    ],
  };
}
