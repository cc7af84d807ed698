import { isIntegerLiteral, parseSigned } from './numbers.js';
import { checkLabelName } from './source-lines.js';
import type { Operation } from '../operation.js';
import { targetBits, type Statement } from './statement.js';

/**
 * A jump or call target: `+N`/`-N` (slots after the next instruction) or a label name.
 * The operation is built with offset 0 for a label; the assembler fills it in.
 */
export function withTarget(text: string, build: (offset: number) => Operation): Statement {
  const t = text.trim();
  if (isIntegerLiteral(t)) {
    const probe = build(0);
    return { op: build(parseSigned(t, targetBits(probe), 'jump offset')) };
  }
  return { op: build(0), target: checkLabelName(t) };
}
