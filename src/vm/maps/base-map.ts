import type { BpfMap } from '../../api/types.js';
import type { MapSpec } from '../../elf/object-spec.js';
import { Errno, VmErrnoError, type ErrnoName } from '../errors.js';
import type { Region } from '../memory.js';
import { MapFlags } from '../../uapi/map-types.js';
import type { VmMap } from './vm-map.js';

/** What maps need from the runtime they live in. */
export interface MapHost {
  /** Virtual CPUs (per-CPU maps keep this many values). */
  readonly cpus: number;
  /** A value is gone: pointers programs hold to it must stop working. */
  releaseValue(bytes: Uint8Array): void;
}

/** Map parameters, as in a MapSpec. */
export type MapParams = Pick<MapSpec, 'name' | 'type' | 'keySize' | 'valueSize' | 'maxEntries' | 'flags'> & { mapExtra?: bigint; readOnly?: boolean };

/** Throw the errno the kernel would return. */
export function fail(code: ErrnoName, reason: string): never {
  throw new VmErrnoError(code, reason);
}

/** Turn a negative errno from a program-side operation into the user-side exception. */
export function check(result: number, what: string): void {
  if (result === 0) return;
  const name = (Object.keys(Errno) as ErrnoName[]).find((k) => Errno[k] === -result) ?? 'EINVAL';
  fail(name, what);
}

/**
 * Common parts of every vm map: identity, size checks, iteration through `nextKey`, and
 * user-space operations expressed through the program-side ones (so both agree).
 */
export abstract class BaseMap implements VmMap {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly cpus: number;
  readonly programWritable: boolean;
  handle: Region | undefined = undefined;
  protected closed = false;

  constructor(
    readonly fd: number,
    params: MapParams,
    protected readonly host: MapHost,
  ) {
    this.name = params.name;
    this.type = params.type;
    this.keySize = params.keySize;
    this.valueSize = params.valueSize;
    this.maxEntries = params.maxEntries;
    this.flags = params.flags;
    this.cpus = host.cpus;
    this.programWritable = !(params.readOnly ?? false) && (params.flags & MapFlags.RDONLY_PROG) === 0;
  }

  get userValueSize(): number {
    return this.valueSize;
  }

  abstract lookupRef(key: Uint8Array, cpu: number): Uint8Array | undefined;
  abstract updateElem(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number;
  abstract deleteElem(key: Uint8Array): number;
  abstract nextKey(key?: Uint8Array): Uint8Array | undefined;

  protected checkKey(key: Uint8Array): void {
    if (key.length !== this.keySize) fail('EINVAL', `map ${this.name}: key is ${key.length} bytes, the map's keys are ${this.keySize}`);
  }

  protected checkValue(value: Uint8Array): void {
    if (value.length !== this.userValueSize) fail('EINVAL', `map ${this.name}: value is ${value.length} bytes, the map's values are ${this.userValueSize}`);
  }

  protected checkFlags(flags: number): void {
    if ((flags & ~4) > 2) fail('EINVAL', `map ${this.name}: unknown update flags ${flags}`);
  }

  lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const v = this.lookupRef(key, 0);
    return v === undefined ? undefined : v.slice();
  }

  update(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkKey(key);
    this.checkValue(value);
    this.checkFlags(flags);
    check(this.updateElem(key, value, flags, -1), `map ${this.name}: update`);
  }

  delete(key: Uint8Array): boolean {
    this.checkKey(key);
    const r = this.deleteElem(key);
    if (r === -Errno.ENOENT) return false;
    check(r, `map ${this.name}: delete`);
    return true;
  }

  lookupAndDelete(key: Uint8Array): Uint8Array | undefined {
    const v = this.lookup(key);
    if (v !== undefined) this.delete(key);
    return v;
  }

  *keys(): IterableIterator<Uint8Array> {
    let k = this.nextKey(undefined);
    while (k !== undefined) {
      yield k;
      k = this.nextKey(k);
    }
  }

  *entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    for (const k of this.keys()) {
      const v = this.lookup(k);
      if (v !== undefined) yield [k, v];
    }
  }

  close(): void {
    this.closed = true;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A string key for a JS Map from key bytes (latin-1, one char per byte). */
export function keyString(key: Uint8Array): string {
  const n = key.length;
  if (n === 4) return String.fromCharCode(key[0]!, key[1]!, key[2]!, key[3]!);
  if (n <= 16) {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(key[i]!);
    return s;
  }
  return String.fromCharCode.apply(null, key as unknown as number[]);
}
