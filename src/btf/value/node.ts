/**
 * A compiled piece of a codec: how one BTF type is read from and written to bytes.
 * Nodes are closures built once per type id, not generated source, so the codec runs
 * under a Content-Security-Policy that forbids `eval`.
 */
export interface CodecNode {
  /** Bytes the value occupies. */
  readonly size: number;
  /** Type name for messages: "u8", "struct flow", "char[16]". */
  readonly label: string;
  /** The value at byte `at` of `view`. */
  read(view: DataView, at: number): unknown;
  /**
   * Write `value` at byte `at`. The bytes there are zero (or hold an overlapping union
   * member). Throws BtfValueError with the reason; composites prepend the path.
   */
  write(view: DataView, at: number, value: unknown): void;
}

/** One member of a struct, union or data section, flattened out of anonymous members. */
export interface MemberEntry {
  name: string;
  /** Byte offset from the start of the outermost composite (bitfield nodes carry their own bit offset). */
  offset: number;
  node: CodecNode;
  /** Kernel-managed field name (bpf_spin_lock, kptr, ...): never written, decoded as a marker or left out. */
  special?: string;
  /** Must be present when encoding (false inside unions: one of the union's members will do). */
  required: boolean;
}
