/**
 * Reading a perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY): one BPF_OUTPUT perf event
 * and one mmapped ring per CPU, records taken straight from shared memory (copied when
 * they wrap), lost-sample records counted. Readiness of every CPU's fd comes from libuv.
 */
import type { RecordReader } from '../api/types.js';
import { MapType } from '../uapi/index.js';
import { possibleCpus } from './cpus.js';
import { BpfError } from './errors.js';
import { whenReadable } from './fd-readiness.js';
import { defineStruct } from './layout.js';
import type { KernelMap } from './map.js';
import { native } from './native.js';
import { openPerfEvent, PerfSoftware, PerfType } from './perf-event.js';

/** The head of `struct perf_event_mmap_page` that a reader uses. */
export const PerfMmapPage = defineStruct('perf_event_mmap_page', '', [
  ['version', 0, 'u32'],
  ['data_head', 1024, 'u64'],
  ['data_tail', 1032, 'u64'],
  ['data_offset', 1040, 'u64'],
  ['data_size', 1048, 'u64'],
]);

const PAGE_SIZE = 4096;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const PERF_SAMPLE_RAW = 1n << 10n;
const PERF_RECORD_LOST = 2;
const PERF_RECORD_SAMPLE = 9;
const PERF_EVENT_IOC_ENABLE = 0x2400;

interface CpuRing {
  cpu: number;
  fd: number;
  mapping: ArrayBuffer;
  head: BigInt64Array;
  tail: BigInt64Array;
  data: Uint8Array;
}

export interface PerfReaderOptions {
  /** Data pages per CPU ring (a power of two). Default 16 (64 KiB). */
  pagesPerCpu?: number;
  /** Wake the reader after this many records (default 1). */
  wakeupEvents?: number;
}

export class PerfEventArrayReader implements RecordReader {
  readonly #rings: CpuRing[] = [];
  #lost = 0;
  #closed = false;

  /** Open a ring per possible CPU and store their fds in `map` (which must stay open). */
  constructor(map: KernelMap, options: PerfReaderOptions = {}) {
    if (map.type !== MapType.PERF_EVENT_ARRAY) throw new TypeError(`map ${map.name} is not a perf event array`);
    const pages = options.pagesPerCpu ?? 16;
    if (pages & (pages - 1)) throw new RangeError(`pagesPerCpu must be a power of two, not ${pages}`);
    const n = native();
    try {
      const cpus = Math.min(possibleCpus(), map.maxEntries);
      for (let cpu = 0; cpu < cpus; cpu++) {
        const fd = openPerfEvent({
          type: PerfType.SOFTWARE,
          config: PerfSoftware.BPF_OUTPUT,
          sampleType: PERF_SAMPLE_RAW,
          samplePeriod: 1,
          wakeupEvents: options.wakeupEvents ?? 1,
          pid: -1,
          cpu,
        });
        const mapping = n.mmap(fd, (pages + 1) * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
        if (typeof mapping === 'number') {
          n.close(fd);
          throw new BpfError('mmap', -mapping, { subject: `perf ring of CPU ${cpu}` });
        }
        this.#rings.push({
          cpu,
          fd,
          mapping,
          head: new BigInt64Array(mapping, PerfMmapPage.offset('data_head'), 1),
          tail: new BigInt64Array(mapping, PerfMmapPage.offset('data_tail'), 1),
          data: new Uint8Array(mapping, PAGE_SIZE, pages * PAGE_SIZE),
        });
        const enabled = n.ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
        if (enabled < 0) throw new BpfError('ioctl(PERF_EVENT_IOC_ENABLE)', -enabled, { subject: `CPU ${cpu}` });
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, cpu, true);
        map.updateFd(key, fd);
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** Samples the kernel could not write because a ring was full. */
  get lost(): number {
    return this.#lost;
  }

  /** Hand every waiting sample (a copy, with its CPU) to `onRecord`; returns how many. */
  consume(onRecord: (record: Uint8Array, cpu: number) => void, max = Infinity): number {
    this.#checkOpen();
    let count = 0;
    for (const ring of this.#rings) {
      const size = ring.data.length;
      let tail = Atomics.load(ring.tail, 0);
      const head = Atomics.load(ring.head, 0);
      while (tail < head && count < max) {
        const at = Number(tail % BigInt(size));
        const header = copyOut(ring.data, at, 8);
        const view = new DataView(header.buffer);
        const type = view.getUint32(0, true);
        const recordSize = view.getUint16(6, true);
        if (type === PERF_RECORD_SAMPLE) {
          const body = copyOut(ring.data, (at + 8) % size, recordSize - 8);
          const rawSize = new DataView(body.buffer).getUint32(0, true);
          onRecord(body.slice(4, 4 + rawSize), ring.cpu);
          count++;
        } else if (type === PERF_RECORD_LOST) {
          const body = copyOut(ring.data, (at + 8) % size, 16);
          this.#lost += Number(new DataView(body.buffer).getBigUint64(8, true));
        }
        tail += BigInt(recordSize);
      }
      Atomics.store(ring.tail, 0, tail);
    }
    return count;
  }

  /** Samples already waiting (copies), without blocking. */
  drain(max = Infinity): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.consume((record) => out.push(record), max);
    return out;
  }

  /** Wait until any CPU's ring has data. */
  async wait(signal?: AbortSignal): Promise<void> {
    this.#checkOpen();
    if (this.#rings.some((r) => Atomics.load(r.tail, 0) < Atomics.load(r.head, 0))) return;
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await Promise.race(this.#rings.map((r) => whenReadable(r.fd, stop.signal)));
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stop.abort();
    }
  }

  /** Every sample as it arrives, until `signal` aborts or the reader is closed. */
  async *records(options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
    const { signal } = options;
    while (!this.#closed && !signal?.aborted) {
      const batch = this.drain();
      if (batch.length > 0) {
        yield* batch;
        continue;
      }
      try {
        await this.wait(signal);
      } catch (error) {
        if (signal?.aborted) return;
        throw error;
      }
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.records();
  }

  /** Unmap and close every CPU's event. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const n = native();
    for (const ring of this.#rings.splice(0)) {
      n.munmap(ring.mapping);
      n.close(ring.fd);
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('this perf event array reader is closed');
  }
}

/** `length` bytes from a ring at `at`, wrapping at its end. */
function copyOut(ring: Uint8Array, at: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const first = Math.min(length, ring.length - at);
  out.set(ring.subarray(at, at + first));
  if (first < length) out.set(ring.subarray(0, length - first), first);
  return out;
}
