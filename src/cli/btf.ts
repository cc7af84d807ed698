/**
 * `bpfkit btf dump FILE`: print the BTF of an eBPF object (its .BTF section) or a raw BTF
 * blob (/sys/kernel/btf/vmlinux, module BTF with --base) as C (bpftool's `format c`), as
 * TypeScript declarations, or as bpftool's raw listing.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Btf } from '../btf/btf.js';
import { dumpC } from '../btf/c-dump.js';
import { BtfError } from '../btf/errors.js';
import { dumpRaw } from '../btf/raw-dump.js';
import { dumpTs } from '../btf/ts-dump.js';
import { ElfError, parseElf, sectionByName } from '../elf/index.js';
import type { Command } from './main.js';

const help = `usage: bpfkit btf dump FILE [--format c|ts|raw] [--type NAME]... [--base FILE]

Print the BTF of FILE: an eBPF object (its .BTF section) or a raw BTF file such as
/sys/kernel/btf/vmlinux.

  --format c     C declarations, exactly as \`bpftool btf dump file FILE format c\` (default)
  --format ts    TypeScript declarations: interfaces with field offsets, enums as const objects
  --format raw   one line per type, as \`bpftool btf dump file FILE\`
  --type NAME    only the types called NAME (and, for c and ts, the types they need);
                 may be repeated
  --base FILE    FILE is split BTF (a kernel module's) over this base BTF (e.g. vmlinux)
`;

/** The .BTF bytes of FILE: its .BTF section when it is an ELF object, else the file itself. */
export function btfBytesOf(bytes: Uint8Array, fileName: string): Uint8Array {
  if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
    const section = sectionByName(parseElf(bytes), '.BTF');
    if (!section) throw new BtfError(`${fileName} has no .BTF section (compile with -g)`, 'file');
    return section.data;
  }
  return bytes;
}

async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'dump') {
    process.stderr.write(sub === undefined ? help : `bpfkit btf: unknown subcommand "${sub}"\n\n${help}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { format: { type: 'string', default: 'c' }, type: { type: 'string', multiple: true }, base: { type: 'string' } },
    });
  } catch (e) {
    process.stderr.write(`bpfkit btf dump: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const format = values.format!;
  if (positionals.length !== 1 || !['c', 'ts', 'raw'].includes(format)) {
    process.stderr.write(help);
    return 2;
  }
  const file = positionals[0]!;
  try {
    const base = values.base ? Btf.parse(btfBytesOf(new Uint8Array(readFileSync(values.base)), values.base)) : undefined;
    const btf = Btf.parse(btfBytesOf(new Uint8Array(readFileSync(file)), file), { base });
    let ids: number[] | undefined;
    if (values.type) {
      ids = [];
      for (const name of values.type) {
        const found = btf.findAllByName(name).filter((t) => t.kind !== 'func' && t.kind !== 'var' && t.kind !== 'decl_tag');
        if (found.length === 0) throw new BtfError(`no type called "${name}"`, 'file');
        ids.push(...found.map((t) => t.id));
      }
    }
    const text = format === 'c' ? dumpC(btf, ids) : format === 'ts' ? dumpTs(btf, { rootIds: ids }) : dumpRaw(btf, ids);
    process.stdout.write(text);
    return 0;
  } catch (e) {
    if (e instanceof BtfError || e instanceof ElfError) {
      process.stderr.write(`bpfkit btf dump: ${file}: ${e.message}\n`);
      return 1;
    }
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EACCES') {
      process.stderr.write(`bpfkit btf dump: ${(e as Error).message}\n`);
      return 1;
    }
    throw e;
  }
}

export const command: Command = {
  summary: 'print BTF as C, TypeScript or a raw listing',
  help,
  run,
};
