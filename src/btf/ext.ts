import { ByteReader, endianOfMagic, type Endian } from './bytes.js';
import type { Btf } from './btf.js';
import { BtfError } from './errors.js';
import { BTF_MAGIC } from './parse.js';

/** A function's start (in 8-byte slots) and its BTF FUNC type: func_info as the kernel loads it. */
export interface FuncInfo {
  slot: number;
  /** BTF id of the FUNC type. */
  typeId: number;
}

/** One func_info record as found in .BTF.ext. */
export interface FuncInfoRecord extends FuncInfo {
  /** Byte offset of the instruction inside its ELF section. */
  insnOff: number;
}

/** A source line for an instruction, with its file name and text resolved from the string table. */
export interface LineInfo {
  slot: number;
  fileName: string;
  /** The source line's text, as clang recorded it. */
  line: string;
  lineNumber: number;
  column: number;
  /** Raw fields, as the kernel wants them. */
  fileNameOff: number;
  lineOff: number;
  /** Raw line_col word: line number << 10 | column. */
  lineCol: number;
}

/** One line_info record as found in .BTF.ext. */
export interface LineInfoRecord extends LineInfo {
  insnOff: number;
}

/** A CO-RE relocation of one instruction (struct bpf_core_relo). */
export interface CoreRelocation {
  slot: number;
  /** Local BTF type id of the root type. */
  typeId: number;
  /** Access string, e.g. "0:1:2" (field) or "0" (type/enum-value kinds use it too). */
  accessString: string;
  /** `enum bpf_core_relo_kind` (CoreKind). */
  kind: number;
}

/** One CO-RE relocation record as found in .BTF.ext. */
export interface CoreReloRecord extends CoreRelocation {
  insnOff: number;
  accessStrOff: number;
}

/** A parsed .BTF.ext: per ELF section name, the records of each kind, in file order. */
export interface BtfExt {
  endian: Endian;
  funcInfo: Map<string, FuncInfoRecord[]>;
  lineInfo: Map<string, LineInfoRecord[]>;
  coreRelos: Map<string, CoreReloRecord[]>;
  /** Record sizes as found (the kernel wants them when loading func/line info). */
  funcInfoRecordSize: number;
  lineInfoRecordSize: number;
  coreReloRecordSize: number;
}

const MIN_HEADER = 24;

/**
 * Parse a .BTF.ext section. Names (sections, files, source lines, access strings) are
 * offsets into the object's .BTF string table, hence `btf`.
 */
export function parseBtfExt(bytes: Uint8Array, btf: Btf): BtfExt {
  if (bytes.length < MIN_HEADER) throw new BtfError(`${bytes.length} bytes is too short for a header`, 'ext.header', 0);
  const endian = endianOfMagic(bytes, BTF_MAGIC);
  if (!endian) throw new BtfError('bad magic (expected 0xeb9f)', 'ext.header', 0);
  if (endian !== btf.endian) throw new BtfError(`.BTF.ext is ${endian}-endian but .BTF is ${btf.endian}-endian`, 'ext.header', 0);
  const r = new ByteReader(bytes, endian, 'ext.header');
  if (r.u8(2) !== 1) throw new BtfError(`unsupported version ${r.u8(2)}`, 'ext.header', 2);
  const hdrLen = r.u32(4);
  if (hdrLen < MIN_HEADER || hdrLen > bytes.length) throw new BtfError(`header length ${hdrLen} outside 24..${bytes.length}`, 'ext.header', 4);
  const data = bytes.subarray(hdrLen);
  const section = (offField: number, part: string): ByteReader | undefined => {
    if (hdrLen < offField + 8) return undefined;
    const off = r.u32(offField);
    const len = r.u32(offField + 4);
    if (len === 0) return undefined;
    if (off + len > data.length) throw new BtfError(`[${off}, +${len}) runs past the data (${data.length} bytes)`, part, offField);
    return new ByteReader(data.subarray(off, off + len), endian, part, hdrLen + off);
  };
  const str = (rr: ByteReader, off: number, at: number): string => {
    if (!btf.strings.has(off)) throw rr.error(`string offset ${off} outside the BTF string table`, at);
    return btf.stringAt(off);
  };

  const funcInfo = new Map<string, FuncInfoRecord[]>();
  const funcInfoRecordSize = readInfo(section(8, 'ext.func_info'), 8, funcInfo, str, (rr, at) => {
    const insnOff = rr.u32(at);
    const typeId = rr.u32(at + 4);
    if (typeId >= btf.typeCount) throw rr.error(`func_info type id ${typeId} out of range`, at + 4);
    return { insnOff, slot: insnOff / 8, typeId };
  });
  const lineInfo = new Map<string, LineInfoRecord[]>();
  const lineInfoRecordSize = readInfo(section(16, 'ext.line_info'), 16, lineInfo, str, (rr, at) => {
    const insnOff = rr.u32(at);
    const fileNameOff = rr.u32(at + 4);
    const lineOff = rr.u32(at + 8);
    const lineCol = rr.u32(at + 12);
    return {
      insnOff,
      slot: insnOff / 8,
      fileName: str(rr, fileNameOff, at + 4),
      line: str(rr, lineOff, at + 8),
      lineNumber: lineCol >>> 10,
      column: lineCol & 0x3ff,
      fileNameOff,
      lineOff,
      lineCol,
    };
  });
  const coreRelos = new Map<string, CoreReloRecord[]>();
  const coreReloRecordSize = readInfo(section(24, 'ext.core_relo'), 16, coreRelos, str, (rr, at) => {
    const insnOff = rr.u32(at);
    const typeId = rr.u32(at + 4);
    const accessStrOff = rr.u32(at + 8);
    const kind = rr.u32(at + 12);
    if (typeId >= btf.typeCount) throw rr.error(`CO-RE relocation type id ${typeId} out of range`, at + 4);
    return { insnOff, slot: insnOff / 8, typeId, accessString: str(rr, accessStrOff, at + 8), accessStrOff, kind };
  });
  return { endian, funcInfo, lineInfo, coreRelos, funcInfoRecordSize, lineInfoRecordSize, coreReloRecordSize };
}

/** Read one info section: record size, then per ELF section {name, count, records}. Returns the record size. */
function readInfo<T extends { insnOff: number }>(
  r: ByteReader | undefined,
  minRecord: number,
  out: Map<string, T[]>,
  str: (r: ByteReader, off: number, at: number) => string,
  record: (r: ByteReader, at: number) => T,
): number {
  if (!r) return 0;
  const recSize = r.u32(0);
  if (recSize < minRecord || recSize % 4 !== 0) throw r.error(`record size ${recSize} is invalid (minimum ${minRecord}, multiple of 4)`, 0);
  let off = 4;
  while (off < r.length) {
    const secName = str(r, r.u32(off), off);
    const count = r.u32(off + 4);
    if (count === 0) throw r.error(`section "${secName}" has no records`, off + 4);
    off += 8;
    r.need(off, count * recSize, `${count} records of section "${secName}"`);
    const list = out.get(secName) ?? [];
    for (let i = 0; i < count; i++, off += recSize) {
      const rec = record(r, off);
      if (rec.insnOff % 8 !== 0) throw r.error(`instruction offset ${rec.insnOff} is not a multiple of 8`, off);
      list.push(rec);
    }
    out.set(secName, list);
  }
  return recSize;
}
