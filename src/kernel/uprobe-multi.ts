/**
 * uprobe_multi links (BPF_TRACE_UPROBE_MULTI, Linux 6.6+): one program on many functions
 * (or file offsets) of one binary through a single bpf_link, each with its own cookie,
 * optionally for one process only. Functions are named, or found with a glob pattern
 * as libbpf's `uprobe.multi/PATH:PATTERN` sections do.
 */
import { readFileSync } from 'node:fs';
import type { ElfFile } from '../elf/elf-file.js';
import { parseElf } from '../elf/elf-file.js';
import { SHN, SymbolType } from '../elf/elf-constants.js';
import { symbolFileOffset, uprobeOffset } from '../elf/uprobe.js';
import { AttachType, progTypeName } from '../uapi/index.js';
import { BpfCmd, LinkCreateUprobeMultiAttr } from './bpf-attr.js';
import { Errno } from './errno.js';
import { BpfError } from './errors.js';
import { stableBuffer } from './layout.js';
import { KernelLink } from './link.js';
import { cString } from './object-fd.js';
import type { KernelProgram } from './program.js';
import { tryBpf } from './syscall.js';

/** BPF_F_UPROBE_MULTI_RETURN: attach at the functions' returns. */
const UPROBE_MULTI_RETURN = 1;

export interface UprobeMultiOptions {
  /** Functions by name (symbols of .symtab or .dynsym). */
  symbols?: readonly string[];
  /** Every function whose name matches this glob (`*` and `?`), as libbpf resolves it. */
  pattern?: string;
  /** File offsets to probe, in addition to the functions. */
  offsets?: readonly number[];
  /** bpf_get_attach_cookie() per probe, in the order symbols, then pattern matches, then offsets. */
  cookies?: readonly bigint[];
  /** Attach at the returns (uretprobe) instead of the entries. */
  retprobe?: boolean;
  /** Only this process (default: every process that runs the binary). */
  pid?: number;
}

/** A glob (`*`, `?`) as a whole-name regular expression. */
function globRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * File offsets of the defined functions of `elf` whose names match `pattern`, one per
 * offset (aliases and the .symtab/.dynsym copies of a symbol probe the same place once).
 */
export function matchFunctionOffsets(elf: ElfFile, pattern: string): Array<{ name: string; offset: number }> {
  const re = globRegExp(pattern);
  const byOffset = new Map<number, string>();
  for (const table of [elf.symbols, elf.dynamicSymbols]) {
    for (const sym of table) {
      if (sym.type !== SymbolType.FUNC && sym.type !== SymbolType.GNU_IFUNC) continue;
      if (sym.sectionIndex === SHN.UNDEF || sym.sectionIndex >= SHN.LORESERVE) continue;
      const name = sym.name.replace(/@.*$/, '');
      if (!re.test(name)) continue;
      const offset = symbolFileOffset(elf, sym);
      if (!byOffset.has(offset)) byOffset.set(offset, name);
    }
  }
  return [...byOffset].map(([offset, name]) => ({ name, offset })).sort((a, b) => a.offset - b.offset);
}

/**
 * Attach a KPROBE-type program loaded with expected attach type TRACE_UPROBE_MULTI
 * (sections `uprobe.multi`, `uretprobe.multi`) to several places of the binary at `path`
 * with one link. @throws Error when nothing matches; BpfError when the kernel refuses.
 */
export function attachUprobeMulti(program: KernelProgram, path: string, options: UprobeMultiOptions): KernelLink {
  const elf = options.symbols?.length || options.pattern ? parseElf(readFileSync(path)) : undefined;
  const offsets: number[] = [];
  for (const symbol of options.symbols ?? []) offsets.push(uprobeOffset(elf!, symbol));
  if (options.pattern !== undefined) {
    const matched = matchFunctionOffsets(elf!, options.pattern);
    if (matched.length === 0) throw new Error(`no function of ${path} matches "${options.pattern}"`);
    offsets.push(...matched.map((m) => m.offset));
  }
  offsets.push(...(options.offsets ?? []));
  if (offsets.length === 0) throw new Error(`uprobe_multi on ${path}: give symbols, a pattern or offsets`);
  if (options.cookies && options.cookies.length !== offsets.length) {
    throw new RangeError(`uprobe_multi on ${path}: ${options.cookies.length} cookies for ${offsets.length} probes (one per probe, symbols first, then pattern matches, then offsets)`);
  }
  if (program.expectedAttachType !== undefined && program.expectedAttachType !== AttachType.TRACE_UPROBE_MULTI) {
    throw new TypeError(`program ${program.name} was not loaded for uprobe_multi: load it with expectedAttachType AttachType.TRACE_UPROBE_MULTI (section uprobe.multi)`);
  }

  const u64s = (values: readonly (number | bigint)[]): Uint8Array => {
    const out = stableBuffer(values.length * 8);
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    values.forEach((v, i) => view.setBigUint64(i * 8, BigInt(v), true));
    return out;
  };
  const what = options.pattern ?? options.symbols?.join(',') ?? `${offsets.length} offsets`;
  const description = `${options.retprobe ? 'uretprobe' : 'uprobe'}.multi ${path}:${what}${options.pid !== undefined ? ` pid ${options.pid}` : ''}`;
  const outcome = tryBpf(BpfCmd.LINK_CREATE, LinkCreateUprobeMultiAttr, {
    prog_fd: program.fd,
    target_fd: 0,
    attach_type: AttachType.TRACE_UPROBE_MULTI,
    path: cString(path),
    offsets: u64s(offsets),
    cookies: options.cookies ? u64s(options.cookies) : null,
    cnt: offsets.length,
    uprobe_flags: options.retprobe ? UPROBE_MULTI_RETURN : 0,
    pid: options.pid ?? 0,
  });
  if (outcome.result >= 0) return new KernelLink(outcome.result, description);
  const errno = -outcome.result;
  const label = progTypeName(program.type)?.toLowerCase() ?? `type ${program.type}`;
  const hint =
    errno === Errno.EINVAL
      ? `the kernel refused it: the ${label} program must be loaded with expected attach type TRACE_UPROBE_MULTI, and the offsets must be in ${path}`
      : errno === Errno.ESRCH
        ? `no process ${options.pid}`
        : errno === Errno.EOPNOTSUPP || errno === Errno.ENOTSUPP
          ? 'this kernel has no uprobe_multi links (Linux 6.6+, CONFIG_UPROBES)'
          : undefined;
  throw new BpfError('LINK_CREATE', errno, { subject: `program ${program.name} to ${description}`, ...(hint && { hint }) });
}
