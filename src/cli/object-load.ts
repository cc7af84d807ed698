/**
 * Loading an object file into the kernel from the command line (`bpfkit object load`,
 * `bpfkit prog load`): parse, load as a collection, pin what was asked, and describe
 * what the kernel created. Pins made before a failure are removed again.
 */
import { existsSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { loadObjectSpec } from '../elf/load-object.js';
import { loadCollection, type KernelCollection } from '../kernel/collection.js';
import type { VariableValue } from '../kernel/global-data.js';
import { mapSummary, programSummary, type MapSummary, type ProgramSummary } from '../kernel/inventory.js';
import { parseOptions, runCommand, UsageError } from './args.js';
import { parseProgType } from './object.js';
import { appendLines, formatTable, printLines, toJson } from './table.js';

export interface LoadObjectRequest {
  file: string;
  /** bpffs directory to pin into (created when missing). */
  pinDir?: string;
  /** Pin maps too (object load), not only programs (prog load). */
  pinMaps: boolean;
  variables?: Record<string, VariableValue>;
  programType?: number;
}

export interface LoadedObject {
  collection: KernelCollection;
  programs: Array<ProgramSummary & { pinned?: string }>;
  maps: Array<MapSummary & { pinned?: string }>;
}

/** A map's pin file name: libbpf-style, with the dots of ".rodata" & co. made underscores. */
function pinName(name: string): string {
  return name.replace(/\./g, '_');
}

/**
 * Load `request.file` and pin as asked. The caller closes the collection (pins keep the
 * objects alive). @throws VerifierError, BpfError, ElfError, Error (unreadable file).
 */
export function loadObjectFile(request: LoadObjectRequest): LoadedObject {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(request.file);
  } catch (error) {
    throw new Error(`cannot read ${request.file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  const spec = loadObjectSpec(bytes, request.programType === undefined ? {} : { programType: request.programType });
  if (request.pinDir) mkdirSync(request.pinDir, { recursive: true });
  const collection = loadCollection(spec, { ...(request.pinDir && { pinPath: request.pinDir }), ...(request.variables && { variables: request.variables }) });
  const made: string[] = [];
  try {
    const pin = (path: string, doPin: () => void): string => {
      if (existsSync(path)) throw new Error(`${path} already exists: pick another --pin directory or unlink it`);
      doPin();
      made.push(path);
      return path;
    };
    const programs = [...collection.programs.values()].map((p) => {
      const row: ProgramSummary & { pinned?: string } = programSummary(p.fd);
      if (request.pinDir) row.pinned = pin(join(request.pinDir, p.name), () => p.pin(join(request.pinDir!, p.name)));
      return row;
    });
    const maps = [...collection.maps.entries()].map(([name, m]) => {
      const row: MapSummary & { pinned?: string } = mapSummary(m.fd);
      const byName = spec.maps.find((s) => s.name === name)?.pinning === 'by_name';
      if (request.pinDir && byName) row.pinned = join(request.pinDir, name);
      else if (request.pinDir && request.pinMaps) row.pinned = pin(join(request.pinDir, pinName(name)), () => m.pin(join(request.pinDir!, pinName(name))));
      return row;
    });
    return { collection, programs, maps };
  } catch (error) {
    for (const path of made) if (existsSync(path)) unlinkSync(path);
    collection.close();
    throw error;
  }
}

/** `--set NAME=VALUE`: an integer, true/false, or hex:BYTES. */
export function parseAssignment(text: string): [string, VariableValue] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`--set wants NAME=VALUE, not "${text}"`);
  const name = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (value === 'true' || value === 'false') return [name, value === 'true'];
  if (/^-?(0x[0-9a-f]+|\d+)$/i.test(value)) return [name, value.startsWith('-') ? -BigInt(value.slice(1)) : BigInt(value)];
  const hex = /^hex:((?:[0-9a-f]{2})+)$/i.exec(value);
  if (hex) return [name, Uint8Array.from(hex[1]!.match(/../g)!, (b) => parseInt(b, 16))];
  throw new UsageError(`--set ${name}: "${value}" is not an integer, true/false or hex:BYTES`);
}

/** Tables of what was loaded. */
export function formatLoaded(loaded: LoadedObject, withMaps: boolean, pinDir: string | undefined): string[] {
  const lines = [`programs (${loaded.programs.length}):`];
  appendLines(
    lines,
    formatTable(
      ['ID', 'NAME', 'TYPE', 'TAG', 'XLATED', 'PINNED'],
      loaded.programs.map((p) => [String(p.id), p.name, p.typeName, p.tag, String(p.xlatedBytes / 8), p.pinned ?? '-']),
      '  ',
    ),
  );
  if (withMaps) {
    lines.push('', `maps (${loaded.maps.length}):`);
    appendLines(
      lines,
      formatTable(
        ['ID', 'NAME', 'TYPE', 'KEY', 'VALUE', 'MAX', 'PINNED'],
        loaded.maps.map((m) => [String(m.id), m.name, m.typeName, String(m.keySize), String(m.valueSize), String(m.maxEntries), m.pinned ?? '-']),
        '  ',
      ),
    );
  }
  if (!pinDir) lines.push('', 'not pinned: released when bpfkit exits (use --pin DIR to keep them)');
  return lines;
}

/** JSON form of what was loaded. */
export function loadedJson(loaded: LoadedObject, withMaps: boolean): unknown {
  const program = (p: LoadedObject['programs'][number]) => ({ id: p.id, name: p.name, type: p.typeName, tag: p.tag, xlatedInstructions: p.xlatedBytes / 8, mapIds: p.mapIds, pinned: p.pinned ?? null });
  const map = (m: LoadedObject['maps'][number]) => ({ id: m.id, name: m.name, type: m.typeName, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags, pinned: m.pinned ?? null });
  return withMaps ? { programs: loaded.programs.map(program), maps: loaded.maps.map(map) } : loaded.programs.map(program);
}

/** `bpfkit object load ...` */
export function runObjectLoad(args: string[], help: string): Promise<number> {
  return runCommand('bpfkit object load', help, () => {
    const { values, positionals } = parseOptions(args, {
      pin: { type: 'string' },
      set: { type: 'string', multiple: true },
      type: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new UsageError(`expected one object file, got ${positionals.length}`);
    const programType = parseProgType(values.type);
    if (programType === null) throw new UsageError(`--type must be a program type number or name (e.g. 6 or xdp), not "${values.type}"`);
    const variables = Object.fromEntries((values.set ?? []).map(parseAssignment));
    const loaded = loadObjectFile({
      file: positionals[0]!,
      pinMaps: true,
      variables,
      ...(values.pin !== undefined && { pinDir: values.pin }),
      ...(programType !== undefined && { programType }),
    });
    try {
      if (values.json) process.stdout.write(toJson(loadedJson(loaded, true)));
      else printLines(formatLoaded(loaded, true, values.pin));
    } finally {
      loaded.collection.close();
    }
    return 0;
  });
}
