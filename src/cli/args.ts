/**
 * Argument handling shared by the kernel subcommands: option parsing that reports
 * usage errors (exit 2) instead of throwing, ids and pin paths, and one place that turns
 * any failure into a one-line message and exit code 1 (never a stack trace).
 */
import { readlinkSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad usage: unknown flag, missing or malformed argument. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** What parseOptions returns: parseArgs's result for these options, positionals allowed. */
export type ParsedOptions<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

/** node:util parseArgs with positionals allowed; its errors become UsageErrors. */
export function parseOptions<O extends Options>(args: string[], options: O): ParsedOptions<O> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A kernel object named on the command line: by id (`12`, `id 12`) or by pin path. */
export type ObjectRef = { id: number } | { pin: string };

/**
 * Read an object reference from the front of `words` (bpftool accepts `id N` and
 * `pinned PATH`; a bare number is an id, anything else a pin path). Returns the rest.
 */
export function takeRef(words: readonly string[], what: string): { ref: ObjectRef; rest: string[] } {
  const [first, second, ...more] = words;
  if (first === undefined) throw new UsageError(`expected a ${what} id or pin path`);
  if (first === 'id' || first === 'pinned') {
    if (second === undefined) throw new UsageError(`expected a ${what} ${first === 'id' ? 'id' : 'pin path'} after "${first}"`);
    return { ref: first === 'id' ? { id: parseId(second, what) } : { pin: second }, rest: more };
  }
  const rest = words.slice(1);
  return { ref: /^\d+$/.test(first) ? { id: parseId(first, what) } : { pin: first }, rest };
}

/** A positive decimal id. */
export function parseId(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) === 0 || Number(text) > 0xffffffff) throw new UsageError(`"${text}" is not a ${what} id (a positive number)`);
  return Number(text);
}

/** A non-negative integer option value. */
export function parseCount(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} must be a non-negative integer, not "${text}"`);
  return Number(text);
}

/** Exactly `n` positionals, or a UsageError naming what was expected. */
export function expectPositionals(positionals: readonly string[], names: readonly string[]): string[] {
  if (positionals.length !== names.length) {
    throw new UsageError(`expected ${names.length === 0 ? 'no arguments' : names.join(' ')}, got ${positionals.length === 0 ? 'nothing' : positionals.map((p) => `"${p}"`).join(' ')}`);
  }
  return [...positionals];
}

/**
 * Run a subcommand body: usage errors print the message and the help (exit 2); any
 * other failure (kernel refusal, missing file, unknown id, verifier) prints its message
 * alone (exit 1).
 */
export async function runCommand(prefix: string, help: string, body: () => number | Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) {
      // The usage lines (the help's first paragraph), not the whole help.
      const usage = help.trimEnd().split('\n\n')[0]!;
      process.stderr.write(`${prefix}: ${error.message}\n\n${usage}\n(${prefix.split(' ').slice(0, 2).join(' ')} --help for details)\n`);
      return 2;
    }
    process.stderr.write(`${prefix}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

/** Run the subcommand `args[0]` names, with the rest of the arguments. */
export function dispatch(subcommands: Readonly<Record<string, (args: string[]) => number | Promise<number>>>, args: string[]): number | Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined) throw new UsageError(`expected a subcommand (${Object.keys(subcommands).join(', ')})`);
  if (!Object.hasOwn(subcommands, sub)) throw new UsageError(`unknown subcommand "${sub}" (expected ${Object.keys(subcommands).join(', ')})`);
  return subcommands[sub]!(rest);
}

/**
 * Open a kernel object by reference; "not found" says so plainly (no program with id 7,
 * nothing pinned at PATH, PATH holds a map not a program).
 */
export function openOrExplain<T extends { fd: number; close(): void }>(ref: ObjectRef, what: 'program' | 'map' | 'link', open: () => T): T {
  let object: T;
  try {
    object = open();
  } catch (error) {
    const errno = (error as { errno?: number }).errno;
    if (errno === 2) throw new Error('id' in ref ? `no ${what} with id ${ref.id}` : `nothing is pinned at ${ref.pin}`);
    if (errno === 22 && 'pin' in ref) throw new Error(`${ref.pin} does not hold a ${what}`);
    throw error;
  }
  // A pin may hold any kind of object, and the info call does not tell them apart: the
  // fd's anonymous inode does (anon_inode:bpf-prog, bpf-map, bpf_link).
  const kind = readlinkSync(`/proc/self/fd/${object.fd}`);
  const want = { program: /bpf-prog/, map: /bpf-map/, link: /bpf[-_]link/ }[what];
  if (!want.test(kind)) {
    object.close();
    throw new Error(`${'pin' in ref ? ref.pin : `id ${ref.id}`} holds ${kind.replace(/^anon_inode:/, '')}, not a ${what}`);
  }
  return object;
}
