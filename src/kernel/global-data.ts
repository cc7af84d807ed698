/**
 * Setting global variables (in .rodata, .data, .bss) before load: the user gives a value
 * by variable name, and it is written into a copy of its section's initial bytes.
 */
import type { MapSpec, ObjectSpec, VariableSpec } from '../elf/object-spec.js';

/** A variable's new value: raw bytes, or a number/bigint/boolean for a 1/2/4/8-byte integer. */
export type VariableValue = Uint8Array | number | bigint | boolean;

/** Initial bytes of every data map with the given variables applied (the spec is not modified). */
export function initialDataWith(spec: ObjectSpec, values: Readonly<Record<string, VariableValue>>): Map<string, Uint8Array> {
  const data = new Map<string, Uint8Array>();
  const dataOf = (map: MapSpec): Uint8Array => {
    let bytes = data.get(map.name);
    if (!bytes) {
      bytes = new Uint8Array(map.valueSize);
      if (map.initialData) bytes.set(map.initialData.subarray(0, map.valueSize));
      data.set(map.name, bytes);
    }
    return bytes;
  };
  for (const [name, value] of Object.entries(values)) {
    const variable = findVariable(spec, name);
    const map = spec.maps.find((m) => m.name === variable.map);
    if (!map) throw new Error(`variable ${name} is in ${variable.map}, which is not a map of this object`);
    dataOf(map).set(encodeValue(variable, value), variable.offset);
  }
  return data;
}

function findVariable(spec: ObjectSpec, name: string): VariableSpec {
  const matches = spec.variables.filter((v) => v.name === name);
  if (matches.length === 0) {
    const known = spec.variables.map((v) => v.name).join(', ') || 'none';
    throw new Error(`no global variable ${name} in this object (variables: ${known})`);
  }
  const global = matches.filter((v) => v.linkage === 'global');
  if (matches.length > 1 && global.length !== 1) throw new Error(`variable name ${name} is ambiguous (${matches.map((m) => m.map).join(', ')})`);
  return global[0] ?? matches[0]!;
}

function encodeValue(variable: VariableSpec, value: VariableValue): Uint8Array {
  const size = variable.size;
  if (value instanceof Uint8Array) {
    if (value.length !== size) throw new RangeError(`variable ${variable.name} is ${size} bytes; ${value.length} given`);
    return value;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const n = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
  switch (size) {
    case 1:
      view.setUint8(0, Number(BigInt.asUintN(8, n)));
      break;
    case 2:
      view.setUint16(0, Number(BigInt.asUintN(16, n)), true);
      break;
    case 4:
      view.setUint32(0, Number(BigInt.asUintN(32, n)), true);
      break;
    case 8:
      view.setBigUint64(0, BigInt.asUintN(64, n), true);
      break;
    default:
      throw new TypeError(`variable ${variable.name} is ${size} bytes: give its value as a Uint8Array`);
  }
  return out;
}
