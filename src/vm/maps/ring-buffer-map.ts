import { Errno } from '../errors.js';
import { BaseMap, fail, type MapHost, type MapParams } from './base-map.js';
import { RecordQueue } from './record-queue.js';
import { roundUp8 } from './vm-map.js';

/** Header bytes the kernel puts before each record (length, flags, page offset). */
export const RINGBUF_HDR_SZ = 8;

/** One reserved record. */
export interface RingRecord {
  data: Uint8Array;
  state: 'busy' | 'committed' | 'discarded';
  /** Bytes it takes in the ring: header plus data rounded up to 8. */
  footprint: number;
}

/** `bpf_ringbuf_query` flags. */
export const RingQuery = { AVAIL_DATA: 0, RING_SIZE: 1, CONS_POS: 2, PROD_POS: 3 } as const;

/**
 * BPF_MAP_TYPE_RINGBUF: records are reserved in order, written in place, then
 * submitted or discarded; the consumer sees committed records in reservation order and
 * stops at the first one still being written, as with the kernel's ring. Space is
 * accounted as the kernel accounts it (8-byte header, 8-byte aligned data), so a reserve
 * fails when the kernel's would.
 */
export class RingBufferMap extends BaseMap {
  private readonly ring: RingRecord[] = [];
  private used = 0;
  private producerPos = 0;
  private consumerPos = 0;
  private readonly readers = new Set<RecordQueue>();

  constructor(fd: number, params: MapParams, host: MapHost) {
    super(fd, params, host);
    const size = params.maxEntries;
    if (params.keySize !== 0 || params.valueSize !== 0) fail('EINVAL', `ring buffer ${params.name}: key and value size must be 0`);
    if (size < 4096 || (size & (size - 1)) !== 0) fail('EINVAL', `ring buffer ${params.name}: max_entries ${size} must be a power of 2 and a multiple of the page size`);
  }

  /** Reserve `size` bytes; undefined when the ring lacks room (the program gets NULL). */
  reserve(size: number): RingRecord | undefined {
    const footprint = RINGBUF_HDR_SZ + roundUp8(size);
    if (size <= 0 || size > 0xfffffff || this.used + footprint > this.maxEntries) return undefined;
    const rec: RingRecord = { data: new Uint8Array(size), state: 'busy', footprint };
    this.ring.push(rec);
    this.used += footprint;
    this.producerPos += footprint;
    return rec;
  }

  /** Submit or discard a reserved record. */
  commit(rec: RingRecord, discard: boolean): void {
    rec.state = discard ? 'discarded' : 'committed';
    for (const r of this.readers) r.wake();
  }

  /** Committed records from the front, freeing their space (discarded ones are skipped). */
  take(max: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (this.ring.length > 0 && out.length < max) {
      const rec = this.ring[0]!;
      if (rec.state === 'busy') break;
      this.ring.shift();
      this.used -= rec.footprint;
      this.consumerPos += rec.footprint;
      if (rec.state === 'committed') out.push(rec.data);
    }
    return out;
  }

  /** bpf_ringbuf_query. */
  query(flag: number): number {
    switch (flag) {
      case RingQuery.AVAIL_DATA:
        return this.producerPos - this.consumerPos;
      case RingQuery.RING_SIZE:
        return this.maxEntries;
      case RingQuery.CONS_POS:
        return this.consumerPos;
      case RingQuery.PROD_POS:
        return this.producerPos;
      default:
        return 0;
    }
  }

  /** A reader of committed records (the kernel's epoll-driven consumer). */
  reader(): RecordQueue {
    const q = new RecordQueue(this);
    this.readers.add(q);
    const close = q.close.bind(q);
    q.close = () => {
      this.readers.delete(q);
      close();
    };
    return q;
  }

  lookupRef(): Uint8Array | undefined {
    return undefined;
  }
  updateElem(): number {
    return -Errno.EINVAL;
  }
  deleteElem(): number {
    return -Errno.EINVAL;
  }
  nextKey(): Uint8Array | undefined {
    return undefined;
  }
  override lookup(): Uint8Array | undefined {
    fail('EINVAL', `ring buffer ${this.name} has no elements to look up; read it with reader()`);
  }
  override update(): void {
    fail('EINVAL', `ring buffer ${this.name} cannot be updated from user space`);
  }
  override *keys(): IterableIterator<Uint8Array> {}
}
