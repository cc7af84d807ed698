import type { AddressSpace } from '../memory.js';
import { PT_REGS_SIZE, ptRegs, type PtReg } from './pt-regs.js';
import { ReadOnlyByteContext } from './read-only-bytes.js';

/** `struct bpf_perf_event_data { bpf_user_pt_regs_t regs; __u64 sample_period; __u64 addr; }` on x86-64. */
export const PerfEventData = { regs: 0, sample_period: PT_REGS_SIZE, addr: PT_REGS_SIZE + 8 } as const;
export const PERF_EVENT_DATA_SIZE = PT_REGS_SIZE + 16;

/** `struct bpf_perf_event_value`, what bpf_perf_prog_read_value copies out. */
export interface PerfEventValue {
  counter: bigint;
  enabled: bigint;
  running: bigint;
}

/** What a perf event program sees when its event fires. */
export interface PerfEventSample {
  regs?: Partial<Record<PtReg, bigint | number>>;
  samplePeriod?: bigint | number;
  addr?: bigint | number;
  /** The event's counter (bpf_perf_prog_read_value); zero by default. */
  value?: PerfEventValue;
}

/** `struct bpf_perf_event_data` bytes of a sample. */
export function perfEventData(sample: PerfEventSample = {}): Uint8Array {
  const out = ptRegs(sample.regs, PERF_EVENT_DATA_SIZE);
  const v = new DataView(out.buffer);
  v.setBigUint64(PerfEventData.sample_period, BigInt.asUintN(64, BigInt(sample.samplePeriod ?? 0)), true);
  v.setBigUint64(PerfEventData.addr, BigInt.asUintN(64, BigInt(sample.addr ?? 0)), true);
  return out;
}

/**
 * The context of a perf event program. The kernel (`pe_prog_is_valid_access`) lets it
 * read the registers only as whole aligned u64s, and sample_period and addr also in
 * narrower aligned loads (of their low bytes first, little-endian); it converts those two
 * into loads from the sample data, which here are the bytes themselves.
 */
export class PerfEventContext extends ReadOnlyByteContext {
  constructor(
    memory: AddressSpace,
    data: Uint8Array,
    /** The counter bpf_perf_prog_read_value reports. */
    readonly value: PerfEventValue = { counter: 0n, enabled: 0n, running: 0n },
  ) {
    if (data.length !== PERF_EVENT_DATA_SIZE) throw new RangeError(`struct bpf_perf_event_data is ${PERF_EVENT_DATA_SIZE} bytes, not ${data.length}`);
    super(memory, data, 'context (struct bpf_perf_event_data)');
  }

  protected allows(offset: number, size: number): boolean {
    if (offset < 0 || offset >= PERF_EVENT_DATA_SIZE || offset % size !== 0) return false;
    return offset >= PerfEventData.sample_period || size === 8;
  }
}
