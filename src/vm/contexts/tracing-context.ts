import { ProgType as T } from '../../uapi/prog-types.js';
import type { AddressSpace } from '../memory.js';
import { PerfEventContext, type PerfEventValue } from './perf-event-data.js';
import { KprobeContext } from './pt-regs.js';
import { RawTracepointContext } from './raw-tracepoint.js';
import type { ReadOnlyByteContext } from './read-only-bytes.js';
import { TracepointContext } from './tracepoint.js';

/**
 * The context of a tracing program type over its bytes (a tracepoint record, raw
 * tracepoint arguments, pt_regs, bpf_perf_event_data), or undefined for other types.
 * Throws RangeError when the bytes cannot be that context.
 */
export function tracingContext(memory: AddressSpace, progType: number, bytes: Uint8Array, perfValue?: PerfEventValue): ReadOnlyByteContext | undefined {
  switch (progType) {
    case T.TRACEPOINT:
      return new TracepointContext(memory, bytes);
    case T.RAW_TRACEPOINT:
    case T.RAW_TRACEPOINT_WRITABLE:
      return new RawTracepointContext(memory, bytes);
    case T.PERF_EVENT:
      return new PerfEventContext(memory, bytes, perfValue);
    case T.KPROBE:
      return new KprobeContext(memory, bytes);
    default:
      return undefined;
  }
}
