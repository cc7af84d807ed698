/**
 * BPF_PROG_LOAD: instructions, license, BTF func/line info and CO-RE records in; a
 * program fd, or a VerifierError with the whole log, out.
 *
 * Like libbpf, the first attempt runs without a log (logging slows verification); when it
 * fails, the load is repeated with a log so the error can say why.
 */
import type { FuncInfo, LineInfo } from '../elf/object-spec.js';
import { encodeInstructions, slotCount, type Instruction } from '../isa/index.js';
import { ProgType, progTypeName, type ProgTypeName } from '../uapi/index.js';
import { BpfCmd, ProgLoadAttr } from './bpf-attr.js';
import { encodeRecords, FuncInfoRecord, LineInfoRecord } from './bpf-records.js';
import { Errno } from './errno.js';
import { BpfError, VerifierError } from './errors.js';
import { readField, stableBuffer, type FieldValue } from './layout.js';
import { sanitizeName } from './object-name.js';
import { cString } from './object-fd.js';
import { tryBpf } from './syscall.js';
import { withWholeLog } from './verifier-log.js';

/** Verifier log levels (a bit mask): 1 basic, 2 every instruction, 4 statistics. */
export const LogLevel = { NONE: 0, BASIC: 1, VERBOSE: 2, STATS: 4 } as const;

export interface ProgramLoadOptions {
  /** Program type: a ProgType value or its name ('XDP', 'SOCKET_FILTER', ...). */
  type: number | ProgTypeName;
  instructions: readonly Instruction[];
  /** Up to 15 characters; shown by bpftool and in the kernel's symbols. */
  name?: string;
  /** Default "GPL" (GPL-only helpers are refused to other licenses). */
  license?: string;
  /** The `enum bpf_attach_type` the program will be attached with, for types that need it at load. */
  expectedAttachType?: number;
  /** BPF_F_* program flags (SLEEPABLE, XDP_HAS_FRAGS, ...). */
  flags?: number;
  /** Legacy kprobe version check. */
  kernelVersion?: number;
  /**
   * Log level for a successful load (the log is then on `verifierLog`). A failed load is
   * always retried with at least level 1 so the error carries the log.
   */
  logLevel?: number;
  /** Starting size of the log buffer (grown as needed); default 64 KiB. */
  logSize?: number;
  /** Fd of the program's BTF (KernelBtf.fd), needed for func/line info. */
  btfFd?: number;
  funcInfo?: readonly FuncInfo[];
  lineInfo?: readonly LineInfo[];
  /** BTF id of the attach target (fentry/fexit/lsm/tp_btf/struct_ops/freplace). */
  attachBtfId?: number;
  /** Fd of the BTF object holding attachBtfId (module BTF), or of the target program (freplace). */
  attachFd?: number;
  /** Fds the program's instructions index (BPF_PSEUDO_MAP_IDX, kfunc BTF fds). */
  fdArray?: readonly number[];
  /** Network device to offload to. */
  ifindex?: number;
}

export interface LoadedProgram {
  fd: number;
  /** The log, when a log level was asked for. */
  log: string;
}

const DEFAULT_LOG_SIZE = 64 * 1024;
/** libbpf retries PROG_LOAD this often on EAGAIN (the verifier ran out of a transient resource). */
const EAGAIN_RETRIES = 5;

/** Load a program. @throws VerifierError (with the whole log) or BpfError. */
export function loadProgram(options: ProgramLoadOptions): LoadedProgram {
  const type = typeof options.type === 'string' ? ProgType[options.type] : options.type;
  if (type === undefined) throw new RangeError(`unknown program type ${String(options.type)}`);
  const name = sanitizeName(options.name ?? '');
  const typeLabel = progTypeName(type)?.toLowerCase() ?? `type ${type}`;
  if (options.instructions.length === 0) throw new RangeError(`program ${name || '(unnamed)'} has no instructions`);

  const insns = stableCopy(encodeInstructions(options.instructions, 'little'));
  const base: Partial<Record<keyof typeof ProgLoadAttr.fields, FieldValue>> = {
    prog_type: type,
    insn_cnt: slotCount(options.instructions),
    insns,
    license: cString(options.license ?? 'GPL'),
    kern_version: options.kernelVersion ?? 0,
    prog_flags: options.flags ?? 0,
    prog_name: name,
    prog_ifindex: options.ifindex ?? 0,
    expected_attach_type: options.expectedAttachType ?? 0,
    attach_btf_id: options.attachBtfId ?? 0,
    attach_prog_fd: options.attachFd ?? 0,
  };
  if (options.btfFd !== undefined) {
    base.prog_btf_fd = options.btfFd;
    if (options.funcInfo?.length) {
      base.func_info_rec_size = FuncInfoRecord.size;
      base.func_info = encodeRecords(FuncInfoRecord, options.funcInfo.map((f) => ({ insn_off: f.slot, type_id: f.typeId })));
      base.func_info_cnt = options.funcInfo.length;
    }
    if (options.lineInfo?.length) {
      base.line_info_rec_size = LineInfoRecord.size;
      base.line_info = encodeRecords(
        LineInfoRecord,
        options.lineInfo.map((l) => ({ insn_off: l.slot, file_name_off: l.fileNameOff, line_off: l.lineOff, line_col: l.lineCol })),
      );
      base.line_info_cnt = options.lineInfo.length;
    }
  }
  if (options.fdArray?.length) {
    const fds = stableBuffer(options.fdArray.length * 4);
    const view = new DataView(fds.buffer);
    options.fdArray.forEach((fd, i) => view.setInt32(i * 4, fd, true));
    base.fd_array = fds;
  }

  const load = (values: typeof base) => {
    let outcome = tryBpf(BpfCmd.PROG_LOAD, ProgLoadAttr, values);
    for (let i = 0; i < EAGAIN_RETRIES && outcome.result === -Errno.EAGAIN; i++) outcome = tryBpf(BpfCmd.PROG_LOAD, ProgLoadAttr, values);
    return outcome;
  };
  const withLog = (level: number) =>
    withWholeLog(options.logSize ?? DEFAULT_LOG_SIZE, (log) => {
      const outcome = load({ ...base, log_level: level, log_buf: log, log_size: log.length });
      return { result: outcome.result, trueSize: readField(ProgLoadAttr, outcome.attr, 'log_true_size') };
    });

  const level = options.logLevel ?? 0;
  if (level === 0) {
    const outcome = load(base);
    if (outcome.result >= 0) return { fd: outcome.result, log: '' };
    if (!mayHaveLog(-outcome.result)) throw loadError(-outcome.result, name, typeLabel, '');
  }
  const { result, log } = withLog(level === 0 ? 1 : level);
  if (result >= 0) return { fd: result, log: level === 0 ? '' : log };
  throw loadError(-result, name, typeLabel, log);
}

/** Errors the verifier explains in its log (others, such as EPERM, it does not reach). */
function mayHaveLog(errno: number): boolean {
  return errno === Errno.EACCES || errno === Errno.EINVAL || errno === Errno.E2BIG || errno === Errno.ENOSPC || errno === Errno.EFAULT || errno === Errno.ENOTSUPP || errno === Errno.EOPNOTSUPP || errno === Errno.ENOENT;
}

function loadError(errno: number, name: string, typeLabel: string, log: string): BpfError {
  const subject = `program ${name || '(unnamed)'} (${typeLabel})`;
  if (log.trim()) {
    const hint =
      errno === Errno.EACCES || errno === Errno.EINVAL
        ? `the verifier rejected the program${logHint(log)}`
        : errno === Errno.E2BIG
          ? 'the program is too large or too complex for the verifier (1M instructions processed, or 8 nested calls)'
          : undefined;
    return new VerifierError(errno, { subject, ...(hint && { hint }) }, log);
  }
  const hint =
    errno === Errno.EPERM
      ? process.getuid?.() === 0
        ? 'this process is root, so something beyond capabilities refuses it: kernel lockdown (/sys/kernel/security/lockdown), ' +
          'a seccomp or sandbox policy, or for programs that run through BPF trampolines (fentry/fexit/fmod_ret/lsm/freplace) a kernel that refuses them ' +
          '(a locked-down kernel does so before verifying: no verifier log)'
        : 'needs root or CAP_BPF, plus CAP_PERFMON for tracing or CAP_NET_ADMIN for networking program types'
      : errno === Errno.EINVAL
        ? 'the kernel refused the attributes before verifying: check the program type, expected attach type, flags and attach target'
        : undefined;
  return new BpfError('PROG_LOAD', errno, { subject, ...(hint && { hint }) });
}

/** Verifier messages whose cause lies outside the program text, and what to do about them. */
const LOG_HINTS: ReadonlyArray<[RegExp, string]> = [
  [
    /has no valid kptr/,
    'the map value has no kptr field where the program calls bpf_kptr_xchg: the pointer must be declared with btf_type_tag("kptr") (__kptr), which clang 14 leaves out of BTF — compile with clang-19',
  ],
  [/has to have BTF in order to use/, 'the map was created without BTF: values with bpf_spin_lock, bpf_timer or kptr fields need the BTF of their type (compile with -g)'],
];

function logHint(log: string): string {
  const found = LOG_HINTS.find(([pattern]) => pattern.test(log));
  return found ? `; ${found[1]}` : '';
}

function stableCopy(bytes: Uint8Array): Uint8Array {
  const out = stableBuffer(bytes.length);
  out.set(bytes);
  return out;
}
