/**
 * Operations every bpf object fd shares: pinning in bpffs, opening a pin, opening by id,
 * and reading the object's info.
 */
import { BpfCmd, bpfCmdName, GetIdAttr, ObjInfoAttr, ObjPinAttr } from './bpf-attr.js';
import { Errno } from './errno.js';
import { BpfError, type ErrorContext } from './errors.js';
import { readField, stableBuffer, type StructLayout } from './layout.js';
import { bpf, tryBpf } from './syscall.js';

/** A NUL-terminated copy of a path, in a buffer the kernel can read. */
export function cString(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  const out = stableBuffer(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Pin `fd` at `path` (which must be inside a bpffs mount, e.g. /sys/fs/bpf). */
export function pinFd(fd: number, path: string, what: string): void {
  const outcome = tryBpf(BpfCmd.OBJ_PIN, ObjPinAttr, { pathname: cString(path), bpf_fd: fd });
  if (outcome.result < 0) {
    const errno = -outcome.result;
    const hint =
      errno === Errno.EEXIST
        ? `${path} already exists: unlink it or pick another path`
        : errno === Errno.EPERM || errno === Errno.EINVAL
          ? `${path} must be on a bpffs mount (mount -t bpf bpf /sys/fs/bpf) and its directory must exist`
          : errno === Errno.ENOENT
            ? `the directory of ${path} does not exist`
            : undefined;
    throw new BpfError('OBJ_PIN', errno, { subject: `${what} at ${path}`, ...(hint && { hint }) });
  }
}

/** Open the object pinned at `path`; returns its fd. `fileFlags`: BPF_F_RDONLY / BPF_F_WRONLY. */
export function openPinnedFd(path: string, fileFlags = 0): number {
  return bpf(BpfCmd.OBJ_GET, ObjPinAttr, { pathname: cString(path), file_flags: fileFlags }, { subject: path, hint: `nothing usable is pinned at ${path}` }).result;
}

/** Open an object by id with one of the *_GET_FD_BY_ID commands. */
export function fdById(cmd: number, id: number, context: ErrorContext): number {
  return bpf(cmd, GetIdAttr, { start_id: id }, context).result;
}

/** Every id of one object kind (PROG/MAP/BTF/LINK_GET_NEXT_ID), in ascending order. */
export function allIds(cmd: number): number[] {
  const ids: number[] = [];
  let id = 0;
  for (;;) {
    const outcome = tryBpf(cmd, GetIdAttr, { start_id: id });
    if (outcome.result === -Errno.ENOENT) return ids;
    if (outcome.result < 0) throw new BpfError(bpfCmdName(cmd), -outcome.result);
    id = readField(GetIdAttr, outcome.attr, 'next_id');
    ids.push(id);
  }
}

/** OBJ_GET_INFO_BY_FD into a buffer shaped by `layout`; extra pointer fields may be pre-filled in `prefill`. */
export function objectInfo(fd: number, layout: StructLayout, prefill?: Uint8Array): Uint8Array {
  const info = prefill ?? stableBuffer(layout.size);
  bpf(BpfCmd.OBJ_GET_INFO_BY_FD, ObjInfoAttr, { bpf_fd: fd, info_len: info.length, info });
  return info;
}
