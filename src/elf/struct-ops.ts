import { MapFlags, MapType } from '../uapi/map-types.js';
import { ProgType } from '../uapi/prog-types.js';
import { symbolsIn } from './elf-file.js';
import { ElfError } from './errors.js';
import { datasecOf, sectionPart, type ObjectContext } from './object-context.js';
import type { MapSpec, ProgramSpec } from './object-spec.js';

/** A struct_ops variable with where it sits in its section. */
interface StructOpsDef {
  spec: MapSpec;
  sectionIndex: number;
  offset: number;
  size: number;
  /** Top-level members: byte offset -> name and index. */
  members: Map<number, { name: string; index: number; isFunctionPointer: boolean }>;
}

/**
 * struct_ops maps, as libbpf's bpf_object__init_struct_ops_maps and
 * bpf_object__collect_st_ops_relos read them: every VAR of the `.struct_ops` and
 * `.struct_ops.link` DATASECs is one map (BPF_F_LINK for the `.link` section) holding the
 * variable's bytes; each R_BPF_64_ABS64 relocation in the section stores a program in a
 * function-pointer member, and that program's expected attach type becomes the member's
 * index (which is what the kernel wants at load).
 *
 * @param programs the object's programs, updated in place (expected attach type).
 */
export function collectStructOps(ctx: ObjectContext, programs: ProgramSpec[]): MapSpec[] {
  const out: MapSpec[] = [];
  const byName = new Map(programs.map((p) => [p.name, p]));
  for (const section of ctx.elf.sections) {
    if (ctx.roles[section.index] !== 'struct-ops') continue;
    const part = sectionPart(section);
    const btf = ctx.btf;
    if (!btf) throw new ElfError('struct_ops maps need the object\'s BTF, but it has no .BTF section', part, section.offset);
    const datasec = datasecOf(ctx, section.name);
    if (!datasec) throw new ElfError(`no DATASEC ${section.name} in BTF describes the section`, part, section.offset);
    const symbols = new Map(symbolsIn(ctx.elf, section).map((s) => [s.name, s]));
    const defs: StructOpsDef[] = [];
    for (const vi of datasec.vars) {
      const v = btf.typeById(vi.type);
      if (v.kind !== 'var') throw new ElfError(`DATASEC entry [${vi.type}] is a ${v.kind}, not a VAR`, part, section.offset);
      const type = btf.resolve(v.type);
      if (type.kind !== 'struct') throw new ElfError(`struct_ops ${v.name} is a ${type.kind}, not a struct`, part, section.offset);
      const offset = symbols.get(v.name)?.value ?? vi.offset;
      if (offset + type.size > section.size) {
        throw new ElfError(`struct_ops ${v.name} at [${offset}, ${offset + type.size}) lies outside the ${section.size}-byte section`, part, section.offset);
      }
      const members = new Map<number, { name: string; index: number; isFunctionPointer: boolean }>();
      type.members.forEach((m, index) => {
        if (m.bitOffset % 8 !== 0) return;
        const t = btf.resolve(m.type);
        const isFunctionPointer = t.kind === 'ptr' && btf.resolve(t.type).kind === 'func_proto';
        members.set(m.bitOffset / 8, { name: m.name, index, isFunctionPointer });
      });
      const spec: MapSpec = {
        name: v.name,
        type: MapType.STRUCT_OPS,
        keySize: 4,
        valueSize: type.size,
        maxEntries: 1,
        flags: section.name === '.struct_ops.link' ? MapFlags.LINK : 0,
        pinning: 'none',
        sectionName: section.name,
        valueTypeId: type.id,
        initialData: section.data.slice(offset, offset + type.size),
        structOps: { typeName: type.name, programs: [] },
      };
      defs.push({ spec, sectionIndex: section.index, offset, size: type.size, members });
      out.push(spec);
    }

    const rel = ctx.relocations.get(section.index);
    if (!rel) continue;
    const relPart = `relocation section ${rel.section.index} (${rel.section.name})`;
    rel.entries.forEach((entry, i) => {
      const at = rel.section.offset + i * (rel.kind === 'rela' ? 24 : 16);
      const def = defs.find((d) => d.offset <= entry.offset && entry.offset < d.offset + d.size);
      if (!def) throw new ElfError(`entry ${i} at offset ${entry.offset} is inside no struct_ops variable`, relPart, at);
      const member = def.members.get(entry.offset - def.offset);
      if (!member || !member.isFunctionPointer) {
        throw new ElfError(`entry ${i}: offset ${entry.offset - def.offset} of ${def.spec.name} is not a function-pointer member`, relPart, at);
      }
      const sym = ctx.elf.symbols[entry.symbolIndex];
      const program = sym ? byName.get(sym.name) : undefined;
      if (!sym || !program || ctx.roles[sym.sectionIndex] !== 'program') {
        throw new ElfError(`entry ${i}: ${def.spec.name}.${member.name} points to ${sym?.name || `symbol ${entry.symbolIndex}`}, which is not a program`, relPart, at);
      }
      if (program.type !== ProgType.STRUCT_OPS) {
        throw new ElfError(`entry ${i}: ${def.spec.name}.${member.name} points to ${program.name}, which is not a struct_ops program`, relPart, at);
      }
      if (program.expectedAttachType !== undefined && program.expectedAttachType !== member.index) {
        throw new ElfError(`program ${program.name} implements two different members (indexes ${program.expectedAttachType} and ${member.index})`, relPart, at);
      }
      program.expectedAttachType = member.index;
      def.spec.structOps!.programs.push({ member: member.name, memberIndex: member.index, program: program.name });
    });
  }
  return out;
}
