/**
 * A problem found while reading one line of assembly. The per-line parsers throw it
 * without knowing where they are; the assembler adds the line and turns it into an
 * {@link AssemblyError}.
 */
export class LineProblem extends Error {
  override readonly name = 'LineProblem';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Throw a {@link LineProblem}. */
export function problem(reason: string): never {
  throw new LineProblem(reason);
}
