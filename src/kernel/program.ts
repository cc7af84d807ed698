/**
 * A loaded kernel program, owned by its fd: run it with BPF_PROG_TEST_RUN, pin it, read
 * its kernel info.
 */
import type { BpfProgram, TestRunOptions, TestRunResult } from '../api/types.js';
import { ProgType, progTypeName } from '../uapi/index.js';
import { BpfCmd, ProgTestRunAttr } from './bpf-attr.js';
import { ProgInfoLayout } from './bpf-info.js';
import { Errno } from './errno.js';
import { BpfError } from './errors.js';
import { OwnedFd } from './fd.js';
import { readField, readString, stableBuffer } from './layout.js';
import { native } from './native.js';
import { fdById, objectInfo, openPinnedFd, pinFd } from './object-fd.js';
import { loadProgram, type ProgramLoadOptions } from './program-load.js';
import { tryBpf } from './syscall.js';

/** Extra room for output packet data beyond the input (XDP/skb programs may grow it). */
const DATA_OUT_SLACK = 256;

export class KernelProgram implements BpfProgram {
  readonly name: string;
  readonly type: number;
  /** The verifier's log, when the program was loaded with a log level. */
  readonly verifierLog: string;
  /** The attach type given at load (undefined when none was, or for programs opened by fd/pin/id). */
  readonly expectedAttachType: number | undefined;
  readonly #fd: OwnedFd;

  /** Take ownership of a program fd. Use KernelProgram.load() or the static openers. */
  constructor(fd: number, name: string, type: number, verifierLog = '', expectedAttachType?: number) {
    this.#fd = new OwnedFd(fd);
    this.name = name;
    this.type = type;
    this.verifierLog = verifierLog;
    this.expectedAttachType = expectedAttachType;
  }

  /** Load a program into the kernel. @throws VerifierError with the whole verifier log. */
  static load(options: ProgramLoadOptions): KernelProgram {
    const { fd, log } = loadProgram(options);
    try {
      const info = objectInfo(fd, ProgInfoLayout);
      const name = options.name ?? readString(ProgInfoLayout, info, 'name');
      return new KernelProgram(fd, name, readField(ProgInfoLayout, info, 'type'), log, options.expectedAttachType);
    } catch (error) {
      native().close(fd);
      throw error;
    }
  }

  /** Open the program pinned at `path`. */
  static fromPin(path: string): KernelProgram {
    return KernelProgram.fromFd(openPinnedFd(path));
  }

  /** Open a program by its kernel id. */
  static fromId(id: number): KernelProgram {
    return KernelProgram.fromFd(fdById(BpfCmd.PROG_GET_FD_BY_ID, id, { subject: `program id ${id}` }));
  }

  /** Take ownership of a program fd, reading its name and type from the kernel. */
  static fromFd(fd: number): KernelProgram {
    let info: Uint8Array;
    try {
      info = objectInfo(fd, ProgInfoLayout);
    } catch (error) {
      native().close(fd);
      throw error;
    }
    return new KernelProgram(fd, readString(ProgInfoLayout, info, 'name'), readField(ProgInfoLayout, info, 'type'));
  }

  get fd(): number {
    return this.#fd.fd;
  }

  get closed(): boolean {
    return this.#fd.closed;
  }

  /** Kernel id, tag (hex), and run statistics (when BPF_ENABLE_STATS is on). */
  info(): { id: number; tag: string; runCount: number; runTimeNs: number; verifiedInstructions: number } {
    const info = objectInfo(this.fd, ProgInfoLayout);
    const tagAt = ProgInfoLayout.offset('tag');
    return {
      id: readField(ProgInfoLayout, info, 'id'),
      tag: Buffer.from(info.subarray(tagAt, tagAt + 8)).toString('hex'),
      runCount: readField(ProgInfoLayout, info, 'run_cnt'),
      runTimeNs: readField(ProgInfoLayout, info, 'run_time_ns'),
      verifiedInstructions: readField(ProgInfoLayout, info, 'verified_insns'),
    };
  }

  /**
   * Run the program once (or `repeat` times) on `data`/`ctx` with BPF_PROG_TEST_RUN.
   * Returns r0, the data and context after the run, and the mean duration.
   *
   * Raw tracepoint and syscall programs run once on `ctx` alone: their kernel test
   * runners refuse a repeat count and a ctx-out buffer (EINVAL), so none is sent unless
   * the caller asks; a syscall program's ctx is copied back into ctx-in, and returned.
   */
  testRun(options: TestRunOptions = {}): TestRunResult {
    const runsOnceOnCtx = this.type === ProgType.RAW_TRACEPOINT || this.type === ProgType.RAW_TRACEPOINT_WRITABLE || this.type === ProgType.SYSCALL;
    if (runsOnceOnCtx) options = { repeat: 0, ctxSizeOut: 0, ...options };
    const data = options.data ?? new Uint8Array(0);
    const dataIn = stableBuffer(Math.max(data.length, 1));
    dataIn.set(data);
    const dataOutSize = options.dataSizeOut ?? (data.length > 0 ? data.length + DATA_OUT_SLACK : 0);
    const dataOut = stableBuffer(Math.max(dataOutSize, 1));
    let ctxIn: Uint8Array | null = null;
    let ctxOut: Uint8Array | null = null;
    const ctxOutSize = options.ctxSizeOut ?? options.ctx?.length ?? 0;
    if (options.ctx) {
      ctxIn = stableBuffer(Math.max(options.ctx.length, 1));
      ctxIn.set(options.ctx);
    }
    if (ctxOutSize > 0) ctxOut = stableBuffer(ctxOutSize);
    const outcome = tryBpf(BpfCmd.PROG_TEST_RUN, ProgTestRunAttr, {
      prog_fd: this.fd,
      data_in: data.length > 0 ? dataIn : null,
      data_size_in: data.length,
      data_out: dataOutSize > 0 ? dataOut : null,
      data_size_out: dataOutSize,
      ctx_in: ctxIn,
      ctx_size_in: options.ctx?.length ?? 0,
      ctx_out: ctxOut,
      ctx_size_out: ctxOutSize,
      repeat: options.repeat ?? 1,
      flags: options.flags ?? 0,
      cpu: options.cpu ?? 0,
    });
    if (outcome.result < 0) {
      const errno = -outcome.result;
      const label = progTypeName(this.type)?.toLowerCase() ?? `type ${this.type}`;
      const hint =
        errno === Errno.ENOTSUPP || errno === Errno.EOPNOTSUPP
          ? `${label} programs cannot be run with BPF_PROG_TEST_RUN`
          : errno === Errno.ENOSPC
            ? 'the output did not fit: raise dataSizeOut or ctxSizeOut'
            : errno === Errno.EINVAL
              ? `the kernel refused this input for a ${label} program (packet too short for its headers, a ctx it does not accept, or flags)`
              : undefined;
      throw new BpfError('PROG_TEST_RUN', errno, { subject: `program ${this.name} (${label})`, ...(hint && { hint }) });
    }
    const attr = outcome.attr;
    const dataLength = readField(ProgTestRunAttr, attr, 'data_size_out');
    const ctxLength = readField(ProgTestRunAttr, attr, 'ctx_size_out');
    const result: TestRunResult = {
      retval: readField(ProgTestRunAttr, attr, 'retval'),
      data: dataOutSize > 0 ? dataOut.slice(0, dataLength) : new Uint8Array(0),
      durationNs: readField(ProgTestRunAttr, attr, 'duration'),
    };
    if (ctxOut) result.ctx = ctxOut.slice(0, ctxLength);
    else if (this.type === ProgType.SYSCALL && ctxIn && options.ctx) result.ctx = ctxIn.slice(0, options.ctx.length);
    return result;
  }

  /** Pin the program at `path` on a bpffs mount. */
  pin(path: string): void {
    pinFd(this.fd, path, `program ${this.name}`);
  }

  /** Release the program (it stays loaded while pinned or attached by a link). Idempotent. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
