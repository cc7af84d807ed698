import type { Btf } from '../btf/btf.js';
import type { CompositeType, Member } from '../btf/types.js';
import { MapType } from '../uapi/map-types.js';
import { symbolsIn } from './elf-file.js';
import { ElfError } from './errors.js';
import { datasecOf, sectionPart, type ObjectContext } from './object-context.js';
import type { MapSpec } from './object-spec.js';

/** LIBBPF_PIN_NONE / LIBBPF_PIN_BY_NAME. */
const PIN_NONE = 0;
const PIN_BY_NAME = 1;
/** BPF pointer size: `values` initialisers are arrays of 8-byte pointers. */
const BPF_PTR_SIZE = 8;

/** A BTF-defined map with where it sits in `.maps`, for resolving `values` initialisers. */
export interface BtfMapDef {
  spec: MapSpec;
  sectionIndex: number;
  /** Byte range of the map's variable in `.maps`. */
  offset: number;
  size: number;
  /** Byte offset of the `values` member inside the definition, when it has one. */
  valuesOffset?: number;
}

/**
 * Decode the BTF-defined maps of `.maps`, as libbpf's parse_btf_map_def: each VAR of the
 * `.maps` DATASEC is a struct whose members encode the definition — `__uint(name, N)`
 * is a pointer to an array of N elements, `__type(name, T)` a pointer to T, and
 * `__array(values, T)` a zero-length array of pointers to the inner map's definition
 * (maps of maps) or to a function prototype (prog arrays).
 */
export function collectBtfMaps(ctx: ObjectContext): BtfMapDef[] {
  const section = ctx.elf.sections.find((s) => ctx.roles[s.index] === 'btf-maps');
  if (!section) return [];
  const part = sectionPart(section);
  const btf = ctx.btf;
  if (!btf) throw new ElfError('BTF-defined maps need the object\'s BTF, but it has no .BTF section', part, section.offset);
  const datasec = datasecOf(ctx, '.maps');
  if (!datasec) throw new ElfError('no DATASEC .maps in BTF describes the section', part, section.offset);
  const out: BtfMapDef[] = [];
  const symbols = new Map(symbolsIn(ctx.elf, section).map((s) => [s.name, s]));
  for (const vi of datasec.vars) {
    const v = btf.typeById(vi.type);
    if (v.kind !== 'var') throw new ElfError(`DATASEC .maps entry [${vi.type}] is a ${v.kind}, not a VAR`, part, section.offset);
    const name = v.name;
    // clang leaves DATASEC offsets of global variables 0 in objects; like libbpf's
    // btf_fixup_datasec, take them from the symbol table.
    const offset = symbols.get(name)?.value ?? vi.offset;
    if (offset + vi.size > section.size) {
      throw new ElfError(`map ${name} at [${offset}, ${offset + vi.size}) lies outside the ${section.size}-byte section`, part, section.offset);
    }
    const def = btf.resolve(v.type);
    if (def.kind !== 'struct') throw new ElfError(`map ${name}: definition is a ${def.kind}, not a struct`, part, section.offset + offset);
    const parsed = parseMapDef(btf, name, def, false, `map ${name} in ${part}`, section.offset + offset);
    parsed.spec.sectionName = '.maps';
    const entry: BtfMapDef = { spec: parsed.spec, sectionIndex: section.index, offset, size: vi.size };
    if (parsed.valuesOffset !== undefined) entry.valuesOffset = parsed.valuesOffset;
    out.push(entry);
  }
  return out;
}

function parseMapDef(
  btf: Btf,
  name: string,
  def: CompositeType,
  isInner: boolean,
  part: string,
  /** File offset of the map's definition, for errors. */
  at: number,
): { spec: MapSpec; valuesOffset?: number } {
  const spec: MapSpec = { name, type: MapType.UNSPEC, keySize: 0, valueSize: 0, maxEntries: 0, flags: 0, pinning: 'none', sectionName: '.maps' };
  let valuesOffset: number | undefined;
  const fail = (what: string): never => {
    throw new ElfError(what, part, at);
  };
  def.members.forEach((m, i) => {
    switch (m.name) {
      case 'type':
        spec.type = fieldInt(btf, m, part, at);
        break;
      case 'max_entries':
        spec.maxEntries = fieldInt(btf, m, part, at);
        break;
      case 'map_flags':
        spec.flags = fieldInt(btf, m, part, at);
        break;
      case 'numa_node':
        spec.numaNode = fieldInt(btf, m, part, at);
        break;
      case 'key_size':
      case 'value_size': {
        const sz = fieldInt(btf, m, part, at);
        const key = m.name === 'key_size';
        const cur = key ? spec.keySize : spec.valueSize;
        if (cur && cur !== sz) fail(`conflicting ${m.name} ${cur} != ${sz}`);
        if (key) spec.keySize = sz;
        else spec.valueSize = sz;
        break;
      }
      case 'key':
      case 'value': {
        const t = btf.typeById(m.type);
        if (t.kind !== 'ptr') fail(`${m.name} spec is a ${t.kind}, not a pointer (use __type(${m.name}, T))`);
        const pointee = (t as { type: number }).type;
        const sz = btf.sizeof(pointee);
        const key = m.name === 'key';
        const cur = key ? spec.keySize : spec.valueSize;
        if (cur && cur !== sz) fail(`conflicting ${m.name} size ${cur} != ${sz}`);
        if (key) {
          spec.keySize = sz;
          spec.keyTypeId = pointee;
        } else {
          spec.valueSize = sz;
          spec.valueTypeId = pointee;
        }
        break;
      }
      case 'values': {
        const mapInMap = spec.type === MapType.ARRAY_OF_MAPS || spec.type === MapType.HASH_OF_MAPS;
        const progArray = spec.type === MapType.PROG_ARRAY;
        if (isInner) fail('multi-level inner maps are not supported');
        if (i !== def.members.length - 1) fail("'values' must be the last member");
        if (!mapInMap && !progArray) fail(`'values' needs a map-in-map or prog-array type, not ${spec.type}`);
        if (spec.valueSize && spec.valueSize !== 4) fail(`conflicting value size ${spec.valueSize} != 4`);
        spec.valueSize = 4;
        const arr = btf.typeById(m.type);
        if (arr.kind !== 'array' || arr.nelems !== 0) fail("'values' must be a zero-sized array");
        const ptr = btf.resolve((arr as { type: number }).type);
        if (ptr.kind !== 'ptr') fail("'values' elements must be pointers");
        const target = btf.resolve((ptr as { type: number }).type);
        valuesOffset = m.bitOffset / 8;
        if (progArray) {
          if (target.kind !== 'func_proto') fail("prog-array 'values' must point to function prototypes");
          break;
        }
        if (target.kind !== 'struct') fail("map-in-map 'values' must point to a map definition struct");
        spec.innerMap = parseMapDef(btf, `${name}.inner`, target as CompositeType, true, `inner map of ${part}`, at).spec;
        break;
      }
      case 'pinning': {
        if (isInner) fail('an inner map cannot be pinned');
        const v = fieldInt(btf, m, part, at);
        if (v !== PIN_NONE && v !== PIN_BY_NAME) fail(`invalid pinning value ${v}`);
        spec.pinning = v === PIN_BY_NAME ? 'by_name' : 'none';
        break;
      }
      case 'map_extra':
        spec.mapExtra = fieldLong(btf, m, part, at);
        break;
      default:
        fail(`unknown field '${m.name}' in the map definition`);
    }
  });
  if (spec.type === MapType.UNSPEC) fail('map type is not specified');
  const out: { spec: MapSpec; valuesOffset?: number } = { spec };
  if (valuesOffset !== undefined) out.valuesOffset = valuesOffset;
  return out;
}

/** `__uint(name, N)`: a pointer to an array of N elements. */
function fieldInt(btf: Btf, m: Member, part: string, at: number): number {
  const t = btf.resolve(m.type);
  if (t.kind !== 'ptr') throw new ElfError(`field '${m.name}' is a ${t.kind}, not a pointer to an array (use __uint)`, part, at);
  const arr = btf.typeById(t.type);
  if (arr.kind !== 'array') throw new ElfError(`field '${m.name}' points to a ${arr.kind}, not an array`, part, at);
  return arr.nelems;
}

/** `__ulong(name, N)` (an enum whose one value is N) or `__uint(name, N)`. */
function fieldLong(btf: Btf, m: Member, part: string, at: number): bigint {
  const t = btf.resolve(m.type);
  if (t.kind === 'enum' || t.kind === 'enum64') {
    const v = t.values[0];
    if (!v) throw new ElfError(`field '${m.name}' is an enum without values`, part, at);
    return BigInt.asUintN(64, v.value);
  }
  return BigInt(fieldInt(btf, m, part, at));
}

/**
 * The `values` initialisers of prog arrays and maps of maps: each relocation in
 * `.rel.maps` names the program or inner map stored at one slot (libbpf's
 * bpf_object__collect_map_relos).
 */
export function collectMapInitialisers(ctx: ObjectContext, maps: BtfMapDef[], programNames: Set<string>): void {
  const section = ctx.elf.sections.find((s) => ctx.roles[s.index] === 'btf-maps');
  if (!section) return;
  const rel = ctx.relocations.get(section.index);
  if (!rel) return;
  const part = `relocation section ${rel.section.index} (${rel.section.name})`;
  const mapNames = new Set(maps.map((m) => m.spec.name));
  const byOffset = [...maps].sort((a, b) => a.offset - b.offset);
  rel.entries.forEach((entry, i) => {
    const at = rel.section.offset + i * (rel.kind === 'rela' ? 24 : 16);
    const sym = ctx.elf.symbols[entry.symbolIndex];
    if (!sym) throw new ElfError(`entry ${i} refers to missing symbol ${entry.symbolIndex}`, part, at);
    const map = containing(byOffset, entry.offset);
    if (!map) throw new ElfError(`entry ${i} at .maps offset ${entry.offset} is inside no map definition`, part, at);
    const spec = map.spec;
    const mapInMap = spec.type === MapType.ARRAY_OF_MAPS || spec.type === MapType.HASH_OF_MAPS;
    const progArray = spec.type === MapType.PROG_ARRAY;
    if (map.valuesOffset === undefined || (!mapInMap && !progArray)) {
      throw new ElfError(`map ${spec.name} has an initialiser but no 'values' member`, part, at);
    }
    if (mapInMap) {
      if (sym.sectionIndex !== section.index || !mapNames.has(sym.name)) {
        throw new ElfError(`map ${spec.name}: inner map '${sym.name}' is not a map in .maps`, part, at);
      }
      if (spec.type === MapType.HASH_OF_MAPS && spec.keySize !== 4) {
        throw new ElfError(`map ${spec.name}: a hash of maps with initialisers needs 4-byte keys`, part, at);
      }
    } else if (!programNames.has(sym.name)) {
      throw new ElfError(`map ${spec.name}: '${sym.name}' is not a program`, part, at);
    }
    const moff = entry.offset - map.offset - map.valuesOffset;
    if (moff < 0 || moff % BPF_PTR_SIZE !== 0) {
      throw new ElfError(`map ${spec.name}: initialiser at offset ${entry.offset} is not a 'values' slot`, part, at);
    }
    (spec.initialSlots ??= []).push({ index: moff / BPF_PTR_SIZE, name: sym.name });
  });
}

/** The map whose definition holds a pointer at `offset` (maps sorted by offset). */
function containing(maps: BtfMapDef[], offset: number): BtfMapDef | undefined {
  let lo = 0;
  let hi = maps.length - 1;
  let found: BtfMapDef | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (maps[mid]!.offset <= offset) {
      found = maps[mid];
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found && offset + BPF_PTR_SIZE <= found.offset + found.size ? found : undefined;
}
