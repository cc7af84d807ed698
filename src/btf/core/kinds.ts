/** `enum bpf_core_relo_kind` and how libbpf groups its members. */
export const CoreKind = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12,
} as const;

const kindNames = [
  'byte_off',
  'byte_sz',
  'field_exists',
  'signed',
  'lshift_u64',
  'rshift_u64',
  'local_type_id',
  'target_type_id',
  'type_exists',
  'type_size',
  'enumval_exists',
  'enumval_value',
  'type_matches',
];

/** libbpf's short name for a relocation kind ("byte_off", "field_exists", ...). */
export function coreKindName(kind: number): string {
  return kindNames[kind] ?? 'unknown';
}

export function isFieldBased(kind: number): boolean {
  return kind >= 0 && kind <= 5;
}

export function isTypeBased(kind: number): boolean {
  return kind === 6 || kind === 7 || kind === 8 || kind === 9 || kind === 12;
}

export function isEnumvalBased(kind: number): boolean {
  return kind === 10 || kind === 11;
}
