import type { RecordReader } from '../../api/types.js';

/**
 * A queue of records with an async-iterator reader: what a ring buffer or perf event
 * array delivers to user space. `push` wakes a waiting iterator.
 */
export class RecordQueue implements RecordReader {
  private readonly records: Uint8Array[] = [];
  private waiters: (() => void)[] = [];
  private closedFlag = false;
  lost = 0;

  constructor(private readonly source: { take(max: number): Uint8Array[] } | undefined = undefined) {}

  /** Deliver a record (for sources that push). */
  push(record: Uint8Array): void {
    this.records.push(record);
    this.wake();
  }

  /** Wake a waiting reader (for sources that are pulled through `take`). */
  wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  drain(max = Infinity): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (out.length < max && this.records.length > 0) out.push(this.records.shift()!);
    if (this.source !== undefined && out.length < max) out.push(...this.source.take(max - out.length));
    return out;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    while (!this.closedFlag) {
      const batch = this.drain();
      if (batch.length > 0) {
        for (const r of batch) yield r;
        continue;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  close(): void {
    this.closedFlag = true;
    this.wake();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
