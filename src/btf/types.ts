import type { BtfKindName } from './kinds.js';

/**
 * The BTF type model: one object per type, close to the wire format so that encoding
 * gives the original bytes back. `nameOff` is the offset the name had in its string
 * table; the encoder reuses it when it still names `name`, and allocates a new string
 * otherwise, so renaming a type is just assigning `name`.
 */
interface TypeCommon {
  /** Type id (0 is void). */
  id: number;
  name: string;
  nameOff: number;
  /** The kind_flag bit: bitfield encoding (struct/union), union (fwd), signed (enum), attribute (tags). */
  kflag: boolean;
}

export interface VoidType extends TypeCommon {
  kind: 'void';
}

export interface IntType extends TypeCommon {
  kind: 'int';
  size: number;
  /** BTF_INT_SIGNED | BTF_INT_CHAR | BTF_INT_BOOL bits. */
  encoding: number;
  /** Bit offset of the value inside its storage (0 in practice). */
  bitOffset: number;
  /** Number of value bits. */
  bits: number;
}

export interface PtrType extends TypeCommon {
  kind: 'ptr';
  type: number;
}

/** const, volatile, restrict and type_tag: one referenced type and nothing else. */
export interface ModifierType extends TypeCommon {
  kind: 'const' | 'volatile' | 'restrict' | 'type_tag';
  type: number;
}

export interface TypedefType extends TypeCommon {
  kind: 'typedef';
  type: number;
}

export interface ArrayType extends TypeCommon {
  kind: 'array';
  /** Element type. */
  type: number;
  indexType: number;
  nelems: number;
}

export interface Member {
  name: string;
  nameOff: number;
  type: number;
  /** Offset of the member from the start of the struct, in bits. */
  bitOffset: number;
  /** Bitfield width in bits; 0 for a normal member. Only encodable when the struct's kflag is set. */
  bitfieldSize: number;
}

export interface CompositeType extends TypeCommon {
  kind: 'struct' | 'union';
  size: number;
  members: Member[];
}

export interface EnumValue {
  name: string;
  nameOff: number;
  /** The value as the kernel stores it: for `enum`, a signed 32-bit number when kflag (signed), else unsigned. */
  value: bigint;
}

export interface EnumType extends TypeCommon {
  /** `enum` has 32-bit values, `enum64` 64-bit ones. kflag: values are signed. */
  kind: 'enum' | 'enum64';
  size: number;
  values: EnumValue[];
}

export interface FwdType extends TypeCommon {
  /** kflag: a union rather than a struct. */
  kind: 'fwd';
}

export interface FuncType extends TypeCommon {
  kind: 'func';
  /** The FUNC_PROTO. */
  type: number;
  /** Linkage: static 0, global 1, extern 2 (stored in vlen). */
  linkage: number;
}

export interface Param {
  name: string;
  nameOff: number;
  /** 0 as the last parameter means "...". */
  type: number;
}

export interface FuncProtoType extends TypeCommon {
  kind: 'func_proto';
  /** Return type. */
  type: number;
  params: Param[];
}

export interface VarType extends TypeCommon {
  kind: 'var';
  type: number;
  linkage: number;
}

export interface VarSecinfo {
  /** The VAR (or FUNC, for .ksyms) type. */
  type: number;
  offset: number;
  size: number;
}

export interface DatasecType extends TypeCommon {
  kind: 'datasec';
  size: number;
  vars: VarSecinfo[];
}

export interface FloatType extends TypeCommon {
  kind: 'float';
  size: number;
}

export interface DeclTagType extends TypeCommon {
  kind: 'decl_tag';
  type: number;
  /** Member/parameter index the tag applies to, or -1 for the type itself. */
  componentIdx: number;
}

export type BtfType =
  | VoidType
  | IntType
  | PtrType
  | ModifierType
  | TypedefType
  | ArrayType
  | CompositeType
  | EnumType
  | FwdType
  | FuncType
  | FuncProtoType
  | VarType
  | DatasecType
  | FloatType
  | DeclTagType;

/** Kinds whose `type` field is the one type they refer to. */
export type ReferenceType = PtrType | ModifierType | TypedefType | FuncType | VarType | DeclTagType;

/** Narrow a type by kind name. */
export type TypeOfKind<K extends BtfKindName> = KindMatch<BtfType, K>;
type KindMatch<T, K> = T extends { kind: infer TK } ? (K extends TK ? T : never) : never;

/** Every type id a type refers to (members, params, element, index, target), in wire order. */
export function referencedIds(t: BtfType): number[] {
  switch (t.kind) {
    case 'void':
    case 'int':
    case 'fwd':
    case 'float':
    case 'enum':
    case 'enum64':
      return [];
    case 'array':
      return [t.type, t.indexType];
    case 'struct':
    case 'union':
      return t.members.map((m) => m.type);
    case 'func_proto':
      return [t.type, ...t.params.map((p) => p.type)];
    case 'datasec':
      return t.vars.map((v) => v.type);
    default:
      return [t.type];
  }
}
