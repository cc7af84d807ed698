/** How a {@link BtfValueCodec} maps values that have more than one sensible TypeScript form. */
export interface BtfValueOptions {
  /**
   * Decode arrays of `char` as strings (UTF-8 up to the first NUL) instead of Uint8Array.
   * Encoding accepts either form whatever this says. Default false.
   */
  charArraysAsStrings?: boolean;
  /**
   * Decode enums to the name of the member with that value (the number when no member
   * has it). Encoding accepts names and numbers whatever this says. Default false.
   */
  enumNames?: boolean;
  /**
   * Put a {@link SpecialField} marker where a kernel-managed field sits (bpf_spin_lock,
   * bpf_timer, kptr, ...) instead of leaving the member out of decoded values. Default false.
   */
  markSpecialFields?: boolean;
}

/**
 * Marks a kernel-managed field in a decoded value. Its bytes mean nothing to user space
 * (the kernel hides or owns them), so they are neither decoded nor written: encoding
 * leaves them zero, whatever the value holds. The kernel ignores those bytes on update
 * too; note that updating a value from user space releases a kptr stored in it.
 */
export interface SpecialField {
  /** "bpf_spin_lock", "bpf_timer", "kptr", ... */
  readonly special: string;
}
