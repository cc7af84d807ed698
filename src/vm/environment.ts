/**
 * The world a vm program observes through helpers: time, randomness, the current task,
 * memory probe_read may read, and the trace log. Every part is replaceable so tests can
 * make runs deterministic.
 */

/** The task bpf_get_current_* report. */
export interface VmTask {
  pid: number;
  tgid: number;
  uid: number;
  gid: number;
  /** Up to 15 characters (TASK_COMM_LEN 16 with the NUL). */
  comm: string;
}

/** A block of memory bpf_probe_read_kernel/user may read, at a given address. */
export interface ProbeMemory {
  address: bigint;
  bytes: Uint8Array;
}

export interface VmEnvironment {
  /** Monotonic nanoseconds (bpf_ktime_get_ns). */
  nowNs(): number;
  /** A random u32 (bpf_get_prandom_u32). */
  randomU32(): number;
  /** The current task. */
  task: VmTask;
  /** Kernel memory bpf_probe_read_kernel(_str) may read. */
  kernelMemory: ProbeMemory[];
  /** User memory bpf_probe_read_user(_str) may read. */
  userMemory: ProbeMemory[];
  /** Lines written by bpf_trace_printk, as the trace pipe would show them (without the prefix). */
  traceLog: string[];
  /** Virtual CPUs (per-CPU maps hold this many values). */
  cpus: number;
}

/** A default environment: real time, Math.random, a made-up task, 4 CPUs. */
export function defaultEnvironment(overrides: Partial<VmEnvironment> = {}): VmEnvironment {
  const start = typeof performance !== 'undefined' ? performance.now() : Date.now();
  return {
    nowNs: () => Math.round(((typeof performance !== 'undefined' ? performance.now() : Date.now()) - start) * 1e6) + 1_000_000_000,
    randomU32: () => (Math.random() * 4294967296) >>> 0,
    task: { pid: 1000, tgid: 1000, uid: 0, gid: 0, comm: 'bpfkit-vm' },
    kernelMemory: [],
    userMemory: [],
    traceLog: [],
    cpus: 4,
    ...overrides,
  };
}
