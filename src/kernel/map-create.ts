/**
 * BPF_MAP_CREATE for every map type: fills in what each type requires (map-kinds.ts),
 * builds BTF when the type or the value layout needs it, creates the inner map template
 * for maps of maps, and explains a refusal in terms of this type's rules.
 */
import { MapType, type MapTypeName } from '../uapi/index.js';
import { BpfCmd, MapCreateAttr } from './bpf-attr.js';
import { KernelBtf } from './btf-object.js';
import { possibleCpus } from './cpus.js';
import { Errno } from './errno.js';
import { BpfError } from './errors.js';
import { mapBtf, type ValueFields } from './map-btf.js';
import { mapKind, mapTypeLabel } from './map-kinds.js';
import { KernelMap } from './map.js';
import { sanitizeName } from './object-name.js';
import { tryBpf } from './syscall.js';

/** BTF to describe the map's key and value with (an object's BTF, usually). */
export interface MapBtfRef {
  /** Fd of the loaded BTF (KernelBtf.fd); the map keeps its own reference. */
  fd: number;
  keyTypeId: number;
  valueTypeId: number;
  /** For struct_ops maps: the vmlinux type of the value. */
  vmlinuxValueTypeId?: number;
}

export interface MapOptions {
  /** Map type: a MapType value or its name ('HASH', 'RINGBUF', ...). */
  type: number | MapTypeName;
  /** Up to 15 characters of [A-Za-z0-9_.]; others are replaced by '_'. */
  name?: string;
  /** Defaults to what the type requires, when it requires something. */
  keySize?: number;
  valueSize?: number;
  /** Defaults: possible CPUs for perf event arrays, 0 for local storages; otherwise required. */
  maxEntries?: number;
  /** BPF_F_* map flags; flags the type requires (e.g. NO_PREALLOC for an LPM trie) are added. */
  flags?: number;
  /** For maps of maps: the inner map, or options to create a template inner map from. */
  innerMap?: KernelMap | MapOptions;
  numaNode?: number;
  /** map_extra: bloom filter hash count (low 4 bits), arena start address. */
  mapExtra?: bigint;
  /** Network device to offload to. */
  ifindex?: number;
  /** Kernel-managed fields in the value (bpf_spin_lock, bpf_timer, kptrs): BTF is generated for them. */
  valueFields?: ValueFields;
  /** Describe key and value with this BTF instead of generated BTF. */
  btf?: MapBtfRef;
}

/** Create a map in the kernel. @throws BpfError saying which size, limit or flag the kernel refused. */
export function createMap(options: MapOptions): KernelMap {
  const type = typeof options.type === 'string' ? MapType[options.type] : options.type;
  if (type === undefined) throw new RangeError(`unknown map type ${String(options.type)}`);
  const kind = mapKind(type);
  const label = mapTypeLabel(type);
  const name = sanitizeName(options.name ?? '');

  const keySize = options.keySize ?? kind.keySize ?? required('keySize');
  const valueSize = options.valueSize ?? kind.valueSize ?? kind.valueSizes?.[0] ?? required('valueSize');
  const maxEntries = options.maxEntries ?? kind.maxEntries ?? (kind.perCpuEntries ? possibleCpus() : required('maxEntries'));
  const flags = (options.flags ?? 0) | (kind.requiredFlags ?? 0);
  if (kind.keySize !== undefined && keySize !== kind.keySize) {
    throw new RangeError(`${label} maps need keySize ${kind.keySize}, not ${keySize}`);
  }
  if (kind.valueSizes && !kind.valueSizes.includes(valueSize)) {
    throw new RangeError(`${label} maps need valueSize ${kind.valueSizes.join(' or ')}, not ${valueSize}`);
  }
  if (kind.needsInnerMap && !options.innerMap) throw new TypeError(`${label} maps need an innerMap (a map or map options)`);

  const disposables: Disposable[] = [];
  try {
    let innerFd = 0;
    if (options.innerMap) {
      const inner = options.innerMap instanceof KernelMap ? options.innerMap : createMap(options.innerMap);
      if (!(options.innerMap instanceof KernelMap)) disposables.push(inner);
      innerFd = inner.fd;
    }

    let btf = options.btf;
    if (!btf && (kind.needsBtf || options.valueFields)) {
      const generated = mapBtf(keySize, valueSize, options.valueFields);
      const loaded = KernelBtf.load(generated.bytes);
      disposables.push(loaded);
      btf = { fd: loaded.fd, keyTypeId: generated.keyTypeId, valueTypeId: generated.valueTypeId };
    }

    const outcome = tryBpf(BpfCmd.MAP_CREATE, MapCreateAttr, {
      map_type: type,
      key_size: keySize,
      value_size: valueSize,
      max_entries: maxEntries,
      map_flags: flags,
      inner_map_fd: innerFd,
      numa_node: options.numaNode ?? 0,
      map_name: name,
      map_ifindex: options.ifindex ?? 0,
      btf_fd: btf?.fd ?? 0,
      btf_key_type_id: btf?.keyTypeId ?? 0,
      btf_value_type_id: btf?.valueTypeId ?? 0,
      btf_vmlinux_value_type_id: btf?.vmlinuxValueTypeId ?? 0,
      map_extra: options.mapExtra ?? 0n,
    });
    if (outcome.result < 0) {
      const shape = `key ${keySize}, value ${valueSize}, max_entries ${maxEntries}, flags 0x${flags.toString(16)}`;
      throw new BpfError('MAP_CREATE', -outcome.result, {
        subject: `"${name}" (${label}; ${shape})`,
        ...createHint(-outcome.result, type, label),
      });
    }
    return new KernelMap(outcome.result, { name, type, keySize, valueSize, maxEntries, flags });
  } finally {
    // The map holds its own references to the inner map template and the BTF.
    for (const d of disposables) d[Symbol.dispose]();
  }

  function required(what: string): never {
    throw new TypeError(`${label} maps need ${what}`);
  }
}

function createHint(errno: number, type: number, label: string): { hint?: string } {
  switch (errno) {
    case Errno.EINVAL:
      if (type === MapType.RINGBUF || type === MapType.USER_RINGBUF) return { hint: 'max_entries must be a power-of-two multiple of the page size (4096)' };
      if (type === MapType.LPM_TRIE) return { hint: 'an LPM trie needs keySize 4 + prefix bytes (5..260), NO_PREALLOC, and a valueSize' };
      if (type === MapType.BLOOM_FILTER) return { hint: 'a bloom filter needs keySize 0, a valueSize and max_entries > 0; mapExtra holds the hash count (0-15)' };
      if (type === MapType.STACK_TRACE) return { hint: 'a stack trace map needs a valueSize that is a multiple of 8 (8 bytes per frame)' };
      return { hint: `the kernel refused this ${label} map: check the sizes and flags for this type (some flags only apply to some types)` };
    case Errno.E2BIG:
      return { hint: 'key or value size, or max_entries, is over this map type\'s limit' };
    case Errno.ENOMEM:
      return { hint: 'not enough memory for max_entries × value size (memory cgroup limit, or RLIMIT_MEMLOCK before 5.11)' };
    case Errno.EOPNOTSUPP:
    case Errno.ENOTSUPP:
      return { hint: `this kernel does not support ${label} maps with these flags` };
    case Errno.EPERM:
      return { hint: 'needs root or CAP_BPF (some map types also need CAP_SYS_ADMIN or CAP_NET_ADMIN)' };
    default:
      return {};
  }
}
