/**
 * bpf_links: an attachment owned by an fd, so a process that dies leaves nothing
 * attached unless the link was pinned. This file holds the link object itself and
 * cgroup links (BPF_LINK_CREATE with a cgroup directory fd as target).
 */
import { openSync, closeSync, constants } from 'node:fs';
import type { BpfLink } from '../api/types.js';
import { BpfCmd, LinkCreateAttr, LinkDetachAttr } from './bpf-attr.js';
import { LinkInfoLayout } from './bpf-info.js';
import { Errno } from './errno.js';
import { BpfError } from './errors.js';
import { OwnedFd } from './fd.js';
import { readField } from './layout.js';
import { fdById, objectInfo, openPinnedFd, pinFd } from './object-fd.js';
import { tryBpf } from './syscall.js';

/** ENOLINK (not in errno.ts's table): the link's target is already gone. */
const ENOLINK = 67;

/** A kernel bpf_link. Closing it detaches, unless it is pinned (then the pin keeps it). */
export class Link implements BpfLink {
  readonly #fd: OwnedFd;
  /** What it attaches, for messages ("sock_ops on /sys/fs/cgroup/x"). */
  readonly description: string;

  constructor(fd: number, description: string) {
    this.#fd = new OwnedFd(fd);
    this.description = description;
  }

  /** Open the link pinned at `path`. */
  static fromPin(path: string): Link {
    return new Link(openPinnedFd(path), `link pinned at ${path}`);
  }

  /** Open a link by its kernel id. */
  static fromId(id: number): Link {
    return new Link(fdById(BpfCmd.LINK_GET_FD_BY_ID, id, { subject: `link id ${id}` }), `link id ${id}`);
  }

  get fd(): number {
    return this.#fd.fd;
  }

  get closed(): boolean {
    return this.#fd.closed;
  }

  /** The link's kernel id, type (enum bpf_link_type) and program id. */
  info(): { id: number; type: number; progId: number } {
    const info = objectInfo(this.fd, LinkInfoLayout);
    return { id: readField(LinkInfoLayout, info, 'id'), type: readField(LinkInfoLayout, info, 'type'), progId: readField(LinkInfoLayout, info, 'prog_id') };
  }

  /** Pin at `path` on a bpffs mount: the attachment then outlives this process. */
  pin(path: string): void {
    pinFd(this.fd, path, this.description);
  }

  /**
   * Detach now, even while pinned or held open elsewhere (BPF_LINK_DETACH). The link
   * object stays valid but attaches nothing.
   */
  detach(): void {
    const outcome = tryBpf(BpfCmd.LINK_DETACH, LinkDetachAttr, { link_fd: this.fd });
    // ENOLINK: already detached (its target went away).
    if (outcome.result < 0 && outcome.result !== -ENOLINK) throw new BpfError('LINK_DETACH', -outcome.result, { subject: this.description });
  }

  /** Release the fd; detaches unless pinned. Idempotent. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** BPF_LINK_CREATE of `programFd` on `targetFd`; throws a BpfError naming `description`. */
export function createLink(programFd: number, targetFd: number, attachType: number, description: string): Link {
  const outcome = tryBpf(BpfCmd.LINK_CREATE, LinkCreateAttr, { prog_fd: programFd, target_fd: targetFd, attach_type: attachType, flags: 0 });
  if (outcome.result < 0) {
    const errno = -outcome.result;
    const hint = errno === Errno.EPERM ? 'attaching needs root (CAP_BPF and CAP_NET_ADMIN)' : errno === Errno.EINVAL ? 'this kernel cannot link this program type to this target' : undefined;
    throw new BpfError('LINK_CREATE', errno, { subject: description, ...(hint && { hint }) });
  }
  return new Link(outcome.result, description);
}

/**
 * Attach `programFd` to the cgroup v2 directory `cgroupPath` with a bpf_link
 * (e.g. AttachType.CGROUP_SOCK_OPS). The link applies to the whole subtree.
 */
export function attachCgroup(programFd: number, cgroupPath: string, attachType: number): Link {
  const dirFd = openSync(cgroupPath, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    return createLink(programFd, dirFd, attachType, `program on cgroup ${cgroupPath}`);
  } finally {
    closeSync(dirFd);
  }
}
