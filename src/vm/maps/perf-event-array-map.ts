import { Errno } from '../errors.js';
import { BaseMap, fail, type MapHost, type MapParams } from './base-map.js';
import { RecordQueue } from './record-queue.js';

/**
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY: one perf buffer per CPU. In the vm a CPU's slot is
 * "open" while a reader is attached; bpf_perf_event_output into a CPU without one fails
 * with -ENOENT, as it does in the kernel for an empty slot.
 */
export class PerfEventArrayMap extends BaseMap {
  private readonly queues = new Map<number, RecordQueue>();

  constructor(fd: number, params: MapParams, host: MapHost) {
    super(fd, params, host);
    if (params.keySize !== 4 || params.valueSize !== 4) fail('EINVAL', `perf event array ${params.name}: key and value must be 4 bytes`);
  }

  /** Attach a reader to every CPU (or the given ones). */
  reader(cpus?: number[]): RecordQueue {
    const q = new RecordQueue();
    const list = cpus ?? Array.from({ length: Math.min(this.cpus, this.maxEntries || this.cpus) }, (_, i) => i);
    for (const c of list) this.queues.set(c, q);
    const close = q.close.bind(q);
    q.close = () => {
      for (const c of list) if (this.queues.get(c) === q) this.queues.delete(c);
      close();
    };
    return q;
  }

  /** bpf_perf_event_output into `index` (a CPU). */
  output(index: number, data: Uint8Array): number {
    if (index >= Math.max(this.maxEntries, 1)) return -Errno.E2BIG;
    const q = this.queues.get(index);
    if (q === undefined) return -Errno.ENOENT;
    q.push(data.slice());
    return 0;
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
  override *keys(): IterableIterator<Uint8Array> {}
}
