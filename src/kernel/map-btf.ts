/**
 * Minimal BTF describing a map's key and value, for map types and value layouts that
 * the kernel only accepts with BTF: local storages (sk/inode/task/cgrp) and values that
 * hold a `struct bpf_spin_lock`, a `struct bpf_timer` or kptrs at given offsets. Built with the
 * btf layer's encoder.
 */
import { Btf } from '../btf/btf.js';
import { IntEncoding } from '../btf/kinds.js';
import { StringTable } from '../btf/strings.js';
import type { BtfType, Member } from '../btf/types.js';

/** Special kernel-managed fields inside a map value, by byte offset. */
export interface ValueFields {
  /** Offset of a `struct bpf_spin_lock` (4 bytes, 4-aligned): enables BPF_F_LOCK. */
  spinLock?: number;
  /** Offset of a `struct bpf_timer` (16 bytes, 8-aligned). */
  timer?: number;
  /**
   * Kernel object pointers (8 bytes, 8-aligned) that programs fill with bpf_kptr_xchg:
   * `struct` names the kernel type ("task_struct", "cgroup", ...), which the kernel looks
   * up by name in vmlinux BTF; `tag` is `kptr` (referenced, the default),
   * `kptr_untrusted` or `percpu_kptr`.
   */
  kptrs?: ReadonlyArray<{ offset: number; struct: string; tag?: 'kptr' | 'kptr_untrusted' | 'percpu_kptr' }>;
}

export interface MapBtf {
  bytes: Uint8Array;
  /** 0 when the map has no key (key_size 0). */
  keyTypeId: number;
  valueTypeId: number;
}

const SPIN_LOCK_SIZE = 4;
const TIMER_SIZE = 16;
const KPTR_SIZE = 8;

/** Build BTF with a `key` type of `keySize` bytes and a `value` struct of `valueSize` bytes. */
export function mapBtf(keySize: number, valueSize: number, fields: ValueFields = {}): MapBtf {
  const types: BtfType[] = [];
  const add = (t: NewType): number => {
    const id = types.length + 1;
    types.push({ ...t, id, nameOff: 0, kflag: false } as unknown as BtfType);
    return id;
  };
  const u8 = add({ kind: 'int', name: 'unsigned char', size: 1, encoding: 0, bitOffset: 0, bits: 8 });
  const u32 = add({ kind: 'int', name: 'unsigned int', size: 4, encoding: 0, bitOffset: 0, bits: 32 });
  const u64 = add({ kind: 'int', name: 'unsigned long long', size: 8, encoding: 0, bitOffset: 0, bits: 64 });
  const int = add({ kind: 'int', name: 'int', size: 4, encoding: IntEncoding.SIGNED, bitOffset: 0, bits: 32 });
  const bytesOf = (n: number): number => add({ kind: 'array', name: '', type: u8, indexType: u32, nelems: n });

  // Local storages want an i32 key; other keys are opaque bytes.
  let keyTypeId = 0;
  if (keySize === 4) keyTypeId = int;
  else if (keySize > 0) keyTypeId = add({ kind: 'struct', name: 'key', size: keySize, members: [member('bytes', bytesOf(keySize), 0)] });

  const special: Array<{ offset: number; size: number; type: number; name: string }> = [];
  if (fields.spinLock !== undefined) {
    const lock = add({ kind: 'struct', name: 'bpf_spin_lock', size: SPIN_LOCK_SIZE, members: [member('val', u32, 0)] });
    special.push({ offset: fields.spinLock, size: SPIN_LOCK_SIZE, type: lock, name: 'lock' });
  }
  if (fields.timer !== undefined) {
    const opaque = add({ kind: 'array', name: '', type: u64, indexType: u32, nelems: 2 });
    const timer = add({ kind: 'struct', name: 'bpf_timer', size: TIMER_SIZE, members: [member('__opaque', opaque, 0)] });
    special.push({ offset: fields.timer, size: TIMER_SIZE, type: timer, name: 'timer' });
  }
  for (const [i, k] of (fields.kptrs ?? []).entries()) {
    // ptr -> type_tag("kptr") -> struct NAME: the shape btf_parse_kptr wants. The struct
    // only needs its name and kind; the kernel takes its layout from vmlinux.
    const target = add({ kind: 'struct', name: k.struct, size: 0, members: [] });
    const tag = add({ kind: 'type_tag', name: k.tag ?? 'kptr', type: target });
    const ptr = add({ kind: 'ptr', name: '', type: tag });
    special.push({ offset: k.offset, size: KPTR_SIZE, type: ptr, name: `kptr${i}` });
  }
  special.sort((a, b) => a.offset - b.offset);

  // The value: opaque byte runs around the special fields.
  const members: Member[] = [];
  let at = 0;
  for (const s of special) {
    if (s.offset < at || s.offset + s.size > valueSize) {
      throw new RangeError(`value field ${s.name} at offset ${s.offset} does not fit a ${valueSize}-byte value or overlaps another`);
    }
    if (s.offset > at) members.push(member(`pad${at}`, bytesOf(s.offset - at), at));
    members.push(member(s.name, s.type, s.offset));
    at = s.offset + s.size;
  }
  if (valueSize > at) members.push(member(`pad${at}`, bytesOf(valueSize - at), at));
  const valueTypeId = add({ kind: 'struct', name: 'value', size: valueSize, members });

  const btf = new Btf({ endian: 'little', types, strings: new StringTable(new Uint8Array(1)) });
  return { bytes: btf.encode(), keyTypeId, valueTypeId };
}

/** A type before it has an id (distributes Omit over the union). */
type NewType = BtfType extends infer T ? (T extends BtfType ? Omit<T, 'id' | 'nameOff' | 'kflag'> : never) : never;

function member(name: string, type: number, byteOffset: number): Member {
  return { name, nameOff: 0, type, bitOffset: byteOffset * 8, bitfieldSize: 0 };
}
