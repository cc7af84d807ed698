/**
 * What is loaded in the kernel right now, as bpftool lists it: every program, map and link
 * by id (BPF_*_GET_NEXT_ID, *_GET_FD_BY_ID, OBJ_GET_INFO_BY_FD), and a program's
 * instructions as the verifier rewrote them (xlated).
 */
import { decodeInstructions, type Instruction } from '../isa/index.js';
import { progTypeName, mapTypeName } from '../uapi/index.js';
import { BpfCmd } from './bpf-attr.js';
import { LinkInfoLayout, MapInfoLayout, ProgInfoLayout } from './bpf-info.js';
import { Errno } from './errno.js';
import { BpfError } from './errors.js';
import { encodeStruct, readField, readString, stableBuffer } from './layout.js';
import { native } from './native.js';
import { allIds, fdById, objectInfo } from './object-fd.js';

export interface ProgramSummary {
  id: number;
  type: number;
  typeName: string;
  name: string;
  tag: string;
  loadTimeNs: bigint;
  uid: number;
  mapIds: number[];
  btfId: number;
  xlatedBytes: number;
  jitedBytes: number;
  verifiedInstructions: number;
  runCount: number;
  runTimeNs: number;
}

export interface MapSummary {
  id: number;
  type: number;
  typeName: string;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  btfId: number;
}

export interface LinkSummary {
  id: number;
  type: number;
  programId: number;
}

/** Run `read` on an fd opened by id; objects that vanished meanwhile are skipped. */
function withId<T>(cmd: number, id: number, read: (fd: number) => T): T | undefined {
  let fd: number;
  try {
    fd = fdById(cmd, id, { subject: `id ${id}` });
  } catch (error) {
    if (error instanceof BpfError && error.errno === Errno.ENOENT) return undefined;
    throw error;
  }
  try {
    return read(fd);
  } finally {
    native().close(fd);
  }
}

/** Every loaded program. */
export function listPrograms(): ProgramSummary[] {
  return allIds(BpfCmd.PROG_GET_NEXT_ID).flatMap((id) => withId(BpfCmd.PROG_GET_FD_BY_ID, id, programSummary) ?? []);
}

/** Every map. */
export function listMaps(): MapSummary[] {
  return allIds(BpfCmd.MAP_GET_NEXT_ID).flatMap((id) => withId(BpfCmd.MAP_GET_FD_BY_ID, id, mapSummary) ?? []);
}

/** Every link. */
export function listLinks(): LinkSummary[] {
  return allIds(BpfCmd.LINK_GET_NEXT_ID).flatMap(
    (id) =>
      withId(BpfCmd.LINK_GET_FD_BY_ID, id, (fd) => {
        const info = objectInfo(fd, LinkInfoLayout);
        return { id: readField(LinkInfoLayout, info, 'id'), type: readField(LinkInfoLayout, info, 'type'), programId: readField(LinkInfoLayout, info, 'prog_id') };
      }) ?? [],
  );
}

/** A program's summary from its fd. */
export function programSummary(fd: number): ProgramSummary {
  const first = objectInfo(fd, ProgInfoLayout);
  const mapCount = readField(ProgInfoLayout, first, 'nr_map_ids');
  const mapIds = new Uint32Array(new ArrayBuffer(Math.max(mapCount, 1) * 4));
  // A second call fills the map id array the first one sized.
  const info = objectInfo(fd, ProgInfoLayout, encodeStruct(ProgInfoLayout, { nr_map_ids: mapCount, map_ids: mapIds }));
  const tagAt = ProgInfoLayout.offset('tag');
  const type = readField(ProgInfoLayout, info, 'type');
  return {
    id: readField(ProgInfoLayout, info, 'id'),
    type,
    typeName: progTypeName(type)?.toLowerCase() ?? String(type),
    name: readString(ProgInfoLayout, info, 'name'),
    tag: Buffer.from(info.subarray(tagAt, tagAt + 8)).toString('hex'),
    loadTimeNs: new DataView(info.buffer, info.byteOffset).getBigUint64(ProgInfoLayout.offset('load_time'), true),
    uid: readField(ProgInfoLayout, info, 'created_by_uid'),
    mapIds: [...mapIds.subarray(0, mapCount)],
    btfId: readField(ProgInfoLayout, info, 'btf_id'),
    xlatedBytes: readField(ProgInfoLayout, info, 'xlated_prog_len'),
    jitedBytes: readField(ProgInfoLayout, info, 'jited_prog_len'),
    verifiedInstructions: readField(ProgInfoLayout, info, 'verified_insns'),
    runCount: readField(ProgInfoLayout, info, 'run_cnt'),
    runTimeNs: readField(ProgInfoLayout, info, 'run_time_ns'),
  };
}

/** A map's summary from its fd. */
export function mapSummary(fd: number): MapSummary {
  const info = objectInfo(fd, MapInfoLayout);
  const type = readField(MapInfoLayout, info, 'type');
  return {
    id: readField(MapInfoLayout, info, 'id'),
    type,
    typeName: mapTypeName(type)?.toLowerCase() ?? String(type),
    name: readString(MapInfoLayout, info, 'name'),
    keySize: readField(MapInfoLayout, info, 'key_size'),
    valueSize: readField(MapInfoLayout, info, 'value_size'),
    maxEntries: readField(MapInfoLayout, info, 'max_entries'),
    flags: readField(MapInfoLayout, info, 'map_flags'),
    btfId: readField(MapInfoLayout, info, 'btf_id'),
  };
}

/**
 * The program's instructions as the kernel runs them (after the verifier's rewrites),
 * like `bpftool prog dump xlated`. Map addresses appear as the kernel shows them.
 */
export function xlatedInstructions(fd: number): Instruction[] {
  const first = objectInfo(fd, ProgInfoLayout);
  const length = readField(ProgInfoLayout, first, 'xlated_prog_len');
  if (length === 0) return [];
  const insns = stableBuffer(length);
  objectInfo(fd, ProgInfoLayout, encodeStruct(ProgInfoLayout, { xlated_prog_len: length, xlated_prog_insns: insns }));
  return decodeInstructions(insns, { strict: false });
}
