/**
 * The backend-neutral interfaces. `src/kernel` (the Linux backend) and `src/vm` (bpfkit's
 * own runtime) each implement them, so code and tests written against these run on both.
 *
 * Element operations are synchronous on purpose: a kernel map operation is one short
 * syscall, and a promise per lookup would cost more than the lookup itself. Keys and
 * values are raw bytes here; typed views (through BTF) are layered on top.
 */

/** Which backend runs the objects. */
export type BackendName = 'kernel' | 'vm';

/** A map, in the kernel or in the vm. */
export interface BpfMap extends Disposable {
  readonly name: string;
  /** `enum bpf_map_type` value. */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /**
   * Bytes of one value as user space sees it: `valueSize`, or for per-CPU maps
   * `roundUp(valueSize, 8) * possibleCpus`.
   */
  readonly userValueSize: number;

  /** The value for `key`, or undefined if there is none. */
  lookup(key: Uint8Array): Uint8Array | undefined;
  /** Store `value` at `key`. `flags`: UpdateFlags ANY (default), NOEXIST, EXIST, LOCK. */
  update(key: Uint8Array, value: Uint8Array, flags?: number): void;
  /** Remove `key`; false when it was not there. */
  delete(key: Uint8Array): boolean;
  /** Remove and return (queue/stack pop when key is empty). */
  lookupAndDelete(key: Uint8Array): Uint8Array | undefined;
  /** The key after `key` (the first key when undefined), or undefined at the end. */
  nextKey(key?: Uint8Array): Uint8Array | undefined;
  /** Every key, in the map's own order. */
  keys(): IterableIterator<Uint8Array>;
  /** Every (key, value) pair. */
  entries(): IterableIterator<[Uint8Array, Uint8Array]>;
  close(): void;
}

/** Options for running a program once (or `repeat` times) on given input. */
export interface TestRunOptions {
  /** Packet data (skb/xdp programs). */
  data?: Uint8Array;
  /** Context in (e.g. a `struct __sk_buff` or `struct xdp_md`). */
  ctx?: Uint8Array;
  /** Run this many times (default 1); `durationNs` is the mean. */
  repeat?: number;
  /** Room for output data; default: input length + 256. */
  dataSizeOut?: number;
  /** Room for output context; default: ctx length. */
  ctxSizeOut?: number;
  /** BPF_F_TEST_* flags. */
  flags?: number;
  /** CPU to run on, with BPF_F_TEST_RUN_ON_CPU. */
  cpu?: number;
}

export interface TestRunResult {
  /** The program's return value (r0, low 32 bits as the kernel reports it). */
  retval: number;
  /** Packet data after the run. */
  data: Uint8Array;
  /** Context after the run, when one was passed. */
  ctx?: Uint8Array;
  /** Mean time of one run, in nanoseconds, as the backend measured it. */
  durationNs: number;
}

/** A loaded program. */
export interface BpfProgram extends Disposable {
  readonly name: string;
  /** `enum bpf_prog_type` value. */
  readonly type: number;
  /** Run it on given input (BPF_PROG_TEST_RUN in the kernel; the interpreter in the vm). */
  testRun(options?: TestRunOptions): TestRunResult;
  close(): void;
}

/** An attachment. Closing it detaches, unless it was pinned. */
export interface BpfLink extends Disposable {
  close(): void;
}

/** A record source: ring buffer or perf event array. */
export interface RecordReader extends AsyncIterable<Uint8Array>, Disposable {
  /** Records already waiting, without blocking. */
  drain(max?: number): Uint8Array[];
  /** Records lost (perf: lost samples; ring buffer: 0, the producer sees reserve failures). */
  readonly lost: number;
  close(): void;
}

/** Every map and program of one loaded object. */
export interface Collection extends Disposable {
  readonly backend: BackendName;
  readonly maps: ReadonlyMap<string, BpfMap>;
  readonly programs: ReadonlyMap<string, BpfProgram>;
  /** The map named `name`; throws a clear error naming the maps there are when absent. */
  map(name: string): BpfMap;
  /** The program named `name` (function name); throws naming the programs there are when absent. */
  program(name: string): BpfProgram;
  /** Release every map, program and link the collection owns. */
  close(): void;
}
