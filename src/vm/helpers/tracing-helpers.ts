import { PerfEventContext } from '../contexts/perf-event-data.js';
import { Errno } from '../errors.js';
import type { HelperFn } from './helper.js';

/** sizeof(struct bpf_perf_event_value): counter, enabled, running. */
const PERF_EVENT_VALUE_SIZE = 24;

/**
 * bpf_perf_prog_read_value(ctx, buf, size): the event's counter into buf; -EINVAL with
 * buf zeroed when size is not that of struct bpf_perf_event_value, as in the kernel.
 */
export const perfProgReadValue: HelperFn = (m) => {
  const ctx = m.state.context;
  if (!(ctx instanceof PerfEventContext)) return m.fault('invalid_helper_call', 'bpf_perf_prog_read_value needs a struct bpf_perf_event_data context');
  const size = m.lo[3]! >>> 0;
  const buf = m.argBytes(2, size, true);
  if (size !== PERF_EVENT_VALUE_SIZE) {
    buf.fill(0);
    return m.retNumber(-Errno.EINVAL);
  }
  const v = new DataView(buf.buffer, buf.byteOffset, size);
  v.setBigUint64(0, ctx.value.counter, true);
  v.setBigUint64(8, ctx.value.enabled, true);
  v.setBigUint64(16, ctx.value.running, true);
  m.ret(0, 0);
};
