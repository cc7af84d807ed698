import { Btf } from '../btf/btf.js';
import { slotCount } from '../isa/instruction.js';
import { attachTypeName } from '../uapi/attach-types.js';
import { mapTypeName } from '../uapi/map-types.js';
import { progTypeName } from '../uapi/prog-types.js';
import type { MapSpec, ObjectSpec } from './object-spec.js';

/** What `bpfkit object inspect` shows: a plain-data digest of an ObjectSpec. */
export interface ObjectSummary {
  endian: 'little' | 'big';
  license: string;
  kernelVersion: number;
  programs: Array<{
    name: string;
    section: string;
    type: string;
    attachType?: string;
    attachTarget?: string;
    flags: number;
    /** Instructions as llvm-objdump counts them (lddw is one). */
    instructions: number;
    /** 8-byte slots, as the kernel counts them. */
    slots: number;
    subprograms: string[];
    relocations: number;
  }>;
  maps: MapSummary[];
  variables: Array<{ name: string; section: string; offset: number; size: number; linkage: string }>;
  externs: Array<{ name: string; kind: string; weak: boolean }>;
  btf?: {
    bytes: number;
    types: number;
    /** Count of types per kind, e.g. { struct: 12, func: 30 }. */
    kinds: Record<string, number>;
    extBytes?: number;
    funcInfo: number;
    lineInfo: number;
    coreRelocations: number;
  };
}

export interface MapSummary {
  name: string;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  pinning: string;
  section: string;
  inner?: MapSummary;
  initialSlots?: Array<{ index: number; name: string }>;
  structOps?: { typeName: string; programs: Array<{ member: string; program: string }> };
}

function mapSummary(m: MapSpec): MapSummary {
  const out: MapSummary = {
    name: m.name,
    type: (mapTypeName(m.type) ?? `#${m.type}`).toLowerCase(),
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.maxEntries,
    flags: m.flags,
    pinning: m.pinning,
    section: m.sectionName,
  };
  if (m.innerMap) out.inner = mapSummary(m.innerMap);
  if (m.initialSlots) out.initialSlots = m.initialSlots;
  if (m.structOps) out.structOps = { typeName: m.structOps.typeName, programs: m.structOps.programs.map(({ member, program }) => ({ member, program })) };
  return out;
}

/** Digest an ObjectSpec for display. BTF is parsed again only to count its types. */
export function summarizeObject(spec: ObjectSpec): ObjectSummary {
  const out: ObjectSummary = {
    endian: spec.endian,
    license: spec.license,
    kernelVersion: spec.kernelVersion,
    programs: spec.programs.map((p) => {
      const prog: ObjectSummary['programs'][number] = {
        name: p.name,
        section: p.sectionName,
        type: (progTypeName(p.type) ?? `#${p.type}`).toLowerCase(),
        flags: p.flags,
        instructions: p.instructions.length,
        slots: slotCount(p.instructions),
        subprograms: p.subprograms,
        relocations: p.relocations.length,
      };
      if (p.expectedAttachType !== undefined) prog.attachType = (attachTypeName(p.expectedAttachType) ?? `#${p.expectedAttachType}`).toLowerCase();
      if (p.attachTarget !== undefined) prog.attachTarget = p.attachTarget;
      return prog;
    }),
    maps: spec.maps.map(mapSummary),
    variables: spec.variables.map((v) => ({ name: v.name, section: v.map, offset: v.offset, size: v.size, linkage: v.linkage })),
    externs: spec.externs.map((e) => ({ name: e.name, kind: e.kind, weak: e.weak })),
  };
  if (spec.btfData) {
    const btf = Btf.parse(spec.btfData, { endian: spec.endian });
    const kinds: Record<string, number> = {};
    for (const t of btf.types) kinds[t.kind] = (kinds[t.kind] ?? 0) + 1;
    out.btf = {
      bytes: spec.btfData.length,
      types: btf.types.length,
      kinds,
      funcInfo: spec.programs.reduce((n, p) => n + p.funcInfo.length, 0),
      lineInfo: spec.programs.reduce((n, p) => n + p.lineInfo.length, 0),
      coreRelocations: spec.programs.reduce((n, p) => n + p.coreRelocations.length, 0),
    };
    if (spec.btfExtData) out.btf.extBytes = spec.btfExtData.length;
  }
  return out;
}
