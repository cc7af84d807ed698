import { BtfError } from '../errors.js';
import { skipModsAndTypedefs } from './compat.js';
import { CoreKind, isEnumvalBased, isFieldBased, isTypeBased } from './kinds.js';
import { CoreSpecError, type CoreSpec } from './spec.js';

/** What one relocation does to its instruction (bpf_core_relo_res). */
export interface CoreReloOutcome {
  /** Value the compiler put in the instruction (from the local BTF). */
  origValue: bigint;
  /** Value for the target kernel. */
  newValue: bigint;
  /** The instruction cannot be made right: replace it with an invalid helper call. */
  poison: boolean;
  /** Check that the instruction holds `origValue` before patching. */
  validate: boolean;
  /** A load/store whose size would change in a way that corrupts the value. */
  failMemSizeAdjust: boolean;
  /** Memory access sizes (bytes) for LDX/ST/STX, 0 when not a sized field. */
  origSize: number;
  newSize: number;
  origTypeId: number;
  newTypeId: number;
}

/** Signals libbpf's -EUCLEAN: poison the instruction. */
class PoisonRequest {}

interface FieldValue {
  value: bigint;
  size: number;
  typeId: number;
  validate: boolean;
}

function sizeOf(spec: CoreSpec, id: number): number {
  try {
    return spec.btf.sizeof(id);
  } catch (e) {
    if (e instanceof BtfError) throw new CoreSpecError(`size of [${id}] is unknown`);
    throw e;
  }
}

/** bpf_core_calc_field_relo for one side (local or target). */
function calcField(kind: number, spec: CoreSpec | undefined, bigEndian: boolean): FieldValue {
  if (kind === CoreKind.FIELD_EXISTS) return { value: spec ? 1n : 0n, size: 0, typeId: 0, validate: true };
  if (!spec) throw new PoisonRequest();
  const acc = spec.spec[spec.spec.length - 1]!;
  if (acc.name === undefined) {
    // a[n]: only offset and size make sense.
    if (kind === CoreKind.FIELD_BYTE_OFFSET) {
      return { value: BigInt(Math.floor(spec.bitOffset / 8)), size: sizeOf(spec, acc.typeId), typeId: acc.typeId, validate: true };
    }
    if (kind === CoreKind.FIELD_BYTE_SIZE) return { value: BigInt(sizeOf(spec, acc.typeId)), size: 0, typeId: 0, validate: true };
    throw new CoreSpecError(`relocation kind ${kind} cannot be applied to an array access`);
  }
  const t = spec.btf.typeById(acc.typeId);
  if (t.kind !== 'struct' && t.kind !== 'union') throw new CoreSpecError(`accessor type [${acc.typeId}] is not a struct/union`);
  const m = t.members[acc.idx]!;
  const { id: fieldTypeId, t: mt } = skipModsAndTypedefs(spec.btf, m.type);
  const bitOff = spec.bitOffset;
  let bitSize = m.bitfieldSize;
  const bitfield = bitSize > 0;
  let byteSize: number;
  let byteOff: number;
  if (bitfield) {
    byteSize = 'size' in mt ? mt.size : 0;
    if (byteSize <= 0) throw new CoreSpecError(`bitfield type [${fieldTypeId}] has no size`);
    byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    while (bitOff + bitSize - byteOff * 8 > byteSize * 8) {
      if (byteSize >= 8) throw new CoreSpecError('bitfield cannot be read with a 64-bit load');
      byteSize *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    }
  } else {
    byteSize = sizeOf(spec, fieldTypeId);
    byteOff = Math.floor(bitOff / 8);
    bitSize = byteSize * 8;
  }
  const out: FieldValue = { value: 0n, size: 0, typeId: 0, validate: !bitfield };
  switch (kind) {
    case CoreKind.FIELD_BYTE_OFFSET:
      out.value = BigInt(byteOff);
      if (!bitfield) {
        out.size = byteSize;
        out.typeId = fieldTypeId;
      }
      break;
    case CoreKind.FIELD_BYTE_SIZE:
      out.value = BigInt(byteSize);
      break;
    case CoreKind.FIELD_SIGNED:
      out.value = ((mt.kind === 'enum' || mt.kind === 'enum64') && mt.kflag) || (mt.kind === 'int' && (mt.encoding & 1) !== 0) ? 1n : 0n;
      out.validate = true;
      break;
    case CoreKind.FIELD_LSHIFT_U64:
      out.value = BigInt(bigEndian ? (8 - byteSize) * 8 + (bitOff - byteOff * 8) : 64 - (bitOff + bitSize - byteOff * 8));
      break;
    case CoreKind.FIELD_RSHIFT_U64:
      out.value = BigInt(64 - bitSize);
      out.validate = true;
      break;
    default:
      throw new CoreSpecError(`unknown field relocation kind ${kind}`);
  }
  return out;
}

function calcType(kind: number, spec: CoreSpec | undefined): bigint {
  if (!spec) return 0n;
  switch (kind) {
    case CoreKind.TYPE_ID_TARGET:
      return BigInt(spec.rootTypeId);
    case CoreKind.TYPE_EXISTS:
    case CoreKind.TYPE_MATCHES:
      return 1n;
    case CoreKind.TYPE_SIZE:
      return BigInt(sizeOf(spec, spec.rootTypeId));
    default:
      throw new CoreSpecError(`unknown type relocation kind ${kind}`);
  }
}

function calcEnumval(kind: number, spec: CoreSpec | undefined): bigint {
  if (kind === CoreKind.ENUMVAL_EXISTS) return spec ? 1n : 0n;
  if (kind !== CoreKind.ENUMVAL_VALUE) throw new CoreSpecError(`unknown enum relocation kind ${kind}`);
  if (!spec) throw new PoisonRequest();
  const acc = spec.spec[0]!;
  const t = spec.btf.typeById(acc.typeId);
  if (t.kind !== 'enum' && t.kind !== 'enum64') throw new CoreSpecError('enum accessor is not an enum');
  const v = t.values[acc.idx]!.value;
  // libbpf reads enum values as u32 (enum) or as the u64 bit pattern (enum64).
  return t.kind === 'enum' ? BigInt.asUintN(32, v) : BigInt.asUintN(64, v);
}

/**
 * bpf_core_calc_relo: original and new values of one relocation for one candidate
 * (`target` undefined: no candidate matched). Throws CoreSpecError where libbpf fails.
 */
export function calcRelocation(kind: number, local: CoreSpec, target: CoreSpec | undefined, bigEndian: boolean): CoreReloOutcome {
  const res: CoreReloOutcome = {
    origValue: 0n,
    newValue: 0n,
    poison: false,
    validate: true,
    failMemSizeAdjust: false,
    origSize: 0,
    newSize: 0,
    origTypeId: 0,
    newTypeId: 0,
  };
  try {
    if (isFieldBased(kind)) {
      const o = calcField(kind, local, bigEndian);
      const n = calcField(kind, target, bigEndian);
      res.origValue = o.value;
      res.origSize = o.size;
      res.origTypeId = o.typeId;
      res.validate = o.validate;
      res.newValue = n.value;
      res.newSize = n.size;
      res.newTypeId = n.typeId;
      if (res.origSize !== res.newSize) {
        const ot = local.btf.typeById(res.origTypeId);
        const nt = target!.btf.typeById(res.newTypeId);
        const bothPtr = ot.kind === 'ptr' && nt.kind === 'ptr';
        const bothUnsigned = ot.kind === 'int' && nt.kind === 'int' && ot.encoding !== 1 && nt.encoding !== 1;
        if (!bothPtr && !bothUnsigned) res.failMemSizeAdjust = true;
      }
    } else if (isTypeBased(kind)) {
      res.origValue = calcType(kind, local);
      res.newValue = calcType(kind, target);
    } else if (isEnumvalBased(kind)) {
      res.origValue = calcEnumval(kind, local);
      res.newValue = calcEnumval(kind, target);
    } else {
      throw new CoreSpecError(`unrecognized CO-RE relocation kind ${kind}`);
    }
  } catch (e) {
    if (e instanceof PoisonRequest) {
      res.poison = true;
      return res;
    }
    throw e;
  }
  // TYPE_ID_TARGET: type ids change during linking, so libbpf never validates them.
  if (kind === CoreKind.TYPE_ID_TARGET) res.validate = false;
  return res;
}
