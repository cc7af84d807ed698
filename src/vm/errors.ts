/**
 * The only errors the runtime throws while running a program. Each names where it
 * happened (the slot `pc` of the instruction) so a fault can be traced to source lines.
 */

/** What kind of rule a program broke. */
export type FaultKind =
  /** A load, store or atomic outside every region, or past the end of one. */
  | 'out_of_bounds'
  /** A store into a read-only region (context field, .rodata, a map the program may not write). */
  | 'read_only'
  /** A pointer whose region does not exist (NULL, a scalar used as a pointer, a released record). */
  | 'invalid_pointer'
  /** A context field the program type may not access at that offset and size. */
  | 'invalid_context_access'
  /** An instruction that cannot run: a jump into the middle of lddw, pc out of the program. */
  | 'invalid_instruction'
  /** A helper called with an argument the kernel would refuse (wrong map type, bad pointer). */
  | 'invalid_helper_call'
  /** A ring buffer record reserved but neither submitted nor discarded at exit. */
  | 'unreleased_reference';

/** A memory or control violation, at a precise instruction. */
export class VmFault extends Error {
  override readonly name = 'VmFault';
  constructor(
    readonly kind: FaultKind,
    /** What happened, without the location. */
    readonly reason: string,
    /** Slot index of the faulting instruction. */
    readonly pc: number,
    /** The 64-bit address accessed, for memory faults. */
    readonly address?: bigint,
    /** Name of the region the address falls in (or was nearest), for memory faults. */
    readonly region?: string,
    /** Bytes accessed, for memory faults. */
    readonly size?: number,
  ) {
    super(`pc ${pc}: ${reason}`);
  }
}

/** Which runtime limit was hit. */
export type LimitKind = 'instructions' | 'call_depth' | 'stack_size' | 'tail_calls';

/** A program exceeded a runtime limit (the kernel's verifier would have refused it). */
export class VmLimitError extends Error {
  override readonly name = 'VmLimitError';
  constructor(
    readonly limit: LimitKind,
    readonly reason: string,
    /** Slot index of the instruction at which the limit was hit. */
    readonly pc: number,
  ) {
    super(`pc ${pc}: ${reason}`);
  }
}

/** A program the vm refuses to load: malformed instruction, bad jump, unknown helper, ... */
export class VmLoadError extends Error {
  override readonly name = 'VmLoadError';
  constructor(
    readonly reason: string,
    /** Slot of the offending instruction, when there is one. */
    readonly slot?: number,
  ) {
    super(slot === undefined ? reason : `instruction ${slot}: ${reason}`);
  }
}

/** Linux errno values the maps and helpers use. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  E2BIG: 7,
  EBADF: 9,
  EFAULT: 14,
  EAGAIN: 11,
  ENOMEM: 12,
  ENXIO: 6,
  EBUSY: 16,
  EEXIST: 17,
  EACCES: 13,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  ENOTSUPP: 524,
  EOPNOTSUPP: 95,
} as const;
export type ErrnoName = keyof typeof Errno;

/** A map or program operation refused with an errno, as the kernel would refuse it. */
export class VmErrnoError extends Error {
  override readonly name = 'VmErrnoError';
  constructor(
    readonly code: ErrnoName,
    reason: string,
  ) {
    super(`${code}: ${reason}`);
  }
  /** The errno number. */
  get errno(): number {
    return Errno[this.code];
  }
}
