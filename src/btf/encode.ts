import { ByteWriter } from './bytes.js';
import type { Btf } from './btf.js';
import { BtfError } from './errors.js';
import { BtfKind } from './kinds.js';
import { BTF_HEADER_SIZE, BTF_MAGIC } from './parse.js';
import { StringTableBuilder } from './strings.js';
import type { BtfType } from './types.js';

/**
 * Encode a Btf's own types and strings as a .BTF blob: header, types, strings, in the
 * layout clang and the kernel use. Names keep their string offsets when unchanged.
 */
export function encodeBtf(btf: Btf): Uint8Array {
  const strings = new StringTableBuilder(btf.strings, btf.strings.start);
  const w = new ByteWriter(btf.endian, 1024 + btf.types.length * 32);
  for (const t of btf.types) encodeType(w, t, strings);
  const typeBytes = w.result();
  const strBytes = strings.result();
  const out = new ByteWriter(btf.endian, BTF_HEADER_SIZE + typeBytes.length + strBytes.length);
  out.u16(BTF_MAGIC);
  out.u8(1); // version
  out.u8(0); // flags
  out.u32(BTF_HEADER_SIZE);
  out.u32(0);
  out.u32(typeBytes.length);
  out.u32(typeBytes.length);
  out.u32(strBytes.length);
  out.bytes(typeBytes);
  out.bytes(strBytes);
  return out.result();
}

function info(kind: number, vlen: number, kflag: boolean): number {
  if (vlen > 0xffff) throw new BtfError(`vlen ${vlen} exceeds 65535`, 'encode');
  return ((kflag ? 0x80000000 : 0) | (kind << 24) | vlen) >>> 0;
}

function encodeType(w: ByteWriter, t: BtfType, s: StringTableBuilder): void {
  const kind = BtfKind[t.kind];
  const name = s.offsetOf(t.name, t.nameOff);
  const head = (vlen: number, sizeOrType: number) => {
    w.u32(name);
    w.u32(info(kind, vlen, t.kflag));
    w.u32(sizeOrType);
  };
  switch (t.kind) {
    case 'void':
      throw new BtfError('void (id 0) is implicit and cannot be encoded', 'encode');
    case 'int':
      head(0, t.size);
      w.u32(((t.encoding & 0xf) << 24) | ((t.bitOffset & 0xff) << 16) | (t.bits & 0xff));
      break;
    case 'ptr':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'type_tag':
    case 'typedef':
      head(0, t.type);
      break;
    case 'fwd':
      head(0, 0);
      break;
    case 'float':
      head(0, t.size);
      break;
    case 'func':
      head(t.linkage, t.type);
      break;
    case 'array':
      head(0, 0);
      w.u32(t.type);
      w.u32(t.indexType);
      w.u32(t.nelems);
      break;
    case 'struct':
    case 'union':
      head(t.members.length, t.size);
      for (const m of t.members) {
        if (!t.kflag && m.bitfieldSize !== 0) throw new BtfError(`${t.kind} [${t.id}] has a bitfield but no kind_flag`, 'encode');
        w.u32(s.offsetOf(m.name, m.nameOff));
        w.u32(m.type);
        w.u32(t.kflag ? ((m.bitfieldSize << 24) | (m.bitOffset & 0xffffff)) >>> 0 : m.bitOffset);
      }
      break;
    case 'enum':
      head(t.values.length, t.size);
      for (const v of t.values) {
        w.u32(s.offsetOf(v.name, v.nameOff));
        w.u32(Number(BigInt.asUintN(32, v.value)));
      }
      break;
    case 'enum64':
      head(t.values.length, t.size);
      for (const v of t.values) {
        const raw = BigInt.asUintN(64, v.value);
        w.u32(s.offsetOf(v.name, v.nameOff));
        w.u32(Number(raw & 0xffffffffn));
        w.u32(Number(raw >> 32n));
      }
      break;
    case 'func_proto':
      head(t.params.length, t.type);
      for (const p of t.params) {
        w.u32(s.offsetOf(p.name, p.nameOff));
        w.u32(p.type);
      }
      break;
    case 'var':
      head(0, t.type);
      w.u32(t.linkage);
      break;
    case 'datasec':
      head(t.vars.length, t.size);
      for (const v of t.vars) {
        w.u32(v.type);
        w.u32(v.offset);
        w.u32(v.size);
      }
      break;
    case 'decl_tag':
      head(0, t.type);
      w.i32(t.componentIdx);
      break;
  }
}
