/**
 * `bpfkit prog list|show|dump xlated|load|run|pin`: the kernel's loaded programs, in the
 * spirit of `bpftool prog`, as aligned tables or `--json`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { DisasmSyntax } from '../isa/index.js';
import { listPrograms, programSummary, xlatedInstructions, type ProgramSummary } from '../kernel/inventory.js';
import { KernelProgram } from '../kernel/program.js';
import { dispatch, expectPositionals, openOrExplain, parseCount, parseOptions, runCommand, takeRef, UsageError, type ObjectRef } from './args.js';
import type { Command } from './main.js';
import { formatLoaded, loadedJson, loadObjectFile } from './object-load.js';
import { parseProgType } from './object.js';
import { xlatedListing } from './xlated.js';
import { formatDetails, formatTable, printLines, toJson } from './table.js';

const HELP = `usage: bpfkit prog list [--json]
       bpfkit prog show PROG [--json]
       bpfkit prog dump xlated PROG [--syntax bpfkit|llvm] [--json]
       bpfkit prog load FILE.o [--pin DIR] [--type T] [--json]
       bpfkit prog run PROG [--data-in FILE] [--data-out FILE] [--repeat N] [--json]
       bpfkit prog pin PROG PATH

PROG is a program id (12, or "id 12") or the path it is pinned at
(/sys/fs/bpf/x, or "pinned /sys/fs/bpf/x").

  list          every program loaded in the kernel
  show          one program in detail
  dump xlated   the program's instructions as the verifier rewrote them
                (map addresses as the kernel shows them)
  load          load every program of an object file (maps, BTF, CO-RE as
                libbpf does); --pin DIR pins each at DIR/NAME, without it
                they are released when bpfkit exits
  run           run the program once (or N times) with BPF_PROG_TEST_RUN on
                the bytes of --data-in; prints r0, the mean duration and the
                output data size (the data itself with --data-out FILE)
  pin           pin the program at PATH on a bpffs mount

options:
  --json              machine-readable output
  --syntax SYNTAX     bpfkit (default: helper names, call bpf_map_lookup_elem#1)
                      or llvm (llvm-objdump's text)
  --type T            program type for sections libbpf does not know
  --repeat N          run N times (the duration is the mean)
  -h, --help          this text

Needs root (or CAP_BPF and CAP_PERFMON).
`;

/** Open a program by id or pin path. */
function openProgram(ref: ObjectRef): KernelProgram {
  return openOrExplain(ref, 'program', () => ('id' in ref ? KernelProgram.fromId(ref.id) : KernelProgram.fromPin(ref.pin)));
}

/** CLOCK_BOOTTIME nanoseconds (load_time) as a wall-clock date. */
function loadedAt(bootNs: bigint): string {
  const uptimeMs = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
  const when = new Date(Date.now() - uptimeMs + Number(bootNs / 1_000_000n));
  return when.toISOString().replace(/\.\d+Z$/, 'Z');
}

function programJson(p: ProgramSummary): Record<string, unknown> {
  return {
    id: p.id,
    type: p.typeName,
    name: p.name,
    tag: p.tag,
    loadedAt: loadedAt(p.loadTimeNs),
    uid: p.uid,
    xlatedBytes: p.xlatedBytes,
    xlatedInstructions: p.xlatedBytes / 8,
    jitedBytes: p.jitedBytes,
    verifiedInstructions: p.verifiedInstructions,
    mapIds: p.mapIds,
    btfId: p.btfId,
    runCount: p.runCount,
    runTimeNs: p.runTimeNs,
  };
}

function list(args: string[]): number {
  const { values, positionals } = parseOptions(args, { json: { type: 'boolean' } });
  expectPositionals(positionals, []);
  const programs = listPrograms();
  if (values.json) {
    process.stdout.write(toJson(programs.map(programJson)));
    return 0;
  }
  printLines(
    formatTable(
      ['ID', 'TYPE', 'NAME', 'TAG', 'XLATED', 'JITED', 'MAPS', 'LOADED'],
      programs.map((p) => [String(p.id), p.typeName, p.name || '-', p.tag, String(p.xlatedBytes / 8), `${p.jitedBytes}B`, p.mapIds.join(',') || '-', loadedAt(p.loadTimeNs)]),
    ),
  );
  return 0;
}

function show(args: string[]): number {
  const { values, positionals } = parseOptions(args, { json: { type: 'boolean' } });
  const { ref, rest } = takeRef(positionals, 'program');
  expectPositionals(rest, []);
  using program = openProgram(ref);
  const p = programSummary(program.fd);
  if (values.json) {
    process.stdout.write(toJson(programJson(p)));
    return 0;
  }
  printLines(
    formatDetails([
      ['id', String(p.id)],
      ['type', p.typeName],
      ['name', p.name || '-'],
      ['tag', p.tag],
      ['loaded at', loadedAt(p.loadTimeNs)],
      ['uid', String(p.uid)],
      ['xlated', `${p.xlatedBytes}B (${p.xlatedBytes / 8} instructions)`],
      ['jited', `${p.jitedBytes}B`],
      ['verified insns', String(p.verifiedInstructions)],
      ['map ids', p.mapIds.join(',') || '-'],
      ['btf id', p.btfId ? String(p.btfId) : '-'],
      ['run count', `${p.runCount} (${p.runTimeNs}ns; counted while stats are enabled)`],
    ]),
  );
  return 0;
}

function dump(args: string[]): number {
  const [kind, ...rest] = args;
  if (kind !== 'xlated') throw new UsageError(`prog dump: expected "xlated"${kind ? `, not "${kind}"` : ''} (jited code is not shown)`);
  const { values, positionals } = parseOptions(rest, { json: { type: 'boolean' }, syntax: { type: 'string' } });
  const syntax = values.syntax ?? 'bpfkit';
  if (syntax !== 'bpfkit' && syntax !== 'llvm') throw new UsageError(`--syntax must be bpfkit or llvm, not "${syntax}"`);
  const { ref, rest: more } = takeRef(positionals, 'program');
  expectPositionals(more, []);
  using program = openProgram(ref);
  const rows = xlatedListing(xlatedInstructions(program.fd), syntax as DisasmSyntax);
  if (values.json) process.stdout.write(toJson(rows.map((r) => ({ slot: r.slot, insn: r.text }))));
  else printLines(rows.map((r) => `${String(r.slot).padStart(4)}: ${r.text}`));
  return 0;
}

function load(args: string[]): number {
  const { values, positionals } = parseOptions(args, { json: { type: 'boolean' }, pin: { type: 'string' }, type: { type: 'string' } });
  const [file] = expectPositionals(positionals, ['FILE.o']);
  const programType = parseProgType(values.type);
  if (programType === null) throw new UsageError(`--type must be a program type number or name (e.g. 6 or xdp), not "${values.type}"`);
  const loaded = loadObjectFile({ file: file!, pinMaps: false, ...(values.pin !== undefined && { pinDir: values.pin }), ...(programType !== undefined && { programType }) });
  try {
    if (values.json) process.stdout.write(toJson(loadedJson(loaded, false)));
    else printLines(formatLoaded(loaded, false, values.pin));
  } finally {
    loaded.collection.close();
  }
  return 0;
}

function run(args: string[]): number {
  const { values, positionals } = parseOptions(args, {
    json: { type: 'boolean' },
    'data-in': { type: 'string' },
    'data-out': { type: 'string' },
    repeat: { type: 'string' },
  });
  const { ref, rest } = takeRef(positionals, 'program');
  expectPositionals(rest, []);
  const repeat = parseCount(values.repeat, '--repeat', 1);
  let data: Uint8Array | undefined;
  if (values['data-in'] !== undefined) {
    try {
      data = readFileSync(values['data-in']);
    } catch (error) {
      throw new Error(`cannot read --data-in ${values['data-in']}: ${(error as Error).message}`);
    }
  }
  using program = openProgram(ref);
  const result = program.testRun({ ...(data && { data }), repeat });
  if (values['data-out'] !== undefined) writeFileSync(values['data-out'], result.data);
  if (values.json) {
    process.stdout.write(toJson({ retval: result.retval, durationNs: result.durationNs, dataOutBytes: result.data.length, repeat }));
  } else {
    printLines(
      formatDetails([
        ['retval', `${result.retval} (0x${(result.retval >>> 0).toString(16)})`],
        ['duration', `${result.durationNs}ns (mean of ${repeat})`],
        ['data out', `${result.data.length} bytes${values['data-out'] ? ` -> ${values['data-out']}` : ''}`],
      ]),
    );
  }
  return 0;
}

function pin(args: string[]): number {
  const { positionals } = parseOptions(args, {});
  const { ref, rest } = takeRef(positionals, 'program');
  const [path] = expectPositionals(rest, ['PATH']);
  using program = openProgram(ref);
  program.pin(path!);
  return 0;
}

const subcommands: Record<string, (args: string[]) => number> = { list, show, dump, load, run, pin };

export const command: Command = {
  summary: 'list, show, dump, load, run and pin kernel programs',
  help: HELP,
  run(args: string[]): Promise<number> {
    return runCommand('bpfkit prog', HELP, () => dispatch(subcommands, args));
  },
};
