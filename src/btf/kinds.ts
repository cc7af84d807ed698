/**
 * BTF kinds as the kernel numbers them (include/uapi/linux/btf.h), and the names this
 * layer uses for them.
 */
export const BtfKind = {
  void: 0,
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  fwd: 7,
  typedef: 8,
  volatile: 9,
  const: 10,
  restrict: 11,
  func: 12,
  func_proto: 13,
  var: 14,
  datasec: 15,
  float: 16,
  decl_tag: 17,
  type_tag: 18,
  enum64: 19,
} as const;

export type BtfKindName = keyof typeof BtfKind;

/** Kind name by kernel number (index = BTF_KIND_*). */
export const kindNames: readonly BtfKindName[] = Object.keys(BtfKind) as BtfKindName[];

/** Highest kind number this layer understands. */
export const BTF_KIND_MAX = 19;

/** BTF_INT_* encoding bits of an int. */
export const IntEncoding = { SIGNED: 1, CHAR: 2, BOOL: 4 } as const;

/** Linkage of FUNC (in vlen) and VAR types. */
export const Linkage = { STATIC: 0, GLOBAL: 1, EXTERN: 2 } as const;

/** Kinds that just decorate another type and have no size of their own. */
export const modifierKinds: ReadonlySet<BtfKindName> = new Set(['const', 'volatile', 'restrict', 'type_tag']);
