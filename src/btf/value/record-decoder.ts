import type { Btf } from '../btf.js';
import { BtfValueCodec } from './codec.js';
import type { BtfValueOptions } from './options.js';

/**
 * A decoder for ring buffer and perf event records whose layout is a BTF type, given by
 * name (`struct event` → "event"). Records may be longer than the type (perf pads samples
 * to 8 bytes; a producer may append a variable tail): the type's bytes come first.
 *
 * @example
 * const decode = recordDecoder<Event>(btf, 'event');
 * for (const record of reader.drain()) console.log(decode(record).pid);
 */
export function recordDecoder<T = unknown>(btf: Btf | BtfValueCodec, typeName: string, options: BtfValueOptions = {}): (record: Uint8Array) => T {
  const codecs = btf instanceof BtfValueCodec ? btf : new BtfValueCodec(btf, options);
  const codec = codecs.byName<T>(typeName, typeName);
  return (record) => codec.decode(record, 0);
}
