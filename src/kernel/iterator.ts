/**
 * BPF iterators (iter/task, iter/bpf_map_elem, ...): an iterator link, from which each
 * BPF_ITER_CREATE opens a fresh stream that runs the program over the kernel objects as
 * it is read. Read it whole, or as a Node stream.
 */
import { createReadStream, readSync, type ReadStream } from 'node:fs';
import { AttachType } from '../uapi/index.js';
import { BpfCmd, IterCreateAttr, LinkCreateIterAttr } from './bpf-attr.js';
import { BpfError } from './errors.js';
import { KernelLink, closeFd } from './link.js';
import type { KernelProgram } from './program.js';
import { tryBpf } from './syscall.js';

/** An iterator program attached: open() as many streams as needed while it is open. */
export class IteratorLink extends KernelLink {
  /** A new stream's fd (each stream runs the program from the start). The caller closes it. */
  openFd(): number {
    const outcome = tryBpf(BpfCmd.ITER_CREATE, IterCreateAttr, { link_fd: this.fd });
    if (outcome.result < 0) throw new BpfError('ITER_CREATE', -outcome.result, { subject: this.description });
    return outcome.result;
  }

  /** Run the iterator to its end and return everything it wrote. */
  readAll(): Buffer {
    const fd = this.openFd();
    try {
      const chunks: Buffer[] = [];
      for (;;) {
        const chunk = Buffer.allocUnsafe(64 * 1024);
        const n = readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) break;
        chunks.push(chunk.subarray(0, n));
      }
      return Buffer.concat(chunks);
    } finally {
      closeFd(fd);
    }
  }

  /** The iterator's output as a Node readable stream (which closes its fd at the end). */
  stream(): ReadStream {
    return createReadStream('', { fd: this.openFd(), autoClose: true });
  }
}

/**
 * Attach an iterator program (section "iter/<target>"). `iterInfo` is the raw
 * `union bpf_iter_link_info` for iterators that take one (a map fd, a cgroup, a task).
 */
export function attachIterator(program: KernelProgram, iterInfo?: Uint8Array): IteratorLink {
  const outcome = tryBpf(BpfCmd.LINK_CREATE, LinkCreateIterAttr, {
    prog_fd: program.fd,
    attach_type: AttachType.TRACE_ITER,
    iter_info: iterInfo ?? null,
    iter_info_len: iterInfo?.length ?? 0,
  });
  if (outcome.result < 0) throw new BpfError('LINK_CREATE', -outcome.result, { subject: `iterator ${program.name}` });
  return new IteratorLink(outcome.result, `iterator ${program.name}`);
}
