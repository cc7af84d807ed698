/**
 * The error a value that does not match its BTF type becomes. It names where in the
 * value the problem is, as the user wrote it ("value.stats[3].bytes"), so a wrong field
 * deep inside a nested struct is found without a debugger.
 */
export class BtfValueError extends Error {
  override readonly name = 'BtfValueError';
  /** Where in the value: "value.stats[3].bytes" (segments are prepended as the error unwinds). */
  path: string;

  constructor(
    /** What is wrong, without the location: "300 does not fit u8". */
    readonly reason: string,
    path = '',
  ) {
    super(path ? `${path}: ${reason}` : reason);
    this.path = path;
  }

  /** Put `segment` (".name", "[3]", or a root name) in front of the path. */
  prepend(segment: string): this {
    this.path = segment + this.path;
    this.message = `${this.path}: ${this.reason}`;
    return this;
  }
}

/** A short, safe rendering of a value for error messages. */
export function show(value: unknown): string {
  switch (typeof value) {
    case 'bigint':
      return `${value}n`;
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'object':
      if (value === null) return 'null';
      if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
      if (Array.isArray(value)) return `array(${value.length})`;
      return 'object';
    default:
      return typeof value;
  }
}
