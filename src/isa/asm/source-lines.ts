import { problem } from './syntax-error.js';

/** A source line with its comment removed and its leading labels taken off. */
export interface SourceLine {
  /** 1-based line number. */
  line: number;
  /** The original text, for error messages. */
  text: string;
  /** Labels defined at the start of the line (`name:`), in order. */
  labels: string[];
  /** The instruction text after the labels, trimmed; '' when there is none. */
  code: string;
}

/** Label names: identifiers, allowing `.` and `$` as assemblers do (LBB0_3, .Ltmp1). */
export const LABEL_NAME = /^[A-Za-z_.$][\w.$]*$/;
const LEADING_LABEL = /^([A-Za-z_.$][\w.$]*)\s*:(?!=)/;
/** llvm-objdump's function headers: `0000000000000000 <name>:`. */
const OBJDUMP_FUNCTION = /^(?:[0-9a-fA-F]+\s+)?<([^<>\s]+)>\s*:/;
/** llvm-objdump's file and section headers, which carry no instruction. */
const OBJDUMP_HEADER = /^(?:\S.*:\s+file format \S+|Disassembly of section \S.*:)$/;
/**
 * llvm-objdump's instruction prefix: the byte address and, unless --no-show-raw-insn,
 * the instruction bytes (`  10:\t18 01 00 ... 00\tr1 = 0 ll`), so its output assembles.
 */
const OBJDUMP_ADDRESS = /^(?:[0-9a-fA-F]+:\s+(?:[0-9a-fA-F]{2}\s+){8,16}|[0-9]+:\s+)/;

/**
 * Strip a comment. `;` and `//` start one anywhere; `#` starts one at the start of the
 * line or after a blank, so that bpfkit's `call bpf_map_lookup_elem#1` keeps its `#`.
 * In the ubpf syntax every `#` starts a comment.
 */
export function stripComment(text: string, hashAnywhere: boolean): string {
  let end = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === ';' || (c === '/' && text[i + 1] === '/')) {
      end = i;
      break;
    }
    if (c === '#' && (hashAnywhere || i === 0 || /\s/.test(text[i - 1]!))) {
      end = i;
      break;
    }
  }
  return text.slice(0, end);
}

/**
 * Split a source into lines, removing comments and peeling off leading labels.
 * With `objdump`, llvm-objdump's listing decorations (file and section headers, slot
 * numbers, raw bytes, `<function>:` headers as labels) are read too, so a listing
 * assembles back into its instructions.
 */
export function sourceLines(source: string, options: { hashAnywhere: boolean; objdump: boolean }): SourceLine[] {
  const { hashAnywhere, objdump } = options;
  const out: SourceLine[] = [];
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.replace(/\r$/, '');
    let code = stripComment(text, hashAnywhere).trim();
    const labels: string[] = [];
    if (objdump) code = OBJDUMP_HEADER.test(code) ? '' : code.replace(OBJDUMP_ADDRESS, '');
    for (;;) {
      const m = LEADING_LABEL.exec(code) ?? (objdump ? OBJDUMP_FUNCTION.exec(code) : null);
      if (!m) break;
      labels.push(m[1]!);
      code = code.slice(m[0].length).trim();
    }
    out.push({ line: i + 1, text, labels, code });
  }
  return out;
}

/** Check a label name used as a target. */
export function checkLabelName(name: string): string {
  if (!LABEL_NAME.test(name)) problem(`"${name}" is neither a label name nor an offset like +3 or -2`);
  return name;
}
