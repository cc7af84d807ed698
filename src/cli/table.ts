/**
 * Output helpers shared by the kernel subcommands (prog, map, link, feature): aligned
 * text tables for people, JSON for machines.
 */

/**
 * Rows under a header, each column as wide as its widest cell; the last column is not
 * padded (no trailing blanks). An empty table prints the header alone.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths = header.map((h, i) => rows.reduce((w, r) => Math.max(w, (r[i] ?? '').length), h.length));
  const line = (cells: readonly string[]) => indent + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const out = [line(header)];
  for (const r of rows) out.push(line(r));
  return out;
}

/** "key: value" lines with the values aligned, for `show` of one object. */
export function formatDetails(pairs: ReadonlyArray<readonly [string, string]>): string[] {
  const width = pairs.reduce((w, [k]) => Math.max(w, k.length + 1), 0);
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)}  ${v}`);
}

/** JSON with bigints as numbers when exact and strings otherwise, indented, newline-terminated. */
export function toJson(value: unknown): string {
  return (
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v), 2) + '\n'
  );
}

/** Write lines (plus a final newline) to stdout. */
export function printLines(lines: readonly string[]): void {
  process.stdout.write(lines.length === 0 ? '' : lines.join('\n') + '\n');
}

/** lines.push(...more) without the argument-count limit (tables can be long). */
export function appendLines(lines: string[], more: readonly string[]): void {
  for (const line of more) lines.push(line);
}
