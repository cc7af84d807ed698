import { parseElf, type ElfFile } from './elf-file.js';
import { SymbolBind, SymbolVisibility } from './elf-constants.js';
import { ElfError } from './errors.js';
import { collectBtfMaps, collectMapInitialisers } from './btf-maps.js';
import { collectCodeRelocations } from './code-relocations.js';
import { collectExterns } from './externs.js';
import { collectCode, type FunctionSymbol } from './functions.js';
import { collectGlobalData } from './global-data.js';
import { collectLegacyMaps } from './legacy-maps.js';
import { linkProgram, sortExtRecords } from './link-program.js';
import { objectContext, sectionPart } from './object-context.js';
import type { MapSpec, ObjectSpec, ProgramSpec } from './object-spec.js';
import { decodeSectionName } from './section-names.js';
import { collectStructOps } from './struct-ops.js';

/** Options of {@link loadObjectSpec}. */
export interface LoadObjectOptions {
  /**
   * Program type for programs in sections libbpf's table does not know (without it such a
   * section is an error), and their expected attach type.
   */
  programType?: number;
  expectedAttachType?: number;
}

/**
 * How many instruction slots all programs together may hold, as a multiple of the
 * object's own code: appending shared subprograms to every program multiplies code, and
 * a hostile object could make that quadratic.
 */
const MAX_CODE_EXPANSION = 64;
const MIN_CODE_BUDGET = 1 << 16;

/**
 * Read a clang-compiled BPF object (libbpf conventions) into an {@link ObjectSpec}:
 * programs with their subprograms linked in, relocations for the loader, BTF.ext info
 * per program, maps (BTF `.maps`, legacy `maps`, global data, `.kconfig`), global
 * variables, externs, license and kernel version.
 *
 * @param bytes the object file (or an already parsed {@link ElfFile}).
 * @throws ElfError naming the file part and offset for anything malformed, an unknown
 *   section name (unless `programType` is given), or a relocation the loader cannot
 *   express; BtfError for malformed .BTF / .BTF.ext.
 */
export function loadObjectSpec(bytes: Uint8Array | ElfFile, options: LoadObjectOptions = {}): ObjectSpec {
  const elf = bytes instanceof Uint8Array ? parseElf(bytes) : bytes;
  const ctx = objectContext(elf);
  if (ctx.ext) sortExtRecords(ctx.ext);

  const code = collectCode(ctx);
  const externs = collectExterns(ctx);
  const legacyMaps = collectLegacyMaps(ctx);
  const btfMaps = collectBtfMaps(ctx);
  const global = collectGlobalData(ctx);

  // (section, offset) -> map name, for relocations against map symbols.
  const mapAt = new Map<string, string>();
  for (const m of btfMaps) mapAt.set(`${m.sectionIndex}:${m.offset}`, m.spec.name);
  for (const m of legacyMaps) mapAt.set(`${m.sectionIndex}:${m.offset}`, m.spec.name);
  const findMap = (sectionIndex: number, offset: number) => mapAt.get(`${sectionIndex}:${offset}`);
  const relocations = collectCodeRelocations(ctx, code, externs, findMap);

  // Every function outside .text is a program; .text holds subprograms only.
  const entries: FunctionSymbol[] = [];
  for (const cs of code.values()) {
    if (cs.section.index === ctx.textIndex) continue;
    for (const fn of cs.functions) entries.push(fn); // not push(...): there may be more than the argument limit
  }
  let totalSlots = 0;
  for (const cs of code.values()) totalSlots += cs.section.size / 8;
  const budget = Math.max(MIN_CODE_BUDGET, totalSlots * MAX_CODE_EXPANSION);

  const programs: ProgramSpec[] = [];
  let linkedSlots = 0;
  for (const fn of entries) {
    const section = fn.code.section;
    // libbpf: a leading '?' marks a program that is not loaded by default; like libbpf we
    // report the section name without it.
    const optional = section.name.startsWith('?');
    const sectionName = optional ? section.name.slice(1) : section.name;
    const info = decodeSectionName(sectionName);
    if (!info && options.programType === undefined) {
      throw new ElfError(
        `program ${fn.name}: unknown section name "${section.name}" (not in libbpf's section table); pass programType to load it anyway`,
        sectionPart(section),
        section.offset,
      );
    }
    const linked = linkProgram(fn, { code, relocations, ...(ctx.ext ? { ext: ctx.ext } : {}) });
    linkedSlots += linked.slots;
    if (linkedSlots > budget) {
      throw new ElfError(`programs with their subprograms exceed ${budget} instructions`, sectionPart(section), section.offset);
    }
    const program: ProgramSpec = {
      name: fn.name,
      sectionName,
      type: info ? info.progType : options.programType!,
      flags: info ? info.flags : 0,
      autoAttach: info ? info.autoAttach : false,
      instructions: linked.instructions,
      subprograms: linked.subprograms,
      relocations: linked.relocations,
      funcInfo: linked.funcInfo,
      lineInfo: linked.lineInfo,
      coreRelocations: linked.coreRelocations,
    };
    const attachType = info ? info.expectedAttachType : options.expectedAttachType;
    if (attachType !== undefined) program.expectedAttachType = attachType;
    if (info?.attachTarget !== undefined) program.attachTarget = info.attachTarget;
    if (optional) program.autoLoad = false;
    programs.push(program);
  }

  collectMapInitialisers(
    ctx,
    btfMaps,
    new Set(programs.map((p) => p.name)),
  );

  const maps: MapSpec[] = [...legacyMaps.map((m) => m.spec), ...btfMaps.map((m) => m.spec), ...global.maps];
  if (externs.kconfigMap) maps.push(externs.kconfigMap);
  for (const m of collectStructOps(ctx, programs)) maps.push(m);

  const spec: ObjectSpec = {
    endian: ctx.endian,
    license: readLicense(elf),
    kernelVersion: readVersion(elf, ctx.endian),
    programs,
    maps,
    variables: global.variables,
    externs: externs.list,
  };
  const hidden = hiddenFunctions(code.values());
  if (hidden.length > 0) spec.hiddenFunctions = hidden;
  const btfSection = elf.sections.find((s) => s.name === '.BTF');
  if (btfSection && ctx.btf) spec.btfData = btfSection.data;
  const extSection = elf.sections.find((s) => s.name === '.BTF.ext');
  if (extSection && ctx.ext) spec.btfExtData = extSection.data;
  return spec;
}

/** Global functions whose symbol is STV_HIDDEN or STV_INTERNAL (libbpf's mark_btf_static). */
function hiddenFunctions(sections: Iterable<{ functions: FunctionSymbol[] }>): string[] {
  const out: string[] = [];
  for (const cs of sections) {
    for (const fn of cs.functions) {
      const v = fn.symbol.visibility;
      if (fn.symbol.bind !== SymbolBind.LOCAL && (v === SymbolVisibility.HIDDEN || v === SymbolVisibility.INTERNAL)) out.push(fn.name);
    }
  }
  return out;
}

/** The `license` section as a string (up to its first NUL). */
function readLicense(elf: ElfFile): string {
  const s = elf.sections.find((x) => x.name === 'license');
  if (!s) return '';
  const end = s.data.indexOf(0);
  return new TextDecoder().decode(s.data.subarray(0, end < 0 ? s.data.length : end));
}

/** The `version` section: a u32 kernel version (legacy kprobes), 0 when absent. */
function readVersion(elf: ElfFile, endian: 'little' | 'big'): number {
  const s = elf.sections.find((x) => x.name === 'version');
  if (!s) return 0;
  if (s.data.length !== 4) throw new ElfError(`version section is ${s.data.length} bytes, not 4`, sectionPart(s), s.offset);
  return new DataView(s.data.buffer, s.data.byteOffset, 4).getUint32(0, endian === 'little');
}

