/**
 * Loading with the verifier log captured whole. The kernel (6.4+) reports the size the
 * full log needs in log_true_size even when the buffer was too small; older kernels only
 * say ENOSPC, so then the buffer doubles until the log fits. Never a truncated log.
 */
import { Errno } from './errno.js';
import { stableBuffer } from './layout.js';

/** The kernel's limit on log_size (UINT_MAX >> 2). */
const MAX_LOG_SIZE = 0x3fffffff;
/** The kernel rejects log buffers smaller than this. */
const MIN_LOG_SIZE = 128;

export interface LogAttempt {
  /** Syscall result (fd or -errno). */
  result: number;
  /** log_true_size as reported (0 on kernels that do not report it). */
  trueSize: number;
}

/** Run `attempt(buffer)` until its log fits; returns the last result and the whole log. */
export function withWholeLog(initialSize: number, attempt: (log: Uint8Array) => LogAttempt): { result: number; log: string } {
  let size = Math.min(Math.max(initialSize, MIN_LOG_SIZE), MAX_LOG_SIZE);
  for (;;) {
    const log = stableBuffer(size);
    const { result, trueSize } = attempt(log);
    const truncated = trueSize > size || (trueSize === 0 && result === -Errno.ENOSPC);
    if (result >= 0 || !truncated || size === MAX_LOG_SIZE) return { result, log: decodeLog(log) };
    size = Math.min(trueSize > size ? trueSize : size * 2, MAX_LOG_SIZE);
  }
}

function decodeLog(buffer: Uint8Array): string {
  const end = buffer.indexOf(0);
  return new TextDecoder().decode(end < 0 ? buffer : buffer.subarray(0, end));
}
