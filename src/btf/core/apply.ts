import type { Instruction } from '../../isa/instruction.js';
import { insnSlots } from '../../isa/instruction.js';
import { OP_CALL } from '../../isa/opcodes.js';
import { Btf } from '../btf.js';
import { BtfError } from '../errors.js';
import { calcRelocation, type CoreReloOutcome } from './calc.js';
import { CandidateIndex, findCandidates } from './candidates.js';
import { CoreKind, coreKindName } from './kinds.js';
import { CorePatchError, patchInstruction, POISON_HELPER_ID } from './patch.js';
import { CoreSpecError, formatSpec, matchSpec, parseSpec, type CoreSpec } from './spec.js';

/** One CO-RE relocation record, as ObjectSpec and the BTF.ext parser give it. */
export interface CoreRelocationInput {
  /** 8-byte slot of the instruction in `insns`. */
  slot: number;
  /** Local BTF id of the root type. */
  typeId: number;
  accessString: string;
  kind: number;
}

/** What happened to one relocation, for logs and for deciding whether to load. */
export interface CoreRelocationResult {
  /** Index of the relocation in the input list. */
  index: number;
  slot: number;
  kind: number;
  /** libbpf's kind name: byte_off, field_exists, type_size, enumval_value, ... */
  kindName: string;
  /** The local spec, libbpf-style: "<byte_off> [12] struct task_struct.pid (0:92 @ offset 2512)". */
  local: string;
  /** The chosen target spec, when a candidate matched. */
  target?: string;
  /** Number of target candidates that matched. */
  candidates: number;
  /**
   * patched: the instruction now holds `newValue`; poisoned: replaced by `call 0xbad2310`
   * (harmless if unreachable); failed: libbpf would refuse to load (see `error`), the
   * instruction is left unchanged.
   */
  status: 'patched' | 'poisoned' | 'failed';
  origValue?: bigint;
  newValue?: bigint;
  error?: string;
}

export interface CoreApplyResult {
  /** The relocated program: same slot layout as the input (a poisoned lddw becomes two calls). */
  insns: Instruction[];
  results: CoreRelocationResult[];
}

/**
 * A parsed target with its candidate index, reusable across programs. It also keeps
 * libbpf's per-object candidate cache (one per local BTF): relocating an object's
 * programs one after another through the same CoreTarget, in .BTF.ext order, narrows
 * candidates exactly as bpf_object__relocate_core does.
 */
export class CoreTarget {
  readonly index: CandidateIndex;
  private readonly caches = new WeakMap<Btf, Map<number, number[]>>();
  constructor(readonly btf: Btf) {
    this.index = new CandidateIndex(btf);
  }

  /** Candidate lists by local root type id, for one local BTF. */
  candidateCache(local: Btf): Map<number, number[]> {
    let c = this.caches.get(local);
    if (!c) this.caches.set(local, (c = new Map()));
    return c;
  }
}

/**
 * Resolve CO-RE relocations against a target kernel's BTF and patch the instructions
 * the way libbpf does (bpf_core_resolve_relo + bpf_core_patch_insn): field offsets,
 * sizes, existence, signedness and shifts; type ids, existence, size and matches; enum
 * value existence and value. Candidates are matched by essential name (`___flavor`
 * stripped) and pruned per local root type as libbpf prunes its candidate cache.
 *
 * `target` is the kernel's BTF as bytes (/sys/kernel/btf/vmlinux), a parsed Btf, or a
 * {@link CoreTarget} to share the candidate index between calls.
 */
export function applyCoreRelocations(
  insns: readonly Instruction[],
  relos: readonly CoreRelocationInput[],
  localBtf: Btf,
  target: Uint8Array | Btf | CoreTarget,
): CoreApplyResult {
  const tgt = target instanceof CoreTarget ? target : new CoreTarget(target instanceof Btf ? target : Btf.parse(target));
  const bySlot = new Map<number, number>();
  let slot = 0;
  insns.forEach((insn, i) => {
    bySlot.set(slot, i);
    slot += insnSlots(insn);
  });
  const patched: Array<Instruction[] | undefined> = new Array(insns.length);
  const candCache = tgt.candidateCache(localBtf);
  const results: CoreRelocationResult[] = [];
  const bigEndian = localBtf.endian === 'big';

  relos.forEach((relo, index) => {
    const result: CoreRelocationResult = {
      index,
      slot: relo.slot,
      kind: relo.kind,
      kindName: coreKindName(relo.kind),
      local: `[${relo.typeId}] ${relo.accessString}`,
      candidates: 0,
      status: 'failed',
    };
    results.push(result);
    try {
      const at = bySlot.get(relo.slot);
      if (at === undefined) throw new CorePatchError(`slot ${relo.slot} is not the start of an instruction`);
      const { outcome, chosen, matched, localSpec } = resolve(relo, localBtf, tgt, candCache, bigEndian);
      result.local = formatSpec(localSpec);
      if (chosen) result.target = formatSpec(chosen);
      result.candidates = matched;
      result.origValue = outcome.origValue;
      result.newValue = outcome.newValue;
      const current = patched[at] ?? [insns[at]!];
      // Only the first instruction of a replacement carries the original fields.
      const replacement = patchInstruction(current[0]!, outcome);
      patched[at] = replacement;
      // patchInstruction poisons on request, and for loads/stores whose size cannot be adjusted.
      result.status = replacement.length !== 1 || isPoison(replacement[0]!) ? 'poisoned' : 'patched';
    } catch (e) {
      if (e instanceof CoreSpecError || e instanceof CorePatchError || e instanceof BtfError) result.error = e.message;
      else throw e;
    }
  });

  const out: Instruction[] = [];
  insns.forEach((insn, i) => out.push(...(patched[i] ?? [{ ...insn }])));
  return { insns: out, results };
}

function resolve(
  relo: CoreRelocationInput,
  local: Btf,
  target: CoreTarget,
  cache: Map<number, number[]>,
  bigEndian: boolean,
): { outcome: CoreReloOutcome; chosen?: CoreSpec; matched: number; localSpec: CoreSpec } {
  const localType = local.typeById(relo.typeId);
  const localSpec = parseSpec(local, relo.typeId, relo.accessString, relo.kind);
  if (relo.kind === CoreKind.TYPE_ID_LOCAL) {
    const v = BigInt(relo.typeId);
    return {
      localSpec,
      matched: 0,
      outcome: { origValue: v, newValue: v, poison: false, validate: false, failMemSizeAdjust: false, origSize: 0, newSize: 0, origTypeId: 0, newTypeId: 0 },
    };
  }
  if (localType.name === '') throw new CoreSpecError(`${coreKindName(relo.kind)} relocation doesn't support anonymous types`);
  let cands = cache.get(relo.typeId);
  if (!cands) {
    cands = findCandidates(local, relo.typeId, target.btf, target.index);
    cache.set(relo.typeId, cands);
  }
  let chosen: CoreSpec | undefined;
  let outcome: CoreReloOutcome | undefined;
  const kept: number[] = [];
  for (const cand of cands) {
    const spec = matchSpec(localSpec, target.btf, cand);
    if (!spec) continue;
    const res = calcRelocation(relo.kind, localSpec, spec, bigEndian);
    if (!chosen || !outcome) {
      chosen = spec;
      outcome = res;
    } else if (spec.bitOffset !== chosen.bitOffset) {
      throw new CoreSpecError(`field offset ambiguity: ${spec.bitOffset} != ${chosen.bitOffset}`);
    } else if (res.poison !== outcome.poison || res.newValue !== outcome.newValue) {
      throw new CoreSpecError(`relocation decision ambiguity: ${res.newValue} != ${outcome.newValue}`);
    }
    kept.push(cand);
  }
  // libbpf narrows the cached candidate list to the ones that matched (when any did).
  if (kept.length) cache.set(relo.typeId, kept);
  if (!outcome) outcome = calcRelocation(relo.kind, localSpec, undefined, bigEndian);
  return chosen ? { outcome, chosen, matched: kept.length, localSpec } : { outcome, matched: 0, localSpec };
}

function isPoison(insn: Instruction): boolean {
  return insn.code === OP_CALL && insn.src === 0 && insn.imm === POISON_HELPER_ID;
}
