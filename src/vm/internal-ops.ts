/**
 * Internal opcodes of the pre-decoded program. Most instructions keep their wire opcode
 * byte; variants that share an opcode byte (sdiv/smod, movsx, the byte swaps, local
 * calls, ...) get their own number above 0xff so the interpreter dispatches on one
 * switch without re-reading fields.
 */
export const Op = {
  MOVSX64_8: 0x100,
  MOVSX64_16: 0x101,
  MOVSX64_32: 0x102,
  MOVSX32_8: 0x103,
  MOVSX32_16: 0x104,
  SDIV64_K: 0x105,
  SDIV64_X: 0x106,
  SMOD64_K: 0x107,
  SMOD64_X: 0x108,
  SDIV32_K: 0x109,
  SDIV32_X: 0x10a,
  SMOD32_K: 0x10b,
  SMOD32_X: 0x10c,
  ADDR_SPACE_CAST: 0x10d,
  LE16: 0x110,
  LE32: 0x111,
  LE64: 0x112,
  BE16: 0x113,
  BE32: 0x114,
  BE64: 0x115,
  JA: 0x118,
  MAY_GOTO: 0x119,
  CALL_LOCAL: 0x11a,
  CALLX: 0x11b,
  LDDW: 0x11c,
  /** The second slot of an lddw: reaching it is a fault. */
  LDDW_SECOND: 0x11d,
  LDXSB: 0x11e,
  LDXSH: 0x11f,
  LDXSW: 0x120,
  /** Past the end of the program. */
  TRAP: 0x1ff,
} as const;
