/** Values through BTF: encode TypeScript values to bytes and decode them back. */
export { BtfValueCodec, type ValueCodec, type TypeCodec } from './codec.js';
export { BtfValueError } from './errors.js';
export type { BtfValueOptions, SpecialField } from './options.js';
export { recordDecoder } from './record-decoder.js';
export { hasSpecialField, specialFieldOf } from './special.js';
