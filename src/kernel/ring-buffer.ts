/**
 * Reading a BPF ring buffer (BPF_MAP_TYPE_RINGBUF) from user space, as libbpf's
 * ring_buffer__poll does: the consumer page is mapped read-write, the producer page and
 * the data area (mapped twice by the kernel, so a record never wraps) read-only. Records
 * are consumed straight from shared memory — no syscall per record — and the fd is
 * watched through libuv only when the buffer is empty.
 */
import type { RecordReader } from '../api/types.js';
import { MapType } from '../uapi/index.js';
import { BpfError } from './errors.js';
import { whenReadable } from './fd-readiness.js';
import type { KernelMap } from './map.js';
import { native } from './native.js';

const PAGE_SIZE = 4096;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
/** Record header flags (BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT). */
const BUSY = 0x80000000 | 0;
const DISCARD = 0x40000000;
const LENGTH_MASK = 0x3fffffff;
const HEADER_SIZE = 8;
/** Records read one by one between two updates of consumer_pos (each is a BigInt and a store). */
const PUBLISH_EVERY = 1024;
/**
 * Runs of records that records() copies out of the ring at once: at most this many
 * records, and this many bytes unless one record is larger. A record handed out keeps
 * its run's copy alive (at most RUN_BYTES) as long as the record is kept.
 */
const RUN_RECORDS = 1024;
const RUN_BYTES = 128 * 1024;
/**
 * Runs shorter than this are copied record by record: a new ArrayBuffer (off the V8
 * heap, with its external-memory accounting) costs about as much as a dozen small copies.
 */
const RUN_COPY_MIN = 16;

/**
 * Reads the records of a ring buffer map. A ring has one consumer position (shared with
 * the kernel), so read it through one reader at a time: readers take turns correctly,
 * but two iterating at once would see the same records.
 */
export class RingBufferReader implements RecordReader {
  readonly #fd: number;
  readonly #size: number;
  #consumerPage: ArrayBuffer | undefined;
  #dataArea: ArrayBuffer | undefined;
  /** consumer_pos: written by us. */
  readonly #consumer: BigInt64Array;
  /** producer_pos: written by the kernel. */
  readonly #producer: BigInt64Array;
  /** Record headers, read atomically (the kernel clears BUSY when a record is committed). */
  readonly #headers: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #mask: number;
  /**
   * Our consumer position: consumer_pos, or ahead of it by what #takeRecord read since it
   * last published (at most PUBLISH_EVERY records, and never while waiting).
   */
  #position: number;
  /** The run of committed records #takeRecord hands out from (ring positions), and its copy if it has one. */
  #runStart = 0;
  #runEnd = 0;
  #runCopy: ArrayBuffer | undefined;
  #unpublished = 0;
  #closed = false;

  /** Read from `map`, a RINGBUF map; the map must stay open while the reader is used. */
  constructor(map: KernelMap) {
    if (map.type !== MapType.RINGBUF) throw new TypeError(`map ${map.name} is not a ring buffer (BPF_MAP_TYPE_RINGBUF)`);
    if (map.maxEntries > 2 ** 30) throw new RangeError(`ring buffer ${map.name} is larger than 1 GiB`);
    this.#fd = map.fd;
    this.#size = map.maxEntries;
    const n = native();
    const consumer = n.mmap(this.#fd, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
    if (typeof consumer === 'number') throw new BpfError('mmap', -consumer, { subject: `ring buffer ${map.name} consumer page` });
    const data = n.mmap(this.#fd, PAGE_SIZE + 2 * this.#size, PROT_READ, MAP_SHARED, PAGE_SIZE);
    if (typeof data === 'number') {
      n.munmap(consumer);
      throw new BpfError('mmap', -data, { subject: `ring buffer ${map.name} data area` });
    }
    this.#consumerPage = consumer;
    this.#dataArea = data;
    this.#consumer = new BigInt64Array(consumer, 0, 1);
    this.#producer = new BigInt64Array(data, 0, 1);
    this.#headers = new Int32Array(data, PAGE_SIZE);
    this.#bytes = new Uint8Array(data, PAGE_SIZE);
    // The kernel makes the size a power of two, so `& mask` is the offset (ToInt32 keeps
    // the position modulo 2^32, a multiple of the size): far cheaper than `%` on a double.
    this.#mask = this.#size - 1;
    // Positions are byte counts: Numbers are exact far beyond what a ring will ever carry.
    this.#position = Number(Atomics.load(this.#consumer, 0));
  }

  /** The ring buffer reports no losses: a full buffer makes the producer's reserve fail. */
  get lost(): number {
    return 0;
  }

  /**
   * Hand every committed record to `onRecord` as a view into shared memory, valid only
   * during the call (copy it to keep it). Stops after `max` records. Returns how many
   * were read.
   */
  consume(onRecord: (record: Uint8Array) => void, max = Infinity): number {
    return this.consumeRaw((bytes, offset, length) => onRecord(bytes.subarray(offset, offset + length)), max);
  }

  /**
   * The fastest way through the ring: `onRecord(data, offset, length)` gets the whole
   * data area and where the record lies in it (valid only during the call), so no object
   * is allocated per record. Returns how many records were read.
   */
  consumeRaw(onRecord: (data: Uint8Array, offset: number, length: number) => void, max = Infinity): number {
    this.#checkOpen();
    let consumerPos = this.#synced();
    const mask = this.#mask;
    const headers = this.#headers;
    const bytes = this.#bytes;
    let count = 0;
    try {
      for (;;) {
        const producerPos = Number(Atomics.load(this.#producer, 0));
        if (consumerPos >= producerPos) break;
        let progressed = false;
        while (consumerPos < producerPos && count < max) {
          const offset = consumerPos & mask;
          const header = Atomics.load(headers, offset >> 2);
          if (header & BUSY) break; // reserved, not yet committed
          const length = header & LENGTH_MASK;
          consumerPos += (length + HEADER_SIZE + 7) & ~7;
          progressed = true;
          if (!(header & DISCARD)) {
            count++;
            onRecord(bytes, offset + HEADER_SIZE, length);
            // Free space as we go, so a producer is not held up by a long batch.
            if (count % PUBLISH_EVERY === 0) Atomics.store(this.#consumer, 0, BigInt(consumerPos));
          }
        }
        Atomics.store(this.#consumer, 0, BigInt(consumerPos));
        if (!progressed || count >= max) break;
      }
    } finally {
      this.#position = consumerPos;
      this.#publish();
    }
    return count;
  }

  /**
   * The next committed record, or undefined when there is none yet or the reader is
   * closed; for the record iterator. Records come from a run of consecutive committed
   * records found by #scan: a long run is copied out of the ring with one slice() and
   * its records are views into that copy (one object per record, no copy per record);
   * records of a short run are slice() copies of their own. Either way a record stays
   * valid however far the reader and the producer go on. The consumer position still
   * moves one record at a time, as records are handed out (what was copied but not
   * handed out stays in the ring for the next reader call): it is published every
   * PUBLISH_EVERY records and whenever this returns undefined (the caller may then
   * wait, and the producer must see all the room there is).
   */
  #takeRecord(): Uint8Array | undefined {
    if (this.#closed) return undefined;
    for (;;) {
      const position = this.#unpublished === 0 ? this.#synced() : this.#position;
      // Positions in [#runStart, #runEnd) hold committed records not yet consumed (by
      // anyone: consumer_pos has not passed them), so the copy of them is still right.
      if ((position >= this.#runEnd || position < this.#runStart) && !this.#scan(position)) break;
      const offset = position & this.#mask;
      const header = Atomics.load(this.#headers, offset >> 2);
      const length = header & LENGTH_MASK;
      this.#position = position + ((length + HEADER_SIZE + 7) & ~7);
      if (++this.#unpublished === PUBLISH_EVERY) this.#publish();
      if (!(header & DISCARD)) {
        const copy = this.#runCopy;
        if (copy !== undefined) return new Uint8Array(copy, position - this.#runStart + HEADER_SIZE, length);
        return this.#bytes.slice(offset + HEADER_SIZE, offset + HEADER_SIZE + length);
      }
    }
    this.#publish();
    return undefined;
  }

  /**
   * Find the run of committed records from `position` (at most RUN_RECORDS records and,
   * beyond the first, RUN_BYTES bytes) and copy it when it is long enough to be worth
   * a buffer of its own. Each header is read atomically before the copy is made, so the
   * copy sees every byte the producer committed. False when no record is committed.
   */
  #scan(position: number): boolean {
    const producerPos = Number(Atomics.load(this.#producer, 0));
    const mask = this.#mask;
    const headers = this.#headers;
    let end = position;
    let count = 0;
    while (end < producerPos && count < RUN_RECORDS) {
      const header = Atomics.load(headers, (end & mask) >> 2);
      if (header & BUSY) break; // reserved, not yet committed
      const next = end + (((header & LENGTH_MASK) + HEADER_SIZE + 7) & ~7);
      if (count > 0 && next - position > RUN_BYTES) break;
      end = next;
      count++;
    }
    if (count === 0) return false;
    this.#runStart = position;
    this.#runEnd = end;
    // The data area is mapped twice in a row, so a run that wraps is contiguous here.
    const offset = position & mask;
    this.#runCopy = count >= RUN_COPY_MIN ? this.#bytes.slice(offset, offset + (end - position)).buffer : undefined;
    return true;
  }

  /**
   * The consumer position. When all we read is published, consumer_pos is the truth:
   * someone else (another reader of the map, another process) may have moved it.
   */
  #synced(): number {
    if (this.#unpublished === 0) this.#position = Number(Atomics.load(this.#consumer, 0));
    return this.#position;
  }

  /** Tell the kernel how far we have read (consumer_pos), freeing the space for the producer. */
  #publish(): void {
    this.#unpublished = 0;
    if (!this.#closed) Atomics.store(this.#consumer, 0, BigInt(this.#position));
  }

  /** Records already waiting (copies), without blocking. */
  drain(max = Infinity): Uint8Array[] {
    // Each record gets a buffer of its own (so `record.buffer` is just the record).
    // slice() is one allocation and one copy; new Uint8Array + set(subarray) is three
    // objects (measured 1.4x slower for 64-byte records).
    const out: Uint8Array[] = [];
    this.consumeRaw((bytes, offset, length) => {
      out.push(bytes.slice(offset, offset + length));
    }, max);
    return out;
  }

  /** Bytes committed by the producer and not yet consumed. */
  get pending(): number {
    return Number(Atomics.load(this.#producer, 0)) - this.#synced();
  }

  /** Wait until the kernel signals new data (resolves at once when some is waiting). */
  async wait(signal?: AbortSignal): Promise<void> {
    this.#checkOpen();
    if (this.pending > 0) return;
    await whenReadable(this.#fd, signal);
  }

  /**
   * Batches of records (copies) as they arrive, one array per wake-up, until `signal`
   * aborts (the iteration then ends quietly) or the reader is closed.
   */
  async *batches(options: { signal?: AbortSignal; max?: number } = {}): AsyncGenerator<Uint8Array[]> {
    const { signal } = options;
    while (!this.#closed && !signal?.aborted) {
      const batch = this.drain(options.max ?? 4096);
      if (batch.length > 0) {
        yield batch;
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

  /**
   * Every record as it arrives, until `signal` aborts or the reader is closed (the
   * iteration then ends quietly). A record is out of the ring and stays valid for as
   * long as it is kept, but it need not own its buffer: when next() finds a run of 16 or
   * more committed records, the run (at most 1024 records, 128 KiB) is copied with one
   * slice() and each record is a view into that copy (`record.buffer` is the run's, at
   * `record.byteOffset`), so a kept record keeps its run's copy alive; records of a
   * shorter run are copies of their own. Copy a record (`record.slice()`) to keep it
   * small. A record is consumed (its space free for the producer) when next() hands it
   * out; consumer_pos is published every 1024 records and before any wait. The fd is
   * waited on only when the ring is empty.
   */
  records(options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
    return new RecordIterator(
      () => this.#takeRecord(),
      () => this.#publish(),
      (signal) => this.wait(signal),
      () => this.#closed,
      options.signal,
    );
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.records();
  }

  /** Unmap the ring. Idempotent. */
  close(): void {
    if (this.#closed) return;
    if (this.#unpublished > 0) this.#publish(); // what records() handed out is read
    this.#closed = true;
    const n = native();
    if (this.#consumerPage) n.munmap(this.#consumerPage);
    if (this.#dataArea) n.munmap(this.#dataArea);
    this.#consumerPage = this.#dataArea = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('this ring buffer reader is closed');
  }
}

type IterationResult = IteratorResult<Uint8Array, undefined>;
const DONE: IterationResult = Object.freeze({ value: undefined, done: true });

/**
 * The async iterator behind RingBufferReader.records(). An async generator costs several
 * promise turns per record (`yield*` over a batch measured about 4x slower); this one
 * answers next() with an already-resolved promise (and a result object of its own) while
 * committed records are there, and runs the slow path (wait on the fd) only when the
 * ring is empty. Calls made while a slow step is pending are queued behind it, as a
 * generator would. An abort is noticed through an 'abort' listener (removed when the
 * iteration ends), so the per-record path tests one field.
 */
class RecordIterator implements AsyncGenerator<Uint8Array, undefined> {
  /**
   * next() may take a record at once: no slow step pending, not finished, not aborted
   * (one field to test per record instead of three conditions).
   */
  #fast = true;
  #finished = false;
  /** The slow step in progress, if any. */
  #pending: Promise<IterationResult> | undefined;
  readonly #onAbort: (() => void) | undefined;

  /** `take` returns undefined when no record is committed or the reader is closed. */
  constructor(
    private readonly take: () => Uint8Array | undefined,
    private readonly publish: () => void,
    private readonly wait: (signal?: AbortSignal) => Promise<void>,
    private readonly closed: () => boolean,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (signal?.aborted) this.#fast = false;
    else if (signal) {
      // Through a WeakRef: an iterator dropped before it finished (its listener stays on
      // a long-lived signal) must not be kept alive by the signal.
      const self = new WeakRef(this);
      this.#onAbort = () => {
        const iterator = self.deref();
        if (iterator) iterator.#fast = false;
      };
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  next(): Promise<IterationResult> {
    if (this.#fast) {
      const record = this.take();
      if (record !== undefined) return Promise.resolve({ value: record, done: false });
    }
    const step: Promise<IterationResult> = this.#pending ? this.#pending.then(() => this.#slowNext(), () => this.#slowNext()) : this.#slowNext();
    this.#pending = step;
    this.#fast = false;
    const settled = () => {
      if (this.#pending !== step) return;
      this.#pending = undefined;
      this.#fast = !this.#finished && !this.signal?.aborted;
    };
    step.then(settled, settled);
    return step;
  }

  async #slowNext(): Promise<IterationResult> {
    for (;;) {
      if (this.#finished || this.signal?.aborted || this.closed()) return this.#finish();
      const record = this.take();
      if (record !== undefined) return { value: record, done: false };
      try {
        await this.wait(this.signal);
      } catch (error) {
        if (this.signal?.aborted) return this.#finish();
        this.#finish();
        throw error;
      }
    }
  }

  #finish(): IterationResult {
    if (!this.#finished && !this.closed()) this.publish();
    this.#finished = true;
    this.#fast = false;
    if (this.#onAbort) this.signal!.removeEventListener('abort', this.#onAbort);
    return DONE;
  }

  return(): Promise<IterationResult> {
    return Promise.resolve(this.#finish());
  }

  throw(error: unknown): Promise<IterationResult> {
    this.#finish();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#finish();
  }
}
