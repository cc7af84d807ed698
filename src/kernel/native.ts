/**
 * The native addon (native/bpfkit.c): raw syscalls only. Every call returns the kernel's
 * result or `-errno`; turning that into errors is the job of the TypeScript callers.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Anything whose bytes the addon can address: a TypedArray, DataView or ArrayBuffer. */
export type RawBuffer = ArrayBufferView | ArrayBuffer;

/** An opaque handle for an fd watched by libuv's uv_poll. */
export interface PollHandle {
  readonly __pollHandle: never;
}

export interface NativeBinding {
  /** bpf(cmd, attr, attr.byteLength). */
  bpf(cmd: number, attr: RawBuffer): number;
  /**
   * A function bpf(cmd, `attr`) bound to `attr` (the hot path: one argument per call, no
   * slot lookup). The binding keeps `attr` alive for as long as the function lives.
   */
  bindAttr(attr: RawBuffer): (cmd: number) => number;
  perfEventOpen(attr: RawBuffer, pid: number, cpu: number, groupFd: number, flags: number): number;
  /** ioctl(fd, request, arg): an integer argument, or a buffer passed by address. */
  ioctl(fd: number, request: number, arg: number | bigint | RawBuffer): number;
  close(fd: number): number;
  /** pidfd_open(pid, 0): a pidfd, or -errno. */
  pidfdOpen(pid: number): number;
  /** pidfd_getfd(pidfd, fd, 0): this process's duplicate of another's fd, or -errno (EPERM without ptrace rights). */
  pidfdGetfd(pidfd: number, fd: number): number;
  /** mmap; an external ArrayBuffer over the mapping, or -errno. */
  mmap(fd: number, length: number, prot: number, flags: number, offset: number): ArrayBuffer | number;
  /** munmap a buffer from {@link mmap}; the buffer is detached (its byteLength becomes 0). */
  munmap(buffer: ArrayBuffer): number;
  setsockopt(fd: number, level: number, name: number, value: RawBuffer): number;
  /** Returns the option's length, or -errno. */
  getsockopt(fd: number, level: number, name: number, out: RawBuffer): number;
  /** Where a buffer's bytes are (for pointer fields). The buffer must outlive the call that uses it. */
  address(buffer: RawBuffer): bigint;
  /** Watch `fd` for `events` (UV_READABLE=1, UV_WRITABLE=2...); callback(status, events). */
  pollStart(fd: number, events: number, callback: (status: number, events: number) => void): PollHandle | number;
  pollStop(handle: PollHandle): number;
}

/** Thrown when the addon was not built or cannot be loaded on this system. */
export class NativeAddonError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NativeAddonError';
  }
}

const ADDON_FILE = 'bpfkit_native.node';

/** build/Release at the package root: src/kernel and dist/kernel are both two levels down. */
function addonPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', 'build', 'Release', ADDON_FILE);
}

let binding: NativeBinding | undefined;

/**
 * The loaded addon (loaded once, on first use).
 * @throws NativeAddonError when it is missing or cannot be loaded.
 */
export function native(): NativeBinding {
  if (binding) return binding;
  if (process.platform !== 'linux') {
    throw new NativeAddonError(`bpfkit's kernel backend needs Linux (this is ${process.platform}); use the vm backend instead`);
  }
  const path = addonPath();
  if (!existsSync(path)) {
    throw new NativeAddonError(
      `bpfkit's native addon is missing (${path}). Build it with "npm ci" or "npm rebuild" ` +
        '(needs python3, make, a C compiler and Node headers).',
    );
  }
  try {
    binding = createRequire(import.meta.url)(path) as NativeBinding;
  } catch (cause) {
    throw new NativeAddonError(`bpfkit's native addon at ${path} failed to load; rebuild it with "npm rebuild"`, { cause });
  }
  return binding;
}
