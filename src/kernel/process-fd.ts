/**
 * Another process's file descriptors, taken into this one (pidfd_open + pidfd_getfd),
 * and the socket cookie of a socket fd: what a controller needs to adopt sockets it did
 * not create (the mesh agent's pickup of connections established before it).
 */
import { Errno, errnoName } from './errno.js';
import { native } from './native.js';

const SOL_SOCKET = 1;
const SO_COOKIE = 57;

/** A process handle (pidfd) from which fds can be duplicated. Close it when done. */
export class ProcessHandle implements Disposable {
  #fd: number;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** A handle on `pid`, or undefined when the process has exited. */
  static open(pid: number): ProcessHandle | undefined {
    const fd = native().pidfdOpen(pid);
    if (fd === -Errno.ESRCH) return undefined;
    if (fd < 0) throw new Error(`pidfd_open(${pid}) failed with ${errnoName(-fd)}`);
    return new ProcessHandle(fd);
  }

  /**
   * This process's duplicate of the process's `fd` (the caller closes it), or undefined
   * when the process or the fd is gone meanwhile.
   * @throws Error naming the errno otherwise (EPERM: ptrace access to the process is needed, e.g. root).
   */
  duplicate(fd: number): number | undefined {
    const r = native().pidfdGetfd(this.#fd, fd);
    if (r === -Errno.ESRCH || r === -Errno.EBADF) return undefined;
    if (r < 0) throw new Error(`pidfd_getfd(fd ${fd}) failed with ${errnoName(-r)}${r === -Errno.EPERM ? ': needs ptrace access to the process (root or CAP_SYS_PTRACE)' : ''}`);
    return r;
  }

  close(): void {
    if (this.#fd >= 0) native().close(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The kernel's cookie of socket `fd` (SO_COOKIE), or undefined when `fd` is not a socket. */
export function socketCookie(fd: number): bigint | undefined {
  const out = new Uint8Array(8);
  return native().getsockopt(fd, SOL_SOCKET, SO_COOKIE, out) === 8 ? new DataView(out.buffer).getBigUint64(0, true) : undefined;
}
