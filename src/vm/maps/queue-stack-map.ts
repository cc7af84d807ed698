import { Errno } from '../errors.js';
import { MapType } from '../../uapi/map-types.js';
import { BaseMap, check, fail, type MapHost, type MapParams } from './base-map.js';

/**
 * BPF_MAP_TYPE_QUEUE (FIFO) and STACK (LIFO): no keys; push, pop and peek. A push with
 * BPF_EXIST into a full map drops the oldest element, as the kernel does.
 */
export class QueueStackMap extends BaseMap {
  private readonly items: Uint8Array[] = [];
  private readonly lifo: boolean;

  constructor(fd: number, params: MapParams, host: MapHost) {
    super(fd, params, host);
    if (params.keySize !== 0) fail('EINVAL', `${params.type === MapType.STACK ? 'stack' : 'queue'} map ${params.name}: key size must be 0`);
    if (params.valueSize <= 0 || params.maxEntries <= 0) fail('EINVAL', `map ${params.name}: value size and max_entries must be positive`);
    this.lifo = params.type === MapType.STACK;
  }

  pushElem(value: Uint8Array, flags: number): number {
    if (flags !== 0 && flags !== 2) return -Errno.EINVAL;
    if (this.items.length >= this.maxEntries) {
      if (flags !== 2) return -Errno.E2BIG;
      this.items.shift();
    }
    this.items.push(value.slice(0, this.valueSize));
    return 0;
  }

  popElem(out: Uint8Array, remove: boolean): number {
    if (this.items.length === 0) return -Errno.ENOENT;
    const v = this.lifo ? this.items[this.items.length - 1]! : this.items[0]!;
    if (remove) {
      if (this.lifo) this.items.pop();
      else this.items.shift();
    }
    out.set(v);
    return 0;
  }

  lookupRef(): Uint8Array | undefined {
    return undefined;
  }
  updateElem(_key: Uint8Array, value: Uint8Array, flags: number): number {
    return this.pushElem(value, flags);
  }
  deleteElem(): number {
    return -Errno.EINVAL;
  }
  nextKey(): Uint8Array | undefined {
    return undefined;
  }

  /** Peek (the key must be empty). */
  override lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const out = new Uint8Array(this.valueSize);
    return this.popElem(out, false) === 0 ? out : undefined;
  }
  /** Pop (the key must be empty). */
  override lookupAndDelete(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const out = new Uint8Array(this.valueSize);
    return this.popElem(out, true) === 0 ? out : undefined;
  }
  /** Push (the key must be empty). */
  override update(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkKey(key);
    this.checkValue(value);
    check(this.pushElem(value, flags), `map ${this.name}: push`);
  }
  override *keys(): IterableIterator<Uint8Array> {}
  override *entries(): IterableIterator<[Uint8Array, Uint8Array]> {}
}
