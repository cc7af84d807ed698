/**
 * `bpfkit map list|show|dump|lookup|update|delete|pin`: the kernel's maps, in the spirit
 * of `bpftool map`. Keys and values are bytes, written as bpftool takes them
 * (`hex 01 00 00 00`, or plain bytes `1 0 0 0` / `0x01 0 0 0`) and printed in hex;
 * per-CPU values print one row per CPU.
 */
import { listMaps, mapSummary, type MapSummary } from '../kernel/inventory.js';
import { KernelMap } from '../kernel/map.js';
import { UpdateFlags } from '../uapi/index.js';
import { dispatch, expectPositionals, openOrExplain, parseOptions, runCommand, takeRef, UsageError, type ObjectRef } from './args.js';
import type { Command } from './main.js';
import { formatDetails, formatTable, printLines, toJson } from './table.js';

const HELP = `usage: bpfkit map list [--json]
       bpfkit map show MAP [--json]
       bpfkit map dump MAP [--json]
       bpfkit map lookup MAP [key] BYTES [--json]
       bpfkit map update MAP [key] BYTES [value] BYTES [--flags any|noexist|exist]
       bpfkit map delete MAP [key] BYTES
       bpfkit map pin MAP PATH

MAP is a map id (12, or "id 12") or the path it is pinned at
(/sys/fs/bpf/x, or "pinned /sys/fs/bpf/x").

BYTES are bytes as bpftool takes them: "hex 01 00 00 00" (hex digits, also
"hex 01000000"), or plain numbers "1 0 0 0" / "0x01 0 0 0", as separate words
or one quoted word. Without the words "key" and "value", update takes the
first key-size bytes as the key and the rest as the value. A per-CPU map's
value is given once (stored on every CPU) or once per possible CPU.

  list      every map in the kernel
  show      one map in detail
  dump      every entry, keys and values in hex (per-CPU: one row per CPU)
  lookup    one entry (for a queue or stack, no key: the head)
  update    store an entry; --flags noexist fails when the key exists,
            exist when it does not (default any)
  delete    remove an entry
  pin       pin the map at PATH on a bpffs mount

options:
  --json    machine-readable output
  -h, --help

Needs root (or CAP_BPF).
`;

function openMap(ref: ObjectRef): KernelMap {
  return openOrExplain(ref, 'map', () => ('id' in ref ? KernelMap.fromId(ref.id) : KernelMap.fromPin(ref.pin)));
}

/** Bytes as lowercase hex pairs separated by spaces. */
export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Parse byte words: `hex` switches to hex digits (pairs may run together), otherwise
 * each word is one byte in decimal or 0x-hex. Words may hold several space-separated
 * bytes (a quoted argument).
 */
export function parseBytes(words: readonly string[], what: string): Uint8Array {
  const out: number[] = [];
  let hex = false;
  for (const word of words.flatMap((w) => w.trim().split(/\s+/)).filter((w) => w !== '')) {
    if (word === 'hex') {
      hex = true;
      continue;
    }
    if (hex) {
      const digits = word.replace(/^0x/i, '');
      if (!/^[0-9a-f]+$/i.test(digits)) throw new UsageError(`${what}: "${word}" is not hex`);
      const padded = digits.length % 2 ? `0${digits}` : digits;
      for (let i = 0; i < padded.length; i += 2) out.push(parseInt(padded.slice(i, i + 2), 16));
      continue;
    }
    const m = /^(?:0x([0-9a-f]{1,2})|(\d{1,3}))$/i.exec(word);
    const value = m ? (m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2])) : NaN;
    if (!(value >= 0 && value <= 255)) throw new UsageError(`${what}: "${word}" is not a byte (0-255, 0x00-0xff; prefix hex bytes with the word "hex")`);
    out.push(value);
  }
  return Uint8Array.from(out);
}

/** Split `[key] BYTES [value BYTES]` into the key and value words. */
function keyAndValueWords(words: readonly string[]): { key: string[]; value: string[] | undefined } {
  const rest = words[0] === 'key' ? words.slice(1) : [...words];
  const at = rest.indexOf('value');
  return at < 0 ? { key: rest, value: undefined } : { key: rest.slice(0, at), value: rest.slice(at + 1) };
}

function checkSize(bytes: Uint8Array, size: number, what: string, map: KernelMap): void {
  if (bytes.length !== size) throw new UsageError(`${what} of map ${map.name || '(unnamed)'} is ${size} bytes, ${bytes.length} given`);
}

function mapJson(m: MapSummary): Record<string, unknown> {
  return { id: m.id, type: m.typeName, name: m.name, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags, btfId: m.btfId };
}

const flagText = (flags: number) => (flags === 0 ? '0' : `0x${flags.toString(16)}`);

function list(args: string[]): number {
  const { values, positionals } = parseOptions(args, { json: { type: 'boolean' } });
  expectPositionals(positionals, []);
  const maps = listMaps();
  if (values.json) {
    process.stdout.write(toJson(maps.map(mapJson)));
    return 0;
  }
  printLines(
    formatTable(
      ['ID', 'TYPE', 'NAME', 'KEY', 'VALUE', 'MAX', 'FLAGS'],
      maps.map((m) => [String(m.id), m.typeName, m.name || '-', String(m.keySize), String(m.valueSize), String(m.maxEntries), flagText(m.flags)]),
    ),
  );
  return 0;
}

function show(args: string[]): number {
  const { values, positionals } = parseOptions(args, { json: { type: 'boolean' } });
  const { ref, rest } = takeRef(positionals, 'map');
  expectPositionals(rest, []);
  using map = openMap(ref);
  const m = mapSummary(map.fd);
  if (values.json) {
    process.stdout.write(toJson(mapJson(m)));
    return 0;
  }
  printLines(
    formatDetails([
      ['id', String(m.id)],
      ['type', m.typeName],
      ['name', m.name || '-'],
      ['key', `${m.keySize}B`],
      ['value', `${m.valueSize}B${map.perCpu ? ' per CPU' : ''}`],
      ['max entries', String(m.maxEntries)],
      ['flags', flagText(m.flags)],
      ['btf id', m.btfId ? String(m.btfId) : '-'],
    ]),
  );
  return 0;
}

/** One entry for output: per-CPU values split by CPU. */
function entryJson(map: KernelMap, key: Uint8Array, value: Uint8Array): Record<string, unknown> {
  return map.perCpu
    ? { key: hexBytes(key), values: map.splitPerCpu(value).map((v, cpu) => ({ cpu, value: hexBytes(v) })) }
    : { key: hexBytes(key), value: hexBytes(value) };
}

function entryRows(map: KernelMap, key: Uint8Array, value: Uint8Array): string[][] {
  if (!map.perCpu) return [[hexBytes(key), hexBytes(value)]];
  return map.splitPerCpu(value).map((v, cpu) => [cpu === 0 ? hexBytes(key) : '', String(cpu), hexBytes(v)]);
}

function printEntries(map: KernelMap, entries: ReadonlyArray<[Uint8Array, Uint8Array]>, json: boolean): void {
  if (json) {
    process.stdout.write(toJson(entries.map(([k, v]) => entryJson(map, k, v))));
    return;
  }
  const rows: string[][] = [];
  for (const [k, v] of entries) for (const r of entryRows(map, k, v)) rows.push(r);
  printLines(formatTable(map.perCpu ? ['KEY', 'CPU', 'VALUE'] : ['KEY', 'VALUE'], rows));
}

function dump(args: string[]): number {
  const { values, positionals } = parseOptions(args, { json: { type: 'boolean' } });
  const { ref, rest } = takeRef(positionals, 'map');
  expectPositionals(rest, []);
  using map = openMap(ref);
  if (map.keySize === 0) throw new Error(`map ${map.name} has no keys (a queue, stack or bloom filter): use "bpfkit map lookup" to peek`);
  const entries = [...map.entries()];
  printEntries(map, entries, values.json ?? false);
  if (!values.json) process.stdout.write(`(${entries.length} ${entries.length === 1 ? 'entry' : 'entries'})\n`);
  return 0;
}

function lookup(args: string[]): number {
  const { values, positionals } = parseOptions(args, { json: { type: 'boolean' } });
  const { ref, rest } = takeRef(positionals, 'map');
  const key = parseBytes(keyAndValueWords(rest).key, 'key');
  using map = openMap(ref);
  checkSize(key, map.keySize, 'the key', map);
  const value = map.lookup(key);
  if (value === undefined) throw new Error(`map ${map.name}: no entry with key ${hexBytes(key) || '(none)'}`);
  printEntries(map, [[key, value]], values.json ?? false);
  return 0;
}

const UPDATE_FLAGS: Record<string, number> = { any: UpdateFlags.ANY, noexist: UpdateFlags.NOEXIST, exist: UpdateFlags.EXIST };

function update(args: string[]): number {
  const { values, positionals } = parseOptions(args, { flags: { type: 'string' } });
  const flagName = values.flags ?? 'any';
  if (!Object.hasOwn(UPDATE_FLAGS, flagName)) throw new UsageError(`--flags must be any, noexist or exist, not "${flagName}"`);
  const { ref, rest } = takeRef(positionals, 'map');
  const words = keyAndValueWords(rest);
  // Bytes are checked before the map is opened: a typo is a usage error whatever MAP is.
  const keyBytes = parseBytes(words.key, words.value === undefined ? 'key and value' : 'key');
  const valueBytes = words.value === undefined ? undefined : parseBytes(words.value, 'value');
  using map = openMap(ref);
  // Without the "value" word, the first key-size bytes are the key.
  const key = valueBytes === undefined ? keyBytes.subarray(0, map.keySize) : keyBytes;
  const value = valueBytes ?? keyBytes.subarray(map.keySize);
  checkSize(key, map.keySize, 'the key', map);
  const flags = UPDATE_FLAGS[flagName]!;
  if (map.perCpu && value.length === map.valueSize) {
    map.updatePerCpu(key, map.splitPerCpu(new Uint8Array(map.userValueSize)).map(() => value), flags);
  } else if (map.perCpu) {
    const cpus = map.userValueSize / ((map.valueSize + 7) & ~7);
    if (value.length !== map.valueSize * cpus) throw new UsageError(`a value of per-CPU map ${map.name} is ${map.valueSize} bytes (once, or once per each of ${cpus} CPUs), ${value.length} given`);
    const perCpu = Array.from({ length: cpus }, (_, cpu) => value.subarray(cpu * map.valueSize, (cpu + 1) * map.valueSize));
    map.updatePerCpu(key, perCpu, flags);
  } else {
    checkSize(value, map.valueSize, 'a value', map);
    map.update(key, value, flags);
  }
  return 0;
}

function remove(args: string[]): number {
  const { positionals } = parseOptions(args, {});
  const { ref, rest } = takeRef(positionals, 'map');
  const key = parseBytes(keyAndValueWords(rest).key, 'key');
  using map = openMap(ref);
  checkSize(key, map.keySize, 'the key', map);
  if (!map.delete(key)) throw new Error(`map ${map.name}: no entry with key ${hexBytes(key)}`);
  return 0;
}

function pin(args: string[]): number {
  const { positionals } = parseOptions(args, {});
  const { ref, rest } = takeRef(positionals, 'map');
  const [path] = expectPositionals(rest, ['PATH']);
  using map = openMap(ref);
  map.pin(path!);
  return 0;
}

const subcommands = { list, show, dump, lookup, update, delete: remove, pin };

export const command: Command = {
  summary: 'list, show, dump, look up, update, delete and pin kernel maps',
  help: HELP,
  run: (args: string[]) => runCommand('bpfkit map', HELP, () => dispatch(subcommands, args)),
};
