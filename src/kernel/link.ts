/**
 * A bpf_link, owned by its fd: closing it detaches the program unless the link was
 * pinned, so a process that dies leaves nothing attached. Links can be pinned, updated
 * to a new program without a gap (BPF_LINK_UPDATE), and detached while still open.
 */
import type { BpfLink } from '../api/types.js';
import { BpfCmd, LinkDetachAttr, LinkUpdateAttr } from './bpf-attr.js';
import { LinkInfoLayout } from './bpf-info.js';
import { Errno } from './errno.js';
import { BpfError } from './errors.js';
import { OwnedFd } from './fd.js';
import { readField } from './layout.js';
import { native } from './native.js';
import { fdById, objectInfo, openPinnedFd, pinFd } from './object-fd.js';
import type { KernelProgram } from './program.js';
import { tryBpf } from './syscall.js';

/** BPF_F_REPLACE: LINK_UPDATE only when the current program is `old_prog_fd`. */
const BPF_F_REPLACE = 1 << 2;

export class KernelLink implements BpfLink {
  /** What the link attaches, for messages: "cgroup sock_create /sys/fs/cgroup/x", "xdp veth0". */
  readonly description: string;
  readonly #fd: OwnedFd;

  /** Take ownership of a link fd. */
  constructor(fd: number, description: string) {
    this.#fd = new OwnedFd(fd);
    this.description = description;
  }

  /** Open the link pinned at `path`. */
  static fromPin(path: string): KernelLink {
    return new KernelLink(openPinnedFd(path), `link pinned at ${path}`);
  }

  /** Open a link by its kernel id. */
  static fromId(id: number): KernelLink {
    return new KernelLink(fdById(BpfCmd.LINK_GET_FD_BY_ID, id, { subject: `link id ${id}` }), `link id ${id}`);
  }

  get fd(): number {
    return this.#fd.fd;
  }

  get closed(): boolean {
    return this.#fd.closed;
  }

  /** The link's id, `enum bpf_link_type`, and the id of the program it runs. */
  info(): { id: number; type: number; programId: number } {
    const info = objectInfo(this.fd, LinkInfoLayout);
    return {
      id: readField(LinkInfoLayout, info, 'id'),
      type: readField(LinkInfoLayout, info, 'type'),
      programId: readField(LinkInfoLayout, info, 'prog_id'),
    };
  }

  /** Pin the link: it then stays attached after close() and after this process exits. */
  pin(path: string): void {
    pinFd(this.fd, path, `link (${this.description})`);
  }

  /**
   * Replace the link's program atomically (no moment without a program). With `expected`,
   * only when `expected` is the program attached now.
   */
  update(program: KernelProgram, expected?: KernelProgram): void {
    const outcome = tryBpf(BpfCmd.LINK_UPDATE, LinkUpdateAttr, {
      link_fd: this.fd,
      new_prog_fd: program.fd,
      flags: expected ? BPF_F_REPLACE : 0,
      old_prog_fd: expected?.fd ?? 0,
    });
    if (outcome.result < 0) {
      const errno = -outcome.result;
      const hint =
        errno === Errno.EOPNOTSUPP || errno === Errno.ENOTSUPP
          ? 'this link type cannot be updated in place; attach a new link and close this one'
          : errno === Errno.EPERM && expected
            ? 'the attached program is not the expected one'
            : errno === Errno.EINVAL
              ? 'the new program must have the same type and expected attach type'
              : undefined;
      throw new BpfError('LINK_UPDATE', errno, { subject: this.description, ...(hint && { hint }) });
    }
  }

  /** Detach now, even if the link is pinned; the fd stays open until close(). */
  detach(): void {
    const outcome = tryBpf(BpfCmd.LINK_DETACH, LinkDetachAttr, { link_fd: this.fd });
    // ENOLINK: already detached (its target, e.g. a cgroup or device, went away).
    if (outcome.result < 0 && outcome.result !== -Errno.ENOLINK) throw new BpfError('LINK_DETACH', -outcome.result, { subject: this.description });
  }

  /** Release the link: the program is detached unless the link is pinned. Idempotent. */
  close(): void {
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A link-like handle for attachments the kernel has no bpf_link for (socket filters, ...). */
export class LegacyAttachment implements BpfLink {
  readonly description: string;
  #detach: (() => void) | undefined;

  constructor(description: string, detach: () => void) {
    this.description = description;
    this.#detach = detach;
  }

  get closed(): boolean {
    return this.#detach === undefined;
  }

  /** Detach. Idempotent. */
  close(): void {
    const detach = this.#detach;
    this.#detach = undefined;
    detach?.();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Close a raw fd (helpers that opened a target only for the attach call). */
export function closeFd(fd: number): void {
  native().close(fd);
}
