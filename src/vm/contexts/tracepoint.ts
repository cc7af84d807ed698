import type { AddressSpace } from '../memory.js';
import { ReadOnlyByteContext } from './read-only-bytes.js';

/** The kernel's limit on a trace event record (PERF_MAX_TRACE_SIZE). */
export const PERF_MAX_TRACE_SIZE = 8192;
/** `struct trace_entry`: the common fields every record starts with. */
export const TRACE_ENTRY_SIZE = 8;

/**
 * The context of a tracepoint program: the trace event's record as the tracepoint's
 * `format` file lays it out (the common fields, then the event's own). As in the kernel
 * (`tp_prog_is_valid_access`), loads must be aligned to their size and may not touch the
 * common fields in the first 8 bytes; the record is read-only.
 */
export class TracepointContext extends ReadOnlyByteContext {
  constructor(memory: AddressSpace, record: Uint8Array) {
    if (record.length > PERF_MAX_TRACE_SIZE) throw new RangeError(`a trace event record is at most ${PERF_MAX_TRACE_SIZE} bytes, not ${record.length}`);
    super(memory, record, 'context (tracepoint record)');
  }

  protected allows(offset: number, size: number): boolean {
    return offset >= TRACE_ENTRY_SIZE && offset < PERF_MAX_TRACE_SIZE && offset % size === 0;
  }
}
