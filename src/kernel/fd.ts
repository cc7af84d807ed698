/**
 * Ownership of one kernel file descriptor. Every bpfkit kernel object (map, program, link,
 * BTF) holds exactly one, closes it once, and closes it when garbage-collected unclosed,
 * so a forgotten object cannot leak a program or map for the life of the process.
 */
import { native } from './native.js';

const collected = new FinalizationRegistry<number>((fd) => {
  native().close(fd);
});

export class OwnedFd implements Disposable {
  #fd: number;

  constructor(fd: number) {
    if (!Number.isInteger(fd) || fd < 0) throw new RangeError(`not a file descriptor: ${fd}`);
    this.#fd = fd;
    collected.register(this, fd, this);
  }

  /** The descriptor number. @throws Error once closed. */
  get fd(): number {
    if (this.#fd < 0) throw new Error('this object is closed');
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Close the descriptor (idempotent). */
  close(): void {
    if (this.#fd < 0) return;
    collected.unregister(this);
    native().close(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
