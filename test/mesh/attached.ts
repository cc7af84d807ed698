/**
 * What is attached, asked of the kernel directly (BPF_PROG_QUERY, link ids), for the
 * tests' "nothing attached" checks.
 */
import { openSync, closeSync, constants } from 'node:fs';
import { BpfCmd, GetIdAttr, ProgQueryAttr } from '../../src/kernel/bpf-attr.js';
import { stableBuffer, readField } from '../../src/kernel/layout.js';
import { native } from '../../src/kernel/native.js';
import { tryBpf } from '../../src/kernel/syscall.js';

/** Program ids attached to `targetFd` for `attachType`. */
export function attachedPrograms(targetFd: number, attachType: number): number[] {
  const ids = new Uint32Array(stableBuffer(64 * 4).buffer);
  const r = tryBpf(BpfCmd.PROG_QUERY, ProgQueryAttr, { target_fd: targetFd, attach_type: attachType, prog_ids: ids, prog_cnt: 64 });
  if (r.result < 0) throw new Error(`PROG_QUERY failed: errno ${-r.result}`);
  return Array.from(ids.subarray(0, readField(ProgQueryAttr, r.attr, 'prog_cnt')));
}

/** Program ids attached to the cgroup directory `path` for `attachType`. */
export function cgroupPrograms(path: string, attachType: number): number[] {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    return attachedPrograms(fd, attachType);
  } finally {
    closeSync(fd);
  }
}

/** Does a kernel object with this id still exist? (cmd: LINK/PROG/MAP_GET_FD_BY_ID) */
export function objectExists(cmd: number, id: number): boolean {
  const r = tryBpf(cmd, GetIdAttr, { start_id: id });
  if (r.result >= 0) {
    native().close(r.result);
    return true;
  }
  return false;
}

export { BpfCmd };
