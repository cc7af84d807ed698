import { BtfValueError, show } from './errors.js';
import type { CodecNode, MemberEntry } from './node.js';
import type { SpecialField } from './options.js';

/**
 * Structs, unions and data sections as plain objects keyed by member name. Members of
 * anonymous structs and unions sit on the outer object, as C lets you write `v.x` for
 * them. Encoding wants every member of a struct, at least one member of each union (the
 * last one given wins where they overlap), and no names the type does not have.
 */
export interface CompositeLayout {
  label: string;
  size: number;
  entries: MemberEntry[];
  /** Groups of member names of which at least one must be given (one per union). */
  unionGroups: string[][];
  markSpecialFields: boolean;
}

const markers = new Map<string, SpecialField>();

/** The shared, frozen marker for a special field kind. */
export function specialMarker(kind: string): SpecialField {
  let m = markers.get(kind);
  if (!m) {
    m = Object.freeze({ special: kind });
    markers.set(kind, m);
  }
  return m;
}

export function compositeNode(layout: CompositeLayout): CodecNode {
  const { label, size, unionGroups } = layout;
  const readable = layout.entries.filter((e) => !e.special || layout.markSpecialFields);
  const writable = layout.entries.filter((e) => !e.special);
  const known = new Set(layout.entries.map((e) => e.name));
  const nRead = readable.length;
  const nWrite = writable.length;

  return {
    size,
    label,
    read(view, at) {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < nRead; i++) {
        const e = readable[i]!;
        out[e.name] = e.special ? specialMarker(e.special) : e.node.read(view, at + e.offset);
      }
      return out;
    },
    write(view, at, value) {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
        throw new BtfValueError(`expected an object (${label}), got ${show(value)}`);
      }
      const obj = value as Record<string, unknown>;
      for (let i = 0; i < nWrite; i++) {
        const e = writable[i]!;
        const v = obj[e.name];
        if (v === undefined) {
          if (e.required) throw new BtfValueError(`missing member of ${label}`).prepend(`.${e.name}`);
          continue;
        }
        try {
          e.node.write(view, at + e.offset, v);
        } catch (error) {
          if (error instanceof BtfValueError) error.prepend(`.${e.name}`);
          throw error;
        }
      }
      for (const group of unionGroups) {
        if (!group.some((n) => obj[n] !== undefined)) throw new BtfValueError(`${label} needs one of ${group.join(', ')}`);
      }
      for (const k in obj) {
        if (!known.has(k) && obj[k] !== undefined) throw new BtfValueError(`${label} has no member ${k} (members: ${[...known].join(', ')})`).prepend(`.${k}`);
      }
    },
  };
}
