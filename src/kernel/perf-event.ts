/**
 * perf_event_open(2): `struct perf_event_attr` as data, and opening the events bpfkit
 * attaches programs to — software events (these machines have no hardware PMU) and
 * tracepoints.
 */
import { BpfError } from './errors.js';
import { defineStruct, encodeStruct } from './layout.js';
import { native } from './native.js';
import { Errno } from './errno.js';

/** `struct perf_event_attr` (PERF_ATTR_SIZE_VER8, 136 bytes). */
export const PerfEventAttr = defineStruct('perf_event_attr', '', [
  ['type', 0, 'u32'],
  ['size', 4, 'u32'],
  ['config', 8, 'u64'],
  /** Union with sample_freq. */
  ['sample_period', 16, 'u64'],
  ['sample_type', 24, 'u64'],
  ['read_format', 32, 'u64'],
  /** The bitfield word: disabled (bit 0), inherit (1), ..., freq (10), ... */
  ['flags', 40, 'u64', '-'],
  /** Union with wakeup_watermark. */
  ['wakeup_events', 48, 'u32'],
  ['bp_type', 52, 'u32'],
  /** A pointer for uprobes (the path), an integer for other PMUs. */
  ['config1', 56, 'ptr'],
  ['config2', 64, 'u64'],
  ['branch_sample_type', 72, 'u64'],
  ['sample_regs_user', 80, 'u64'],
  ['sample_stack_user', 88, 'u32'],
  ['clockid', 92, 's32'],
  ['sample_regs_intr', 96, 'u64'],
  ['aux_watermark', 104, 'u32'],
  ['sample_max_stack', 108, 'u16'],
  ['aux_sample_size', 112, 'u32'],
  ['sig_data', 120, 'u64'],
  ['config3', 128, 'u64'],
]);

/** `enum perf_type_id` */
export const PerfType = { HARDWARE: 0, SOFTWARE: 1, TRACEPOINT: 2, HW_CACHE: 3, RAW: 4, BREAKPOINT: 5 } as const;

/** `enum perf_sw_ids` */
export const PerfSoftware = {
  CPU_CLOCK: 0,
  TASK_CLOCK: 1,
  PAGE_FAULTS: 2,
  CONTEXT_SWITCHES: 3,
  CPU_MIGRATIONS: 4,
  PAGE_FAULTS_MIN: 5,
  PAGE_FAULTS_MAJ: 6,
  ALIGNMENT_FAULTS: 7,
  EMULATION_FAULTS: 8,
  DUMMY: 9,
  BPF_OUTPUT: 10,
} as const;

/** perf_event_attr.flags bits. */
export const PerfFlag = { DISABLED: 1n << 0n, INHERIT: 1n << 1n, FREQ: 1n << 10n } as const;

const PERF_FLAG_FD_CLOEXEC = 1 << 3;

export interface PerfEventOptions {
  type: number;
  config: number | bigint;
  /** Sample every n events (or n times a second with `frequency`). */
  samplePeriod?: number | bigint;
  frequency?: boolean;
  /** Process to watch (-1: every process, on `cpu`). Default -1. */
  pid?: number;
  /** CPU to watch (-1: any CPU, for one pid). Default 0. */
  cpu?: number;
  /** sample_type bits (PERF_SAMPLE_RAW for perf event arrays...). */
  sampleType?: bigint;
  /** config1: for uprobes the path of the binary (a NUL-terminated buffer, read during the call). */
  config1?: bigint | Uint8Array;
  /** config2: for uprobes the file offset. */
  config2?: bigint;
  wakeupEvents?: number;
}

/** Open a perf event; returns its fd (enabled). @throws BpfError naming the event. */
export function openPerfEvent(options: PerfEventOptions): number {
  const attr = encodeStruct(PerfEventAttr, {
    type: options.type,
    size: PerfEventAttr.size,
    config: BigInt(options.config),
    sample_period: BigInt(options.samplePeriod ?? 0),
    sample_type: options.sampleType ?? 0n,
    flags: options.frequency ? PerfFlag.FREQ : 0n,
    wakeup_events: options.wakeupEvents ?? 0,
    config1: options.config1 ?? 0n,
    config2: options.config2 ?? 0n,
  });
  const fd = native().perfEventOpen(attr, options.pid ?? -1, options.cpu ?? 0, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) {
    throw new BpfError('perf_event_open', -fd, {
      subject: `type ${options.type} config ${options.config}`,
      ...(-fd === Errno.ENOENT && { hint: 'no such event on this machine (there is no hardware PMU here: use software events)' }),
      ...(-fd === Errno.EACCES || -fd === Errno.EPERM ? { hint: 'needs root or CAP_PERFMON (and kernel.perf_event_paranoid)' } : {}),
    });
  }
  return fd;
}
