/**
 * Test support for the disassembler: runs the reference tools (llvm-mc-19 to wrap raw
 * instruction bytes in an object, llvm-objdump-19 to disassemble it) so that expected
 * texts are measured from the real tool, never written by hand.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Are the LLVM 19 tools installed? */
export function haveLlvm19(): boolean {
  // Under CI the tools must be there: a missing one fails the tests instead of skipping them.
  if (process.env.CI === 'true') return true;
  try {
    execFileSync('llvm-objdump-19', ['--version'], { stdio: 'ignore' });
    execFileSync('llvm-mc-19', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Collapse whitespace runs, so texts compare "ignoring only whitespace". */
export function normalize(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}

/** One instruction line of llvm-objdump's output. */
export interface ObjdumpLine {
  slot: number;
  bytes: string;
  text: string;
}

/** One disassembled section of llvm-objdump's output. */
export interface ObjdumpSection {
  name: string;
  /** Labels printed before instructions: [slot, name]. */
  labels: Array<[number, string]>;
  lines: ObjdumpLine[];
}

/** Run `llvm-objdump-19 -d --no-print-imm-hex` (plus extra args) and return its stdout. */
export function objdump(objectPath: string, extra: string[] = []): string {
  return execFileSync('llvm-objdump-19', ['-d', '--no-print-imm-hex', ...extra, objectPath], {
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
}

/** Parse llvm-objdump -d output into sections, labels and instruction lines. */
export function parseObjdump(output: string): ObjdumpSection[] {
  const sections: ObjdumpSection[] = [];
  let current: ObjdumpSection | undefined;
  for (const line of output.split('\n')) {
    const header = /^Disassembly of section (.*):$/.exec(line);
    if (header) {
      current = { name: header[1]!, labels: [], lines: [] };
      sections.push(current);
      continue;
    }
    if (!current) continue;
    const label = /^([0-9a-f]{16}) <(.*)>:$/.exec(line);
    if (label) {
      current.labels.push([Number(BigInt(`0x${label[1]}`) / 8n), label[2]!]);
      continue;
    }
    const insn = /^\s*(\d+):\t([0-9a-f ]+?)\s*\t(.*)$/.exec(line);
    if (insn) current.lines.push({ slot: Number(insn[1]), bytes: insn[2]!, text: insn[3]! });
  }
  return sections;
}

/**
 * Wrap raw instruction bytes in an object (section `.text`, function symbol `f` at 0)
 * with llvm-mc-19 and return llvm-objdump-19's text per slot.
 */
export function objdumpRawBytes(bytes: Uint8Array, options: { alu32?: boolean; bigEndian?: boolean } = {}): Map<number, string> {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-disasm-'));
  try {
    const lines = ['.text', '.globl f', '.type f,@function', 'f:'];
    for (let at = 0; at < bytes.length; at += 8) lines.push(`.byte ${Array.from(bytes.subarray(at, at + 8)).join(',')}`);
    const source = join(dir, 'raw.s');
    const object = join(dir, 'raw.o');
    writeFileSync(source, lines.join('\n') + '\n');
    execFileSync('llvm-mc-19', ['-triple', options.bigEndian ? 'bpfeb' : 'bpfel', '-filetype=obj', source, '-o', object]);
    const text = objdump(object, options.alu32 ? ['--mattr=+alu32'] : []);
    const out = new Map<number, string>();
    for (const section of parseObjdump(text)) for (const l of section.lines) out.set(l.slot, l.text);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Assemble a `.s` file with llvm-mc-19 into `dir` and return the object's path. */
export function llvmMcObject(source: string, dir: string, options: { bigEndian?: boolean } = {}): string {
  const object = join(dir, `${options.bigEndian ? 'eb' : 'el'}-${source.replace(/[^a-z0-9]+/gi, '_')}.o`);
  execFileSync('llvm-mc-19', ['-triple', options.bigEndian ? 'bpfeb' : 'bpfel', '-filetype=obj', source, '-o', object]);
  return object;
}
