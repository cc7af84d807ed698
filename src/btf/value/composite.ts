import { BtfValueError, show } from './errors.js';
import type { CodecNode, MemberEntry } from './node.js';
import type { SpecialField } from './options.js';
import { sameValue } from './same-value.js';

/**
 * Structs, unions and data sections as plain objects keyed by member name. Members of
 * anonymous structs and unions sit on the outer object, as C lets you write `v.x` for
 * them. Encoding wants every member of a struct, at least one member of each union (more
 * may be given, as in a decoded value, as long as they agree on the shared bytes), and no
 * names the type does not have.
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

  const byName = new Map(writable.map((e) => [e.name, e]));
  /**
   * Several members of one union were given, as in a decoded value. They share bytes, so
   * the last written wins; if one was changed and the others left as decoded, the change
   * could be silently undone. Each member is written alone and read back: all must still
   * read the same from the final bytes, or the value is refused.
   */
  const checkUnionAgrees = (view: DataView, at: number, obj: Record<string, unknown>, given: string[]): void => {
    const alone = new DataView(new ArrayBuffer(size));
    for (const name of given) {
      const e = byName.get(name)!;
      new Uint8Array(alone.buffer).fill(0);
      e.node.write(alone, e.offset, obj[name]);
      if (!sameValue(e.node.read(alone, e.offset), e.node.read(view, at + e.offset))) {
        throw new BtfValueError(`union members ${given.join(', ')} share bytes but disagree: give only the one you mean (${name} would be overwritten)`);
      }
    }
  };

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
        const given = group.filter((n) => obj[n] !== undefined);
        if (given.length === 0) throw new BtfValueError(`${label} needs one of ${group.join(', ')}`);
        if (given.length > 1) checkUnionAgrees(view, at, obj, given);
      }
      for (const k in obj) {
        if (!known.has(k) && obj[k] !== undefined) throw new BtfValueError(`${label} has no member ${k} (members: ${[...known].join(', ')})`).prepend(`.${k}`);
      }
    },
  };
}
