/**
 * `bpfkit feature [--json]`: what this kernel supports, in the spirit of `bpftool feature
 * probe`: program types and map types (probed by loading/creating minimal ones), the
 * helpers each program type may call (probed by loading a call), and the attach and link
 * types. Attach types are not probed one by one (most need a real target to attach to):
 * an attach type counts as supported when its program type loads and the kernel
 * configuration has its hook (kprobe_multi needs CONFIG_FPROBE, tcx CONFIG_NET_XGRESS, ...).
 */
import { probeFeatures, type KernelFeatures } from '../kernel/features.js';
import { kernelConfig } from '../kernel/kconfig.js';
import { createMap } from '../kernel/map-create.js';
import { AttachType, LinkType, type AttachTypeName, type LinkTypeName, type ProgTypeName } from '../uapi/index.js';
import { expectPositionals, parseOptions, runCommand } from './args.js';
import type { Command } from './main.js';
import { formatTable, printLines, toJson } from './table.js';

const HELP = `usage: bpfkit feature [--json] [--helpers]

Probe what the running kernel supports: program types, map types, the
helpers each program type may call, and attach and link types.

Program and map types and helpers are probed (a minimal program loaded, a
minimal map created, a helper call verified). Attach types are derived: one is
listed as supported when its program type loads and the kernel configuration
(/proc/config.gz) has its hook (e.g. kprobe_multi needs CONFIG_FPROBE); link
types are those of the supported attach types.

options:
  --json       everything as JSON (helpers included, and helpersUnknown /
               helperGaps: the helpers that could not be probed, and why)
  --helpers    also list the helpers of every program type, and those that
               could not be probed (text output)
  -h, --help   this text

Needs root (or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN) to load the probes.
`;

/** The program type an attach type belongs to, the link that attaches it (if any), and the kernel options its hook needs. */
interface AttachRule {
  program: ProgTypeName;
  link?: LinkTypeName;
  needs?: string[];
}

const cgroup = (program: ProgTypeName, needs: string[] = []): AttachRule => ({ program, link: 'CGROUP', needs: ['CONFIG_CGROUP_BPF', ...needs] });
const sockAddr = cgroup('CGROUP_SOCK_ADDR');

/** enum bpf_attach_type -> program type and link type, as the kernel's attach_type_to_prog_type and link_create pair them. */
const ATTACH_RULES: Record<AttachTypeName, AttachRule> = {
  CGROUP_INET_INGRESS: cgroup('CGROUP_SKB'),
  CGROUP_INET_EGRESS: cgroup('CGROUP_SKB'),
  CGROUP_INET_SOCK_CREATE: cgroup('CGROUP_SOCK'),
  CGROUP_INET_SOCK_RELEASE: cgroup('CGROUP_SOCK'),
  CGROUP_INET4_POST_BIND: cgroup('CGROUP_SOCK'),
  CGROUP_INET6_POST_BIND: cgroup('CGROUP_SOCK'),
  CGROUP_SOCK_OPS: cgroup('SOCK_OPS'),
  CGROUP_DEVICE: cgroup('CGROUP_DEVICE'),
  CGROUP_SYSCTL: cgroup('CGROUP_SYSCTL'),
  CGROUP_GETSOCKOPT: cgroup('CGROUP_SOCKOPT'),
  CGROUP_SETSOCKOPT: cgroup('CGROUP_SOCKOPT'),
  CGROUP_INET4_BIND: sockAddr,
  CGROUP_INET6_BIND: sockAddr,
  CGROUP_INET4_CONNECT: sockAddr,
  CGROUP_INET6_CONNECT: sockAddr,
  CGROUP_UDP4_SENDMSG: sockAddr,
  CGROUP_UDP6_SENDMSG: sockAddr,
  CGROUP_UDP4_RECVMSG: sockAddr,
  CGROUP_UDP6_RECVMSG: sockAddr,
  CGROUP_INET4_GETPEERNAME: sockAddr,
  CGROUP_INET6_GETPEERNAME: sockAddr,
  CGROUP_INET4_GETSOCKNAME: sockAddr,
  CGROUP_INET6_GETSOCKNAME: sockAddr,
  CGROUP_UNIX_CONNECT: sockAddr,
  CGROUP_UNIX_SENDMSG: sockAddr,
  CGROUP_UNIX_RECVMSG: sockAddr,
  CGROUP_UNIX_GETPEERNAME: sockAddr,
  CGROUP_UNIX_GETSOCKNAME: sockAddr,
  LSM_CGROUP: cgroup('LSM', ['CONFIG_BPF_LSM']),
  SK_SKB_STREAM_PARSER: { program: 'SK_SKB', link: 'SOCKMAP', needs: ['CONFIG_BPF_STREAM_PARSER'] },
  SK_SKB_STREAM_VERDICT: { program: 'SK_SKB', link: 'SOCKMAP', needs: ['CONFIG_NET_SOCK_MSG'] },
  SK_SKB_VERDICT: { program: 'SK_SKB', link: 'SOCKMAP', needs: ['CONFIG_NET_SOCK_MSG'] },
  SK_MSG_VERDICT: { program: 'SK_MSG', link: 'SOCKMAP', needs: ['CONFIG_NET_SOCK_MSG'] },
  LIRC_MODE2: { program: 'LIRC_MODE2', needs: ['CONFIG_BPF_LIRC_MODE2'] },
  FLOW_DISSECTOR: { program: 'FLOW_DISSECTOR', link: 'NETNS' },
  SK_LOOKUP: { program: 'SK_LOOKUP', link: 'NETNS' },
  TRACE_RAW_TP: { program: 'TRACING', link: 'RAW_TRACEPOINT' },
  TRACE_FENTRY: { program: 'TRACING', link: 'TRACING', needs: ['CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS'] },
  TRACE_FEXIT: { program: 'TRACING', link: 'TRACING', needs: ['CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS'] },
  MODIFY_RETURN: { program: 'TRACING', link: 'TRACING', needs: ['CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS'] },
  TRACE_ITER: { program: 'TRACING', link: 'ITER' },
  LSM_MAC: { program: 'LSM', link: 'TRACING', needs: ['CONFIG_BPF_LSM'] },
  XDP: { program: 'XDP', link: 'XDP' },
  XDP_DEVMAP: { program: 'XDP' },
  XDP_CPUMAP: { program: 'XDP' },
  SK_REUSEPORT_SELECT: { program: 'SK_REUSEPORT' },
  SK_REUSEPORT_SELECT_OR_MIGRATE: { program: 'SK_REUSEPORT' },
  PERF_EVENT: { program: 'PERF_EVENT', link: 'PERF_EVENT', needs: ['CONFIG_BPF_EVENTS'] },
  TRACE_KPROBE_MULTI: { program: 'KPROBE', link: 'KPROBE_MULTI', needs: ['CONFIG_FPROBE'] },
  TRACE_KPROBE_SESSION: { program: 'KPROBE', link: 'KPROBE_MULTI', needs: ['CONFIG_FPROBE'] },
  TRACE_UPROBE_MULTI: { program: 'KPROBE', link: 'UPROBE_MULTI', needs: ['CONFIG_UPROBES'] },
  TRACE_UPROBE_SESSION: { program: 'KPROBE', link: 'UPROBE_MULTI', needs: ['CONFIG_UPROBES'] },
  STRUCT_OPS: { program: 'STRUCT_OPS', link: 'STRUCT_OPS' },
  NETFILTER: { program: 'NETFILTER', link: 'NETFILTER', needs: ['CONFIG_NETFILTER_BPF_LINK'] },
  TCX_INGRESS: { program: 'SCHED_CLS', link: 'TCX', needs: ['CONFIG_NET_XGRESS'] },
  TCX_EGRESS: { program: 'SCHED_CLS', link: 'TCX', needs: ['CONFIG_NET_XGRESS'] },
  NETKIT_PRIMARY: { program: 'SCHED_CLS', link: 'NETKIT', needs: ['CONFIG_NETKIT'] },
  NETKIT_PEER: { program: 'SCHED_CLS', link: 'NETKIT', needs: ['CONFIG_NETKIT'] },
};

export interface AttachSupport {
  attachType: string;
  programType: string;
  linkType: string | null;
  supported: boolean;
  /** Why not, when not supported. */
  missing?: string;
}

/** Attach types this kernel supports, from the probed program types and the kernel configuration. */
export function attachSupport(features: KernelFeatures, config: ReadonlyMap<string, string>): AttachSupport[] {
  return (Object.keys(AttachType) as AttachTypeName[])
    .filter((name) => ATTACH_RULES[name] !== undefined)
    .map((name) => {
      const rule = ATTACH_RULES[name];
      const row: AttachSupport = { attachType: name.toLowerCase(), programType: rule.program.toLowerCase(), linkType: rule.link?.toLowerCase() ?? null, supported: true };
      // An empty config means the kernel does not publish it: then trust the program type alone.
      const missing = config.size === 0 ? [] : (rule.needs ?? []).filter((option) => config.get(option) !== 'y');
      if (!features.programTypes[rule.program]) {
        row.supported = false;
        row.missing = `program type ${rule.program.toLowerCase()}`;
      } else if (missing.length > 0) {
        row.supported = false;
        row.missing = missing.join(', ');
      }
      return row;
    });
}

/** Link types with at least one supported attach type (PERF_EVENT links also carry uprobes and tracepoints). */
function linkSupport(attach: readonly AttachSupport[]): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const name of Object.keys(LinkType) as LinkTypeName[]) {
    if (name === 'UNSPEC') continue;
    out[name.toLowerCase()] = attach.some((a) => a.supported && a.linkType === name.toLowerCase());
  }
  return out;
}

function names(record: Record<string, boolean>, value: boolean): string[] {
  return Object.entries(record)
    .filter(([, v]) => v === value)
    .map(([k]) => k.toLowerCase());
}

/** Words wrapped at `width` columns, indented. */
function wrap(words: readonly string[], indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + w.length + 2 > width - indent.length) {
      lines.push(indent + line + ',');
      line = w;
    } else {
      line = line ? `${line}, ${w}` : w;
    }
  }
  if (line) lines.push(indent + line);
  return lines.length ? lines : [`${indent}(none)`];
}

/** One program type whose helpers the kernel could not (all) be asked about. */
export interface HelperGap {
  programType: string;
  /** Helpers left unanswered; null when none could be asked (the type has no loadable flavour here). */
  unknown: string[] | null;
  /** One line per flavour that could not be probed, and why. */
  reasons: string[];
}

/**
 * The program types with unprobed helpers. A type can have gap reasons but no unknown
 * list: then none of its helpers were asked, which must not read as "none supported".
 */
export function helperGapsByType(features: KernelFeatures): HelperGap[] {
  const unknown = features.helpersUnknown ?? {};
  const reasons = features.helperGaps ?? {};
  const types = [...new Set([...Object.keys(reasons), ...Object.keys(unknown)])];
  return types.map((type) => ({
    programType: type.toLowerCase(),
    unknown: unknown[type] ?? (type in features.helpers ? [] : null),
    reasons: reasons[type] ?? [],
  }));
}

/**
 * The text section on unprobed helpers (empty when the kernel answered every question).
 * Their names, like the supported helpers' names, only with `listHelpers`: there can be
 * hundreds, and the counts and reasons are what a reader needs first.
 */
export function helperGapLines(features: KernelFeatures, listHelpers: boolean): string[] {
  const gaps = helperGapsByType(features);
  if (gaps.length === 0) return [];
  const lines = ['', 'helpers not probed (the kernel could not be asked; neither supported nor unsupported):'];
  for (const gap of gaps) {
    const what = gap.unknown === null ? 'all helpers' : `${gap.unknown.length} helper${gap.unknown.length === 1 ? '' : 's'}`;
    lines.push(`  ${gap.programType}: ${what}`, ...gap.reasons.map((r) => `    why: ${r}`));
    if (listHelpers && gap.unknown !== null && gap.unknown.length > 0) lines.push(...wrap(gap.unknown, '    '));
  }
  return lines;
}

export const command: Command = {
  summary: 'probe what this kernel supports: program, map, helper, attach and link types',
  help: HELP,
  run: (args: string[]) =>
    runCommand('bpfkit feature', HELP, () => {
      const { values, positionals } = parseOptions(args, { json: { type: 'boolean' }, helpers: { type: 'boolean' } });
      expectPositionals(positionals, []);
      // Without bpf() rights every probe fails and would read as "nothing supported":
      // say what is missing instead (the map-create error names the capability).
      createMap({ type: 'ARRAY', valueSize: 4, maxEntries: 1 }).close();
      const features = probeFeatures();
      const attach = attachSupport(features, kernelConfig());
      const links = linkSupport(attach);
      if (values.json) {
        const lower = (r: Record<string, boolean>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v]));
        const helpers = Object.fromEntries(Object.entries(features.helpers).map(([k, v]) => [k.toLowerCase(), v]));
        const gaps = helperGapsByType(features);
        process.stdout.write(
          toJson({
            programTypes: lower(features.programTypes),
            mapTypes: lower(features.mapTypes),
            helpers,
            helpersUnknown: Object.fromEntries(gaps.map((g) => [g.programType, g.unknown])),
            helperGaps: Object.fromEntries(gaps.map((g) => [g.programType, g.reasons])),
            attachTypes: attach,
            linkTypes: links,
          }),
        );
        return 0;
      }
      const lines: string[] = [];
      const section = (title: string, record: Record<string, boolean>) => {
        const yes = names(record, true);
        const no = names(record, false);
        lines.push(`${title}: ${yes.length} of ${yes.length + no.length} supported`, ...wrap(yes, '  '));
        if (no.length) lines.push('  not supported:', ...wrap(no, '    '));
        lines.push('');
      };
      section('program types', features.programTypes);
      section('map types', features.mapTypes);
      lines.push('helpers per program type:');
      lines.push(
        ...formatTable(
          ['PROGRAM TYPE', 'HELPERS', 'NOT PROBED'],
          Object.entries(features.helpers).map(([type, list]) => [type.toLowerCase(), String(list.length), String(features.helpersUnknown?.[type]?.length ?? 0)]),
          '  ',
        ),
      );
      if (values.helpers) {
        for (const [type, list] of Object.entries(features.helpers)) lines.push('', `  ${type.toLowerCase()} (${list.length}):`, ...wrap(list, '    '));
      }
      lines.push(...helperGapLines(features, values.helpers === true));
      lines.push('', 'attach types:');
      lines.push(
        ...formatTable(
          ['ATTACH TYPE', 'PROGRAM TYPE', 'LINK', 'SUPPORTED'],
          attach.map((a) => [a.attachType, a.programType, a.linkType ?? '- (no link)', a.supported ? 'yes' : `no (needs ${a.missing})`]),
          '  ',
        ),
      );
      lines.push('');
      section('link types', links);
      printLines(lines.slice(0, -1));
      return 0;
    }),
};
