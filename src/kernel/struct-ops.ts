/**
 * struct_ops: kernel structs of function pointers (tcp_congestion_ops, ...) implemented
 * by eBPF programs. As libbpf does, the object's own struct is translated member by
 * member (by name) into the kernel's `bpf_struct_ops_<name>` value: function pointers
 * become program fds, other members are copied.
 */
import type { Btf } from '../btf/btf.js';
import type { CompositeType } from '../btf/types.js';
import type { MapSpec, ObjectSpec } from '../elf/object-spec.js';
import { AttachType } from '../uapi/index.js';
import { BpfCmd, LinkCreateAttr } from './bpf-attr.js';
import { BpfError } from './errors.js';
import { KernelLink } from './link.js';
import type { KernelMap } from './map.js';
import { tryBpf } from './syscall.js';
import { vmlinuxBtf } from './vmlinux.js';

interface KernelMember {
  index: number;
  offset: number;
  size: number;
  isFunctionPointer: boolean;
}

export interface StructOpsKernelType {
  /** vmlinux id of the struct (e.g. tcp_congestion_ops): programs' attach_btf_id. */
  structId: number;
  /** vmlinux id of bpf_struct_ops_<name>: the map's btf_vmlinux_value_type_id. */
  valueTypeId: number;
  valueSize: number;
  /** Where the struct sits inside the value (its `data` member). */
  dataOffset: number;
  members: Map<string, KernelMember>;
}

/** The kernel's view of struct_ops type `name`. @throws Error when this kernel has no such struct_ops. */
export function structOpsKernelType(name: string): StructOpsKernelType {
  const btf = vmlinuxBtf();
  const struct = btf.findByName(name, 'struct') as CompositeType | undefined;
  const value = btf.findByName(`bpf_struct_ops_${name}`, 'struct') as CompositeType | undefined;
  if (!struct || !value) throw new Error(`this kernel has no struct_ops type ${name} (no bpf_struct_ops_${name} in its BTF)`);
  const data = value.members.find((m) => m.name === 'data');
  if (!data) throw new Error(`bpf_struct_ops_${name} has no data member`);
  const members = new Map<string, KernelMember>();
  struct.members.forEach((m, index) => {
    const t = btf.resolve(m.type);
    members.set(m.name, {
      index,
      offset: m.bitOffset / 8,
      size: btf.sizeof(m.type),
      isFunctionPointer: t.kind === 'ptr' && btf.resolve(t.type).kind === 'func_proto',
    });
  });
  return { structId: struct.id, valueTypeId: value.id, valueSize: value.size, dataOffset: data.bitOffset / 8, members };
}

/** For a struct_ops program of `spec`: the attach_btf_id and (kernel) member index it must be loaded with. */
export function structOpsProgramTarget(spec: ObjectSpec, program: string): { attachBtfId: number; memberIndex: number } | undefined {
  for (const map of spec.maps) {
    const entry = map.structOps?.programs.find((p) => p.program === program);
    if (!entry) continue;
    const kernel = structOpsKernelType(map.structOps!.typeName);
    const member = kernel.members.get(entry.member);
    if (!member) throw new Error(`struct_ops ${map.name}: the kernel's ${map.structOps!.typeName} has no member ${entry.member}`);
    return { attachBtfId: kernel.structId, memberIndex: member.index };
  }
  return undefined;
}

/** The kernel value for struct_ops map `spec`: the object's members copied by name, programs as fds. */
export function structOpsValue(spec: MapSpec, localBtf: Btf, programFd: (name: string) => number | undefined): Uint8Array {
  const ops = spec.structOps!;
  const kernel = structOpsKernelType(ops.typeName);
  const local = localBtf.typeById(spec.valueTypeId!) as CompositeType;
  const bytes = spec.initialData ?? new Uint8Array(local.size);
  const out = new Uint8Array(kernel.valueSize);
  const view = new DataView(out.buffer);
  for (const m of local.members) {
    const target = kernel.members.get(m.name);
    const at = m.bitOffset / 8;
    const size = localBtf.sizeof(m.type);
    const program = ops.programs.find((p) => p.member === m.name);
    if (!target) {
      if (program || bytes.subarray(at, at + size).some((b) => b !== 0)) throw new Error(`struct_ops ${spec.name}: the kernel's ${ops.typeName} has no member ${m.name}`);
      continue;
    }
    if (program) {
      const fd = programFd(program.program);
      if (fd === undefined) throw new Error(`struct_ops ${spec.name}.${m.name}: program ${program.program} is not loaded`);
      view.setBigUint64(kernel.dataOffset + target.offset, BigInt(fd), true);
    } else if (!target.isFunctionPointer) {
      const data = bytes.subarray(at, at + size);
      if (size !== target.size && data.some((b) => b !== 0)) {
        throw new Error(`struct_ops ${spec.name}.${m.name} is ${size} bytes here and ${target.size} in the kernel`);
      }
      out.set(data.subarray(0, Math.min(size, target.size)), kernel.dataOffset + target.offset);
    }
  }
  return out;
}

/** Register a BPF_F_LINK struct_ops map with a link: closing the link unregisters it. */
export function attachStructOps(map: KernelMap): KernelLink {
  const outcome = tryBpf(BpfCmd.LINK_CREATE, LinkCreateAttr, { prog_fd: map.fd, attach_type: AttachType.STRUCT_OPS });
  if (outcome.result < 0) throw new BpfError('LINK_CREATE', -outcome.result, { subject: `struct_ops ${map.name}` });
  return new KernelLink(outcome.result, `struct_ops ${map.name}`);
}
