/**
 * Values for `.kconfig` externs (`extern int CONFIG_HZ __kconfig;`, LINUX_KERNEL_VERSION),
 * read from /proc/config.gz and uname, encoded as libbpf encodes them: tristates as
 * 0/1/2 (n/y/m), bools as 0/1, integers in their size, strings as NUL-terminated chars.
 */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import type { Btf } from '../btf/btf.js';
import type { ExternSpec } from '../elf/object-spec.js';

let config: Map<string, string> | undefined;

/** CONFIG_* = value lines of the running kernel's config (empty when it is not available). */
export function kernelConfig(): Map<string, string> {
  if (config) return config;
  config = new Map();
  for (const path of ['/proc/config.gz', `/boot/config-${release()}`]) {
    try {
      const raw = readFileSync(path);
      const text = path.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      for (const line of text.split('\n')) {
        const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
        if (m) config.set(m[1]!, m[2]!);
      }
      break;
    } catch {
      // try the next source
    }
  }
  return config;
}

/** KERNEL_VERSION(a, b, c) of the running kernel, as LINUX_KERNEL_VERSION. */
export function linuxKernelVersion(): number {
  const [a = 0, b = 0, c = 0] = release().split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  return (a << 16) + (b << 8) + Math.min(c, 255);
}

/** Fill `data` (the .kconfig map's value) with the values of `externs`. */
export function fillKconfig(data: Uint8Array, externs: readonly ExternSpec[], btf: Btf | undefined): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const e of externs) {
    if (e.kind !== 'kconfig' || e.offset === undefined || e.size === undefined) continue;
    const shape = externShape(e, btf);
    let raw: string | undefined;
    if (e.name === 'LINUX_KERNEL_VERSION') raw = String(linuxKernelVersion());
    else if (e.name === 'LINUX_HAS_BPF_COOKIE' || e.name === 'LINUX_HAS_SYSCALL_WRAPPER') raw = 'y';
    else raw = kernelConfig().get(e.name);
    if (raw === undefined) {
      if (e.weak) continue; // stays 0
      throw new Error(`kconfig extern ${e.name} has no value in this kernel's config (declare it __weak to allow that)`);
    }
    writeValue(view, e.offset, e.size, shape, raw, e.name);
  }
}

type Shape = 'tristate' | 'bool' | 'char' | 'int' | 'string';

function externShape(e: ExternSpec, btf: Btf | undefined): Shape {
  if (!btf || e.typeId === undefined) return e.size === 1 ? 'bool' : 'int';
  let t = btf.typeById(e.typeId);
  if (t.kind === 'var') t = btf.resolve(t.type);
  else t = btf.resolve(t.id);
  if (t.kind === 'enum' && t.name === 'libbpf_tristate') return 'tristate';
  if (t.kind === 'array') return 'string';
  if (t.kind === 'int' && t.encoding & 4) return 'bool';
  if (t.kind === 'int' && t.size === 1 && t.encoding & 2) return 'char';
  return 'int';
}

function writeValue(view: DataView, offset: number, size: number, shape: Shape, raw: string, name: string): void {
  const tri = raw === 'y' ? 1 : raw === 'm' ? 2 : raw === 'n' ? 0 : undefined;
  if (shape === 'string') {
    const text = raw.replace(/^"|"$/g, '');
    const bytes = new TextEncoder().encode(text).subarray(0, size - 1);
    new Uint8Array(view.buffer, view.byteOffset + offset, bytes.length).set(bytes);
    return;
  }
  let value: bigint;
  if (shape === 'tristate') {
    if (tri === undefined) throw new Error(`kconfig ${name}=${raw} is not a tristate`);
    value = BigInt(tri);
  } else if (shape === 'bool' || (shape === 'char' && tri !== undefined)) {
    value = tri === undefined ? BigInt(raw !== '0') : BigInt(tri === 0 ? 0 : 1);
  } else if (tri !== undefined) {
    value = BigInt(tri === 0 ? 0 : 1);
  } else {
    value = BigInt(raw.replace(/^"|"$/g, ''));
  }
  switch (size) {
    case 1:
      view.setUint8(offset, Number(BigInt.asUintN(8, value)));
      break;
    case 2:
      view.setUint16(offset, Number(BigInt.asUintN(16, value)), true);
      break;
    case 4:
      view.setUint32(offset, Number(BigInt.asUintN(32, value)), true);
      break;
    case 8:
      view.setBigUint64(offset, BigInt.asUintN(64, value), true);
      break;
    default:
      throw new Error(`kconfig extern ${name} has an unsupported size ${size}`);
  }
}
