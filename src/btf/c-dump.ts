import type { Btf } from './btf.js';
import { BtfError } from './errors.js';
import type { BtfType, CompositeType, EnumType } from './types.js';

/**
 * Print BTF as C, exactly as libbpf's btf_dump (and so `bpftool btf dump ... format c`)
 * does: types topologically ordered so the header compiles, forward declarations only
 * where a cycle needs one, duplicate names suffixed `___N`, explicit padding and
 * `__attribute__((packed))` where the layout cannot be reproduced otherwise.
 *
 * The state machine follows btf_dump.c closely on purpose: name deduplication depends on
 * the exact order in which names are first printed.
 */

const enum Order {
  NotOrdered,
  Ordering,
  Ordered,
}
const enum Emit {
  NotEmitted,
  Emitting,
  Emitted,
}

/** Deepest type nesting the printer follows; real headers stay far below it. */
const MAX_DEPTH = 512;
const TABS = '\t'.repeat(13);

function pfx(lvl: number): string {
  return lvl >= TABS.length ? TABS : TABS.slice(0, lvl);
}

/** Options for {@link CDumper}. */
export interface CDumpOptions {
  /** Print the vmlinux.h-style header and footer bpftool adds (default true for whole dumps). */
  header?: boolean;
}

/** The streaming C printer: call {@link CDumper.dumpType} for each root, then {@link CDumper.text}. */
export class CDumper {
  private readonly order: Uint8Array;
  private readonly emit: Uint8Array;
  private readonly fwdEmitted: Uint8Array;
  private readonly nameResolved: Uint8Array;
  private readonly referenced: Uint8Array;
  private readonly cachedNames = new Map<number, string>();
  private readonly typeNames = new Map<string, number>();
  private readonly identNames = new Map<string, number>();
  private readonly out: string[] = [];
  private emitQueue: number[] = [];
  private readonly ptrSize: number;
  private depth = 0;
  private printed = 0;
  private readonly budget: number;

  constructor(private readonly btf: Btf) {
    this.budget = (1 << 20) + btf.typeCount * 512;
    const n = btf.typeCount;
    this.order = new Uint8Array(n);
    this.emit = new Uint8Array(n);
    this.fwdEmitted = new Uint8Array(n);
    this.nameResolved = new Uint8Array(n);
    this.referenced = new Uint8Array(n);
    this.ptrSize = btf.pointerSize;
    this.order[0] = Order.Ordered;
    this.emit[0] = Emit.Emitted;
    for (const t of btf.allTypes()) this.markReferenced(t);
  }

  /** Everything printed so far. */
  text(): string {
    return this.out.join('');
  }

  /** Print the type `id` and every type it needs that was not printed yet (btf_dump__dump_type). */
  dumpType(id: number): void {
    this.btf.typeById(id);
    this.emitQueue = [];
    this.orderType(id, false);
    for (const q of this.emitQueue) this.emitType(q, 0);
  }

  private p(s: string): void {
    this.printed += s.length;
    // Padding for an absurd struct size would print gigabytes; real headers are ~the BTF's size.
    if (this.printed > this.budget) throw new BtfError(`C output exceeds ${this.budget} bytes (absurd sizes?)`, 'c-dump');
    this.out.push(s);
  }

  private t(id: number): BtfType {
    return this.btf.typeById(id);
  }

  private enter(id: number): void {
    if (++this.depth > MAX_DEPTH) throw new BtfError(`type nesting below [${id}] is too deep to print`, 'c-dump', id);
  }

  private markReferenced(t: BtfType): void {
    switch (t.kind) {
      case 'ptr':
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'typedef':
      case 'func':
      case 'var':
      case 'decl_tag':
      case 'type_tag':
        this.referenced[t.type] = 1;
        break;
      case 'array':
        this.referenced[t.indexType] = 1;
        this.referenced[t.type] = 1;
        break;
      case 'struct':
      case 'union':
        for (const m of t.members) this.referenced[m.type] = 1;
        break;
      case 'func_proto':
        for (const p of t.params) this.referenced[p.type] = 1;
        break;
      case 'datasec':
        for (const v of t.vars) this.referenced[v.type] = 1;
        break;
      default:
        break;
    }
  }

  /** Topological ordering: 1 for a strong link (full definition needed first), 0 for weak. */
  private orderType(id: number, throughPtr: boolean): number {
    if (this.order[id] === Order.Ordered) return 1;
    const t = this.t(id);
    if (this.order[id] === Order.Ordering) {
      if ((t.kind === 'struct' || t.kind === 'union') && throughPtr && t.name !== '') return 0;
      throw new BtfError(`unsatisfiable type cycle through [${id}]`, 'c-dump', id);
    }
    this.enter(id);
    try {
      switch (t.kind) {
        case 'int':
        case 'float':
          this.order[id] = Order.Ordered;
          return 0;
        case 'ptr': {
          const r = this.orderType(t.type, true);
          this.order[id] = Order.Ordered;
          return r;
        }
        case 'array':
          return this.orderType(t.type, false);
        case 'struct':
        case 'union': {
          if (throughPtr && t.nameOff !== 0) return 0;
          this.order[id] = Order.Ordering;
          for (const m of t.members) this.orderType(m.type, false);
          if (t.nameOff !== 0) this.emitQueue.push(id);
          this.order[id] = Order.Ordered;
          return 1;
        }
        case 'enum':
        case 'enum64':
        case 'fwd':
          if (t.nameOff !== 0 || !this.referenced[id]) this.emitQueue.push(id);
          this.order[id] = Order.Ordered;
          return 1;
        case 'typedef': {
          const strong = this.orderType(t.type, throughPtr);
          if (throughPtr && !strong) return 0;
          this.emitQueue.push(id);
          this.order[id] = Order.Ordered;
          return 1;
        }
        case 'volatile':
        case 'const':
        case 'restrict':
        case 'type_tag':
          return this.orderType(t.type, throughPtr);
        case 'func_proto': {
          let strong = this.orderType(t.type, throughPtr) > 0;
          for (const p of t.params) if (this.orderType(p.type, throughPtr) > 0) strong = true;
          return strong ? 1 : 0;
        }
        default:
          // func, var, datasec, decl_tag: not printed as C declarations.
          this.order[id] = Order.Ordered;
          return 0;
      }
    } finally {
      this.depth--;
    }
  }

  private isBlacklisted(id: number): boolean {
    const t = this.t(id);
    return t.nameOff !== 0 && t.name === '__builtin_va_list';
  }

  private emitType(id: number, contId: number): void {
    if (this.emit[id] === Emit.Emitted) return;
    const t = this.t(id);
    const topLevel = contId === 0;
    if (this.emit[id] === Emit.Emitting) {
      if (this.fwdEmitted[id]) return;
      if (t.kind === 'struct' || t.kind === 'union') {
        if (id === contId) return;
        if (t.nameOff === 0) return; // anonymous struct/union loop: libbpf warns and goes on
        this.emitStructFwd(id, t);
        this.p(';\n\n');
        this.fwdEmitted[id] = 1;
      } else if (t.kind === 'typedef') {
        if (!this.isBlacklisted(id)) {
          this.emitTypedefDef(id, t, 0);
          this.p(';\n\n');
        }
        this.fwdEmitted[id] = 1;
      }
      return;
    }
    this.enter(id);
    try {
      switch (t.kind) {
        case 'int':
          this.emitMissingAliases(id);
          this.emit[id] = Emit.Emitted;
          break;
        case 'enum':
        case 'enum64':
          if (topLevel) {
            this.emitEnumDef(id, t, 0);
            this.p(';\n\n');
          }
          this.emit[id] = Emit.Emitted;
          break;
        case 'ptr':
        case 'volatile':
        case 'const':
        case 'restrict':
        case 'type_tag':
        case 'array':
          this.emitType(t.type, contId);
          break;
        case 'fwd':
          this.emitFwdDef(id, t);
          this.p(';\n\n');
          this.emit[id] = Emit.Emitted;
          break;
        case 'typedef':
          this.emit[id] = Emit.Emitting;
          this.emitType(t.type, id);
          if (!this.fwdEmitted[id] && !this.isBlacklisted(id)) {
            this.emitTypedefDef(id, t, 0);
            this.p(';\n\n');
          }
          this.emit[id] = Emit.Emitted;
          break;
        case 'struct':
        case 'union':
          this.emit[id] = Emit.Emitting;
          if (topLevel || t.nameOff === 0) {
            const newCont = t.nameOff === 0 ? contId : id;
            for (const m of t.members) this.emitType(m.type, newCont);
          } else if (!this.fwdEmitted[id] && id !== contId) {
            this.emitStructFwd(id, t);
            this.p(';\n\n');
            this.fwdEmitted[id] = 1;
          }
          if (topLevel) {
            this.emitStructDef(id, t, 0);
            this.p(';\n\n');
            this.emit[id] = Emit.Emitted;
          } else {
            this.emit[id] = Emit.NotEmitted;
          }
          break;
        case 'func_proto':
          this.emitType(t.type, contId);
          for (const p of t.params) this.emitType(p.type, contId);
          break;
        default:
          break;
      }
    } finally {
      this.depth--;
    }
  }

  private isStructPacked(t: CompositeType): boolean {
    let maxAlign = 1;
    for (const m of t.members) {
      const align = this.btf.alignof(m.type);
      if (align && m.bitfieldSize === 0 && m.bitOffset % (8 * align) !== 0) return true;
      maxAlign = Math.max(align, maxAlign);
    }
    return t.size % maxAlign !== 0;
  }

  private emitBitPadding(curOff: number, nextOff: number, nextAlign: number, inBitfield: boolean, lvl: number): void {
    const pads: Array<[string, number]> = [
      ['long', this.ptrSize * 8],
      ['int', 32],
      ['short', 16],
      ['char', 8],
    ];
    if (curOff >= nextOff) return;
    let newOff = 0;
    let padBits = 0;
    let padType = '';
    for (const [name, bits] of pads) {
      padBits = bits;
      padType = name;
      newOff = roundup(curOff, padBits);
      if (newOff <= nextOff) break;
    }
    if (newOff > curOff && newOff <= nextOff) {
      if (
        inBitfield ||
        (newOff === nextOff && roundup(curOff, nextAlign * 8) !== newOff) ||
        (newOff !== nextOff && nextOff - newOff <= newOff - curOff)
      ) {
        this.p(`\n${pfx(lvl)}${padType}: ${inBitfield ? newOff - curOff : 0};`);
      }
      curOff = newOff;
    }
    while (curOff !== nextOff) {
      const bits = Math.min(nextOff - curOff, padBits);
      if (bits === padBits) {
        this.p(`\n${pfx(lvl)}${padType}: ${padBits};`);
        curOff += bits;
        continue;
      }
      for (let i = pads.length - 1; i >= 0; i--) {
        padType = pads[i]![0];
        padBits = pads[i]![1];
        if (padBits < bits) continue;
        this.p(`\n${pfx(lvl)}${padType}: ${bits};`);
        curOff += bits;
        break;
      }
    }
  }

  private emitStructFwd(id: number, t: CompositeType): void {
    this.p(`${t.kind}${t.nameOff ? ' ' : ''}${this.typeName(id)}`);
  }

  private emitStructDef(id: number, t: CompositeType, lvl: number): void {
    const isStruct = t.kind === 'struct';
    const align = this.btf.alignof(id);
    const packed = isStruct ? this.isStructPacked(t) : false;
    this.p(`${t.kind}${t.nameOff ? ' ' : ''}${this.typeName(id)} {`);
    let off = 0;
    let prevBitfield = false;
    for (const m of t.members) {
      let mSize = m.bitfieldSize;
      const mOff = m.bitOffset;
      const mAlign = packed ? 1 : this.btf.alignof(m.type);
      const inBitfield = prevBitfield && mSize !== 0;
      this.emitBitPadding(off, mOff, mAlign, inBitfield, lvl + 1);
      this.p(`\n${pfx(lvl + 1)}`);
      this.emitTypeDecl(m.type, m.name, lvl + 1);
      if (mSize) {
        this.p(`: ${mSize}`);
        off = mOff + mSize;
        prevBitfield = true;
      } else {
        mSize = Math.max(0, this.resolveSize(m.type));
        off = mOff + mSize * 8;
        prevBitfield = false;
      }
      this.p(';');
    }
    if (isStruct) this.emitBitPadding(off, t.size * 8, align, false, lvl + 1);
    if (t.members.length || t.size) {
      this.p('\n');
      this.p(`${pfx(lvl)}}`);
    } else {
      this.p('}');
    }
    if (packed) this.p(' __attribute__((packed))');
  }

  /** btf__resolve_size, returning -1 where libbpf returns an error. */
  private resolveSize(id: number): number {
    try {
      return this.btf.sizeof(id);
    } catch (e) {
      if (e instanceof BtfError) return -1;
      throw e;
    }
  }

  private emitMissingAliases(id: number): void {
    const name = this.typeName(id);
    const alias = MISSING_BASE_TYPES[name];
    if (alias) this.p(`typedef ${alias} ${name};\n\n`);
  }

  private emitEnumFwd(id: number): void {
    this.p(`enum ${this.typeName(id)}`);
  }

  private emitEnumDef(id: number, t: EnumType, lvl: number): void {
    this.p(`enum${t.nameOff ? ' ' : ''}${this.typeName(id)}`);
    if (!t.values.length) return;
    this.p(' {');
    const is64 = t.kind === 'enum64';
    for (const v of t.values) {
      const dups = nameDups(this.identNames, v.name);
      // %d/%u for enum, %lldLL/%lluULL for enum64: the stored value is already signed or not.
      const val = is64 ? (t.kflag ? `${BigInt.asIntN(64, v.value)}LL` : `${BigInt.asUintN(64, v.value)}ULL`) : t.kflag ? `${BigInt.asIntN(32, v.value)}` : `${BigInt.asUintN(32, v.value)}`;
      this.p(dups > 1 ? `\n${pfx(lvl + 1)}${v.name}___${dups} = ${val},` : `\n${pfx(lvl + 1)}${v.name} = ${val},`);
    }
    this.p(`\n${pfx(lvl)}}`);
    // libbpf 1.1 (bpftool 7.1's) prints no mode(byte)/mode(word) for odd-sized enums;
    // later versions do. We match the installed reference.
  }

  private emitFwdDef(id: number, t: BtfType): void {
    this.p(`${t.kflag ? 'union' : 'struct'} ${this.typeName(id)}`);
  }

  private emitTypedefDef(id: number, t: BtfType & { type: number }, lvl: number): void {
    const name = this.identName(id);
    if (t.type === 0 && name === '__gnuc_va_list') {
      this.p('typedef __builtin_va_list __gnuc_va_list');
      return;
    }
    this.p('typedef ');
    this.emitTypeDecl(t.type, name, lvl);
  }

  /** A declaration of `fname` with type `id` as a string, e.g. "struct task_struct *parent". */
  declaration(id: number, fname: string): string {
    const mark = this.out.length;
    this.emitTypeDecl(id, fname, 0);
    return this.out.splice(mark).join('');
  }

  /** Print a declaration of `fname` with type `id` (btf_dump_emit_type_decl). */
  emitTypeDecl(id: number, fname: string, lvl: number): void {
    const stack: number[] = [];
    this.enter(id);
    try {
      for (;;) {
        stack.push(id);
        if (stack.length > MAX_DEPTH) throw new BtfError(`declarator chain from [${id}] is too long`, 'c-dump', id);
        if (id === 0) break;
        const t = this.t(id);
        if (
          t.kind === 'ptr' ||
          t.kind === 'volatile' ||
          t.kind === 'const' ||
          t.kind === 'restrict' ||
          t.kind === 'func_proto' ||
          t.kind === 'type_tag' ||
          t.kind === 'array'
        ) {
          id = t.type;
        } else {
          break;
        }
      }
      this.emitTypeChain(stack, fname, lvl);
    } finally {
      this.depth--;
    }
  }

  private emitMods(decls: number[]): void {
    while (decls.length) {
      const t = this.t(decls[decls.length - 1]!);
      if (t.kind === 'volatile') this.p('volatile ');
      else if (t.kind === 'const') this.p('const ');
      else if (t.kind === 'restrict') this.p('restrict ');
      else return;
      decls.pop();
    }
  }

  private dropMods(decls: number[]): void {
    while (decls.length) {
      const k = this.t(decls[decls.length - 1]!).kind;
      if (k !== 'volatile' && k !== 'const' && k !== 'restrict' && k !== 'type_tag') return;
      decls.pop();
    }
  }

  private emitName(name: string, lastWasPtr: boolean): void {
    this.p(`${name && !lastWasPtr ? ' ' : ''}${name}`);
  }

  private emitTypeChain(decls: number[], fname: string, lvl: number): void {
    let lastWasPtr = true;
    while (decls.length) {
      const id = decls.pop()!;
      if (id === 0) {
        this.emitMods(decls);
        this.p('void');
        lastWasPtr = false;
        continue;
      }
      const t = this.t(id);
      switch (t.kind) {
        case 'int':
        case 'float':
          this.emitMods(decls);
          this.p(t.name);
          break;
        case 'struct':
        case 'union':
          this.emitMods(decls);
          if (t.nameOff === 0) this.emitStructDef(id, t, lvl);
          else this.emitStructFwd(id, t);
          break;
        case 'enum':
        case 'enum64':
          this.emitMods(decls);
          if (t.nameOff === 0) this.emitEnumDef(id, t, lvl);
          else this.emitEnumFwd(id);
          break;
        case 'fwd':
          this.emitMods(decls);
          this.emitFwdDef(id, t);
          break;
        case 'typedef':
          this.emitMods(decls);
          this.p(this.identName(id));
          break;
        case 'ptr':
          this.p(lastWasPtr ? '*' : ' *');
          break;
        case 'volatile':
          this.p(' volatile');
          break;
        case 'const':
          this.p(' const');
          break;
        case 'restrict':
          this.p(' restrict');
          break;
        case 'type_tag':
          this.emitMods(decls);
          this.p(t.kflag ? ` __attribute__((${t.name}))` : ` __attribute__((btf_type_tag("${t.name}")))`);
          break;
        case 'array': {
          this.dropMods(decls);
          if (decls.length === 0) {
            this.emitName(fname, lastWasPtr);
            this.p(`[${t.nelems}]`);
            return;
          }
          const multidim = this.t(decls[decls.length - 1]!).kind === 'array';
          if (fname && !lastWasPtr) this.p(' ');
          if (!multidim) this.p('(');
          this.emitTypeChain(decls, fname, lvl);
          if (!multidim) this.p(')');
          this.p(`[${t.nelems}]`);
          return;
        }
        case 'func_proto': {
          this.dropMods(decls);
          if (decls.length) {
            this.p(' (');
            this.emitTypeChain(decls, fname, lvl);
            this.p(')');
          } else {
            this.emitName(fname, lastWasPtr);
          }
          this.p('(');
          const params = t.params;
          if (params.length === 0 || (params.length === 1 && params[0]!.type === 0)) {
            this.p('void)');
            return;
          }
          for (let i = 0; i < params.length; i++) {
            const param = params[i]!;
            if (i > 0) this.p(', ');
            if (i === params.length - 1 && param.type === 0) {
              this.p('...');
              break;
            }
            this.emitTypeDecl(param.type, param.name, lvl);
          }
          this.p(')');
          return;
        }
        default:
          // libbpf warns "unexpected type in decl chain" and stops this chain.
          return;
      }
      lastWasPtr = t.kind === 'ptr';
    }
    this.emitName(fname, lastWasPtr);
  }

  private resolveName(id: number, names: Map<string, number>): string {
    const t = this.t(id);
    if (t.nameOff === 0) return '';
    if (this.nameResolved[id]) return this.cachedNames.get(id) ?? t.name;
    if (t.kind === 'fwd' || (t.kind === 'enum' && t.values.length === 0)) {
      this.nameResolved[id] = 1;
      return t.name;
    }
    const dups = nameDups(names, t.name);
    if (dups > 1) this.cachedNames.set(id, `${t.name}___${dups}`.slice(0, 255));
    this.nameResolved[id] = 1;
    return this.cachedNames.get(id) ?? t.name;
  }

  private typeName(id: number): string {
    return this.resolveName(id, this.typeNames);
  }

  private identName(id: number): string {
    return this.resolveName(id, this.identNames);
  }
}

const MISSING_BASE_TYPES: Record<string, string> = {
  __Poly8_t: 'unsigned char',
  __Poly16_t: 'unsigned short',
  __Poly64_t: 'unsigned long long',
  __Poly128_t: 'unsigned __int128',
};

function nameDups(map: Map<string, number>, name: string): number {
  const n = (map.get(name) ?? 0) + 1;
  map.set(name, n);
  return n;
}

function roundup(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

/**
 * The whole BTF as C, byte for byte what `bpftool btf dump file FILE format c` prints
 * (with `rootIds`, only those types and what they need, like bpftool's `root_id`).
 */
export function dumpC(btf: Btf, rootIds?: readonly number[]): string {
  const d = new CDumper(btf);
  const out: string[] = [
    '#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n',
    '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n',
  ];
  if (rootIds) for (const id of rootIds) d.dumpType(id);
  else for (let id = 1; id < btf.typeCount; id++) d.dumpType(id);
  out.push(d.text());
  out.push('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n#endif /* __VMLINUX_H__ */\n');
  return out.join('');
}

/** One type (and the types it needs) as C, without bpftool's header. */
export function typeToC(btf: Btf, id: number): string {
  const d = new CDumper(btf);
  d.dumpType(id);
  return d.text();
}
