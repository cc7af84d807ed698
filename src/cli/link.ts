/**
 * `bpfkit link list|show|detach|pin`: the kernel's bpf_links, in the spirit of
 * `bpftool link`: what each attaches (type, attach type, target) and which program.
 */
import { LinkInfoLayout } from '../kernel/bpf-info.js';
import { listLinks, programSummary } from '../kernel/inventory.js';
import { KernelLink } from '../kernel/link.js';
import { objectInfo } from '../kernel/object-fd.js';
import { KernelProgram } from '../kernel/program.js';
import { attachTypeName, LinkType } from '../uapi/index.js';
import { dispatch, expectPositionals, openOrExplain, parseOptions, runCommand, takeRef, type ObjectRef } from './args.js';
import type { Command } from './main.js';
import { formatDetails, formatTable, printLines, toJson } from './table.js';

const HELP = `usage: bpfkit link list [--json]
       bpfkit link show LINK [--json]
       bpfkit link detach LINK
       bpfkit link pin LINK PATH

LINK is a link id (12, or "id 12") or the path it is pinned at
(/sys/fs/bpf/x, or "pinned /sys/fs/bpf/x").

  list      every bpf_link in the kernel: type, attach type, target, program
  show      one link in detail
  detach    detach the link's program now (the link object lives on, empty,
            until its last fd and pin are gone); also for pinned links
  pin       pin the link at PATH on a bpffs mount: it then outlives bpfkit

options:
  --json    machine-readable output
  -h, --help

Needs root (or CAP_BPF and the capability of the hook: CAP_NET_ADMIN, CAP_PERFMON).
`;

export interface LinkDetails {
  id: number;
  type: string;
  programId: number;
  programName: string;
  attachType?: string;
  /** What the link is attached to: "cgroup 1234", "ifindex 3", "netns 4026531840", ... */
  target?: string;
}

const linkTypeNames = Object.fromEntries(Object.entries(LinkType).map(([k, v]) => [v, k.toLowerCase()])) as Record<number, string>;

/** The per-type part of bpf_link_info that says where the link is attached. */
function attachment(type: number, info: Uint8Array): { attachType?: number; target?: string } {
  const view = new DataView(info.buffer, info.byteOffset, info.byteLength);
  const u32 = (at: number) => view.getUint32(at, true);
  switch (type) {
    case LinkType.CGROUP:
      return { target: `cgroup ${view.getBigUint64(16, true)}`, attachType: u32(24) };
    case LinkType.NETNS:
      return { target: `netns ${u32(16)}`, attachType: u32(20) };
    case LinkType.XDP:
      return { target: `ifindex ${u32(16)}` };
    case LinkType.TCX:
    case LinkType.NETKIT:
      return { target: `ifindex ${u32(16)}`, attachType: u32(20) };
    case LinkType.SOCKMAP:
      return { target: `map ${u32(16)}`, attachType: u32(20) };
    case LinkType.TRACING:
      return { attachType: u32(16), target: `btf ${u32(20)}:${u32(24)}` };
    case LinkType.NETFILTER:
      return { target: `pf ${u32(16)} hook ${u32(20)} prio ${view.getInt32(24, true)}` };
    default:
      return {};
  }
}

function details(link: KernelLink): LinkDetails {
  const info = objectInfo(link.fd, LinkInfoLayout);
  const view = new DataView(info.buffer, info.byteOffset, info.byteLength);
  const type = view.getUint32(0, true);
  const programId = view.getUint32(8, true);
  let programName = '';
  try {
    using program = KernelProgram.fromId(programId);
    programName = programSummary(program.fd).name;
  } catch {
    // Detached (program id 0) or gone meanwhile: no name.
  }
  const where = attachment(type, info);
  const out: LinkDetails = { id: view.getUint32(4, true), type: linkTypeNames[type] ?? String(type), programId, programName };
  if (where.attachType !== undefined) out.attachType = attachTypeName(where.attachType)?.toLowerCase() ?? String(where.attachType);
  if (where.target !== undefined) out.target = where.target;
  return out;
}

function openLink(ref: ObjectRef): KernelLink {
  return openOrExplain(ref, 'link', () => ('id' in ref ? KernelLink.fromId(ref.id) : KernelLink.fromPin(ref.pin)));
}

function list(args: string[]): number {
  const { values, positionals } = parseOptions(args, { json: { type: 'boolean' } });
  expectPositionals(positionals, []);
  const rows: LinkDetails[] = [];
  for (const { id } of listLinks()) {
    try {
      using link = KernelLink.fromId(id);
      rows.push(details(link));
    } catch {
      // Released between listing and opening.
    }
  }
  if (values.json) {
    process.stdout.write(toJson(rows));
    return 0;
  }
  printLines(
    formatTable(
      ['ID', 'TYPE', 'ATTACH', 'TARGET', 'PROG'],
      rows.map((l) => [String(l.id), l.type, l.attachType ?? '-', l.target ?? '-', l.programId ? `${l.programId} ${l.programName}`.trim() : '- (detached)']),
    ),
  );
  return 0;
}

function show(args: string[]): number {
  const { values, positionals } = parseOptions(args, { json: { type: 'boolean' } });
  const { ref, rest } = takeRef(positionals, 'link');
  expectPositionals(rest, []);
  using link = openLink(ref);
  const l = details(link);
  if (values.json) {
    process.stdout.write(toJson(l));
    return 0;
  }
  printLines(
    formatDetails([
      ['id', String(l.id)],
      ['type', l.type],
      ['attach type', l.attachType ?? '-'],
      ['target', l.target ?? '-'],
      ['program', l.programId ? `${l.programId} ${l.programName}`.trim() : '- (detached)'],
    ]),
  );
  return 0;
}

function detach(args: string[]): number {
  const { positionals } = parseOptions(args, {});
  const { ref, rest } = takeRef(positionals, 'link');
  expectPositionals(rest, []);
  using link = openLink(ref);
  link.detach();
  return 0;
}

function pin(args: string[]): number {
  const { positionals } = parseOptions(args, {});
  const { ref, rest } = takeRef(positionals, 'link');
  const [path] = expectPositionals(rest, ['PATH']);
  using link = openLink(ref);
  link.pin(path!);
  return 0;
}

export const command: Command = {
  summary: 'list, show, detach and pin kernel links',
  help: HELP,
  run: (args: string[]) => runCommand('bpfkit link', HELP, () => dispatch({ list, show, detach, pin }, args)),
};
