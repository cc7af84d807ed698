/**
 * bpf() through the addon, with attrs encoded from the layouts in bpf-attr.ts. The
 * `try` form returns -errno for callers that treat some errors as answers (ENOENT on a
 * lookup); the plain form throws a typed BpfError.
 */
import { bpfCmdName } from './bpf-attr.js';
import { Errno } from './errno.js';
import { BpfError, type ErrorContext } from './errors.js';
import { encodeStruct, type FieldValue, type StructLayout } from './layout.js';
import { native } from './native.js';

export interface SyscallOutcome {
  /** The syscall's return value (an fd, 0, ...) or -errno. */
  result: number;
  /** The attr bytes after the call, for output fields. */
  attr: Uint8Array;
}

/** bpf(cmd, attr) with `values` encoded by `layout`; returns -errno instead of throwing. */
export function tryBpf<N extends string>(cmd: number, layout: StructLayout<N>, values: Partial<Record<N, FieldValue>>): SyscallOutcome {
  const attr = encodeStruct(layout, values);
  const bpf = native().bpf;
  let result: number;
  // A signal can interrupt a long call (a big map or a verification); the kernel asks for a retry.
  do result = bpf(cmd, attr);
  while (result === -Errno.EINTR);
  return { result, attr };
}

/** bpf(cmd, attr); throws BpfError (with `context` for the message) when it fails. */
export function bpf<N extends string>(
  cmd: number,
  layout: StructLayout<N>,
  values: Partial<Record<N, FieldValue>>,
  context?: ErrorContext,
): SyscallOutcome {
  const outcome = tryBpf(cmd, layout, values);
  if (outcome.result < 0) throw new BpfError(bpfCmdName(cmd), -outcome.result, context);
  return outcome;
}
