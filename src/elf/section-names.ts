import { SECTION_DEFS, type SectionDef } from './section-table.js';

/** BPF_F_SLEEPABLE (prog load flag). */
export const BPF_F_SLEEPABLE = 1 << 4;
/** BPF_F_XDP_HAS_FRAGS (prog load flag). */
export const BPF_F_XDP_HAS_FRAGS = 1 << 5;

/** What a section name says about the programs in it. */
export interface SectionInfo {
  /** The table entry that matched (its `pattern`, e.g. "fentry.s+"). */
  def: SectionDef;
  progType: number;
  expectedAttachType?: number;
  /** The extras after `type/`, e.g. "syscalls/sys_enter_openat" or "/bin/bash:readline". */
  attachTarget?: string;
  /** BPF_F_SLEEPABLE | BPF_F_XDP_HAS_FRAGS as the section asks. */
  flags: number;
  /** Would libbpf attach it automatically (it has a handler and a target)? */
  autoAttach: boolean;
}

/** Does `name` match one libbpf pattern (`type`, `type+`, `type/`)? */
export function sectionMatches(pattern: string, name: string): boolean {
  const last = pattern[pattern.length - 1];
  if (last === '/') return name.startsWith(pattern);
  if (last === '+') {
    const stem = pattern.slice(0, -1);
    if (!name.startsWith(stem)) return false;
    return name.length === stem.length || name[stem.length] === '/';
  }
  return name === pattern;
}

/**
 * Decode a section name with libbpf 1.5's rules: the first matching table entry gives
 * the program type, expected attach type and flags; for `type+` entries the text after
 * `type/` is the attach target. Returns undefined for a name libbpf does not know.
 */
export function decodeSectionName(name: string): SectionInfo | undefined {
  for (const def of SECTION_DEFS) {
    if (!sectionMatches(def.pattern, name)) continue;
    const stem = def.pattern.endsWith('+') || def.pattern.endsWith('/') ? def.pattern.slice(0, -1) : def.pattern;
    const extras = def.pattern.endsWith('+') || def.pattern.endsWith('/') ? name.slice(stem.length + 1) : '';
    const info: SectionInfo = {
      def,
      progType: def.progType,
      flags: (def.sleepable ? BPF_F_SLEEPABLE : 0) | (def.xdpFrags ? BPF_F_XDP_HAS_FRAGS : 0),
      autoAttach: Boolean(def.autoAttach) && extras !== '',
    };
    if (def.attachType !== undefined) info.expectedAttachType = def.attachType;
    if (extras !== '') info.attachTarget = extras;
    return info;
  }
  return undefined;
}
