/**
 * `bpfkit object inspect FILE.o [--json]`: what an eBPF object holds — programs, maps,
 * global variables, externs, license, kernel version and a BTF summary — as read by the
 * ELF layer's loadObjectSpec (the same model both backends load).
 * `bpfkit object load FILE.o [--pin DIR] [--set NAME=VALUE ...]`: load it into the kernel
 * (object-load.ts) and print what was created.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadObjectSpec } from '../elf/load-object.js';
import { summarizeObject, type MapSummary, type ObjectSummary } from '../elf/object-summary.js';
import { ProgType } from '../uapi/prog-types.js';
import type { Command } from './main.js';

const HELP = `usage: bpfkit object inspect FILE.o [--json] [--program-type T]
       bpfkit object load FILE.o [--pin DIR] [--set NAME=VALUE ...] [--type T] [--json]

inspect: show what an eBPF object file (clang -target bpf, libbpf conventions) holds:
programs (section, function, program type, expected attach type and target,
instruction count, appended subprograms), maps (name, type, key/value size,
max entries, flags, pinning), global variables, externs, license, kernel
version and a BTF summary.

options:
  --json              print the summary as JSON
  --program-type T    program type (number or name, e.g. xdp, sched_cls) for
                      sections libbpf does not know
  -h, --help          this text

load: load every program and map of the object into the kernel (as libbpf
would: BTF, global data, CO-RE, pinned maps reused) and print their ids. A
program the verifier rejects ends with exit code 1, the source line it names
and the end of the verifier log. Needs root (or CAP_BPF).

options:
  --pin DIR           pin programs at DIR/PROG and maps at DIR/MAP (dots in
                      map names become underscores) on a bpffs mount; maps
                      with pinning by_name are looked up in DIR first.
                      Without --pin everything is released when bpfkit exits
                      (a dry run: does the kernel accept the object?)
  --set NAME=VALUE    set global variable NAME (.rodata, .data, .bss) before
                      load: an integer (42, -1, 0x2a), true/false, or bytes
                      as hex:0102ff; may be repeated
  --type T            program type for sections libbpf does not know
  --json              print the result as JSON
`;

/** Render the summary as aligned text tables. */
export function formatSummary(file: string, s: ObjectSummary): string {
  const lines: string[] = [];
  lines.push(`${file}: eBPF object, ${s.endian}-endian, license "${s.license}", kernel version ${s.kernelVersion}`);
  lines.push('', `programs (${s.programs.length}):`);
  append(lines, table(
      ['NAME', 'SECTION', 'TYPE', 'ATTACH', 'TARGET', 'FLAGS', 'INSNS', 'SUBPROGRAMS'],
      s.programs.map((p) => [
        p.name,
        p.section,
        p.type,
        p.attachType ?? '-',
        p.attachTarget ?? '-',
        hex(p.flags),
        String(p.instructions),
        p.subprograms.join(',') || '-',
      ]),
    ),
  );
  const maps: MapSummary[] = [];
  for (const m of s.maps) {
    maps.push(m);
    if (m.inner) maps.push({ ...m.inner, name: `  ${m.inner.name}` });
  }
  lines.push('', `maps (${s.maps.length}):`);
  append(lines, table(
      ['NAME', 'TYPE', 'KEY', 'VALUE', 'MAX', 'FLAGS', 'PINNING', 'SECTION'],
      maps.map((m) => [m.name, m.type, String(m.keySize), String(m.valueSize), String(m.maxEntries), hex(m.flags), m.pinning, m.section]),
    ),
  );
  for (const m of s.maps) {
    for (const slot of m.initialSlots ?? []) lines.push(`  ${m.name}[${slot.index}] = ${slot.name}`);
    for (const p of m.structOps?.programs ?? []) lines.push(`  ${m.name}.${p.member} = ${p.program}  (struct ${m.structOps!.typeName})`);
  }
  lines.push('', `variables (${s.variables.length}):`);
  append(lines, table(['NAME', 'SECTION', 'OFFSET', 'SIZE', 'LINKAGE'], s.variables.map((v) => [v.name, v.section, String(v.offset), String(v.size), v.linkage])));
  if (s.externs.length > 0) {
    lines.push('', `externs (${s.externs.length}):`);
    append(lines, table(['NAME', 'KIND', 'WEAK'], s.externs.map((e) => [e.name, e.kind, e.weak ? 'yes' : 'no'])));
  }
  lines.push('');
  if (s.btf) {
    const kinds = Object.entries(s.btf.kinds)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    lines.push(`BTF: ${s.btf.types} types in ${s.btf.bytes} bytes (${kinds})`);
    lines.push(
      `BTF.ext: ${s.btf.extBytes ?? 0} bytes; per program: ${s.btf.funcInfo} func_info, ${s.btf.lineInfo} line_info, ${s.btf.coreRelocations} CO-RE relocations`,
    );
  } else {
    lines.push('BTF: none');
  }
  return lines.join('\n') + '\n';
}

/** lines.push(...more) without the argument-count limit (tables can be long). */
function append(lines: string[], more: string[]): void {
  for (const l of more) lines.push(l);
}

function hex(n: number): string {
  return n === 0 ? '0' : `0x${n.toString(16)}`;
}

function table(header: string[], rows: string[][]): string[] {
  if (rows.length === 0) return ['  (none)'];
  const widths = header.map((h, i) => rows.reduce((w, r) => Math.max(w, r[i]!.length), h.length));
  const line = (cells: string[]) => '  ' + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)];
}

/** A program type from a number or a name such as "xdp" or "SCHED_CLS"; null if neither. */
export function parseProgType(text: string | undefined): number | undefined | null {
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  const key = text.toUpperCase() as keyof typeof ProgType;
  return Object.hasOwn(ProgType, key) ? ProgType[key] : null;
}

export const command: Command = {
  summary: 'inspect an eBPF object file, or load it into the kernel',
  help: HELP,
  async run(args: string[]): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === 'load') return (await import('./object-load.js')).runObjectLoad(rest, HELP);
    if (sub !== 'inspect') {
      process.stderr.write(`bpfkit object: expected the subcommand "inspect" or "load"${sub ? `, not "${sub}"` : ''}\n\n${HELP}`);
      return 2;
    }
    let parsed;
    try {
      parsed = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' }, 'program-type': { type: 'string' } } });
    } catch (e) {
      process.stderr.write(`bpfkit object: ${(e as Error).message}\n\n${HELP}`);
      return 2;
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) {
      process.stderr.write(`bpfkit object inspect: expected one object file, got ${positionals.length}\n\n${HELP}`);
      return 2;
    }
    const programType = parseProgType(values['program-type']);
    if (programType === null) {
      process.stderr.write(`bpfkit object inspect: --program-type must be a program type number or name (e.g. 6 or xdp)\n`);
      return 2;
    }
    const file = positionals[0]!;
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      process.stderr.write(`bpfkit object inspect: cannot read ${file}: ${(e as Error).message}\n`);
      return 1;
    }
    let summary: ObjectSummary;
    try {
      summary = summarizeObject(loadObjectSpec(bytes, programType === undefined ? {} : { programType }));
    } catch (e) {
      if (e instanceof Error && (e.name === 'ElfError' || e.name === 'BtfError')) {
        process.stderr.write(`bpfkit object inspect: ${file}: ${e.message}\n`);
        return 1;
      }
      throw e;
    }
    process.stdout.write(values.json ? JSON.stringify({ file, ...summary }, null, 2) + '\n' : formatSummary(file, summary));
    return 0;
  },
};
