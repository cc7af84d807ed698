import type { AddressSpace, Pointer } from '../memory.js';
import { ReadOnlyByteContext } from './read-only-bytes.js';

/** Most arguments a raw tracepoint passes (MAX_BPF_FUNC_ARGS). */
export const MAX_RAW_TP_ARGS = 12;

/**
 * The context of a raw tracepoint program, `struct bpf_raw_tracepoint_args { __u64
 * args[]; }`: the tracepoint's arguments as u64s, read-only. As in the kernel
 * (`raw_tp_prog_is_valid_access`) a load must be aligned to its size and lie among the
 * 12 possible arguments; here also among the arguments given.
 */
export class RawTracepointContext extends ReadOnlyByteContext {
  constructor(memory: AddressSpace, args: Uint8Array) {
    if (args.length > MAX_RAW_TP_ARGS * 8) throw new RangeError(`a raw tracepoint has at most ${MAX_RAW_TP_ARGS} arguments (${MAX_RAW_TP_ARGS * 8} bytes), not ${args.length} bytes`);
    super(memory, args, 'context (raw tracepoint args)');
  }

  protected allows(offset: number, size: number): boolean {
    return offset >= 0 && offset < MAX_RAW_TP_ARGS * 8 && offset % size === 0;
  }
}

/** Raw tracepoint arguments as context bytes: numbers and BigInts as u64, vm pointers as they are. */
export function rawTracepointArgs(args: ReadonlyArray<bigint | number | Pointer>): Uint8Array {
  if (args.length > MAX_RAW_TP_ARGS) throw new RangeError(`a raw tracepoint has at most ${MAX_RAW_TP_ARGS} arguments`);
  const out = new Uint8Array(args.length * 8);
  const v = new DataView(out.buffer);
  args.forEach((a, i) => {
    if (typeof a === 'object') {
      v.setInt32(i * 8, a.lo, true);
      v.setInt32(i * 8 + 4, a.hi, true);
    } else v.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(a)), true);
  });
  return out;
}
