import { Errno } from '../errors.js';
import type { Machine } from '../interpreter.js';
import { PerfEventArrayMap } from '../maps/perf-event-array-map.js';
import { RingBufferMap, type RingRecord } from '../maps/ring-buffer-map.js';
import { AddressSpace, Region } from '../memory.js';
import type { HelperFn } from './helper.js';
import { argMap } from './map-helpers.js';

function argRing(m: Machine, i: number): RingBufferMap {
  const map = argMap(m, i);
  if (!(map instanceof RingBufferMap)) return m.fault('invalid_helper_call', `map ${map.name} is not a ring buffer`);
  return map;
}

interface Reservation {
  map: RingBufferMap;
  record: RingRecord;
  region: Region;
  release(): void;
}

/** bpf_ringbuf_reserve(ringbuf, size, flags): pointer to the record, or NULL. */
export const ringbufReserve: HelperFn = (m) => {
  const map = argRing(m, 1);
  const size = m.argNumber(2);
  if (m.lo[3] !== 0 || m.hi[3] !== 0) return m.ret(0, 0);
  const record = size > 0xfffffff ? undefined : map.reserve(size);
  if (record === undefined) return m.ret(0, 0);
  const region = m.memory.add(new Region('ringbuf_record', `ring buffer ${map.name} record`, record.data, true));
  const res: Reservation = {
    map,
    record,
    region,
    release: () => {
      m.memory.remove(region);
      map.commit(record, true);
    },
  };
  region.target = res;
  m.state.openRecords.add(res);
  m.ret(AddressSpace.lo(0), region.hi);
};

function commit(discard: boolean): HelperFn {
  return (m) => {
    const r = m.memory.regionOf(m.hi[1]!);
    if (r === undefined || r.kind !== 'ringbuf_record' || m.lo[1] !== AddressSpace.lo(0)) {
      return m.fault('invalid_helper_call', `bpf_ringbuf_${discard ? 'discard' : 'submit'}: r1 is not a reserved ring buffer record`, { hi: m.hi[1]!, lo: m.lo[1]!, size: 0 });
    }
    const res = r.target as Reservation;
    m.state.openRecords.delete(res);
    m.memory.remove(r);
    res.map.commit(res.record, discard);
  };
}
export const ringbufSubmit = commit(false);
export const ringbufDiscard = commit(true);

/** bpf_ringbuf_output(ringbuf, data, size, flags): 0 or -EAGAIN when the ring is full. */
export const ringbufOutput: HelperFn = (m) => {
  const map = argRing(m, 1);
  const size = m.lo[3]! >>> 0;
  const data = m.argBytes(2, size, false);
  if (m.lo[4] !== 0 && m.lo[4] !== 1 && m.lo[4] !== 2) return m.retNumber(-Errno.EINVAL);
  const rec = map.reserve(size);
  if (rec === undefined) return m.retNumber(-Errno.EAGAIN);
  rec.data.set(data);
  map.commit(rec, false);
  m.ret(0, 0);
};

/** bpf_ringbuf_query(ringbuf, flags). */
export const ringbufQuery: HelperFn = (m) => m.retNumber(argRing(m, 1).query(m.lo[2]! >>> 0));

/** bpf_perf_event_output(ctx, map, flags, data, size). */
export const perfEventOutput: HelperFn = (m) => {
  const map = argMap(m, 2);
  if (!(map instanceof PerfEventArrayMap)) return m.fault('invalid_helper_call', `map ${map.name} is not a perf event array`);
  const index = m.lo[3]! >>> 0;
  const data = m.argBytes(4, m.lo[5]! >>> 0, false);
  m.retNumber(map.output(index === 0xffffffff ? m.state.cpu : index, data));
};
