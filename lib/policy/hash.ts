// A short content hash of JSON data with sorted keys, streamed into sha256 so huge policies never build one string.

import { createHash, type Hash } from 'node:crypto';

const CHUNK = 64 * 1024;

/**
 * sha256 of the canonical JSON of `value` (object keys sorted, no whitespace), as 12 hex characters. Equal data
 * gives an equal hash whatever the key order or formatting of the file it came from. Meant for validated policy
 * data, whose depth the schema bounds (the walk is recursive).
 *
 * @example
 * ```ts
 * canonicalHash({ b: 1, a: [true] }) === canonicalHash({ a: [true], b: 1 }); // true
 * ```
 */
export function canonicalHash(value: unknown): string {
  const writer: Writer = { hash: createHash('sha256'), buffer: '' };
  write(writer, value);
  writer.hash.update(writer.buffer);
  return writer.hash.digest('hex').slice(0, 12);
}

interface Writer {
  hash: Hash;
  buffer: string;
}

function emit(writer: Writer, text: string): void {
  if (text.length >= CHUNK) {
    // A whole name list at once: hashed as it is rather than copied into the buffer.
    writer.hash.update(writer.buffer);
    writer.buffer = '';
    writer.hash.update(text);
    return;
  }
  writer.buffer += text;
  if (writer.buffer.length >= CHUNK) {
    writer.hash.update(writer.buffer);
    writer.buffer = '';
  }
}

function write(writer: Writer, value: unknown): void {
  if (Array.isArray(value)) {
    // A list without objects (names, mostly) has no keys to sort: JSON.stringify writes it exactly as the walk
    // below would, in one native call instead of one per entry.
    if (!value.some(isObject)) {
      emit(writer, JSON.stringify(value));
      return;
    }
    emit(writer, '[');
    for (let index = 0; index < value.length; index++) {
      if (index > 0) emit(writer, ',');
      write(writer, value[index]);
    }
    emit(writer, ']');
  } else if (isObject(value)) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    emit(writer, '{');
    for (let index = 0; index < keys.length; index++) {
      const key = keys[index]!;
      emit(writer, `${index > 0 ? ',' : ''}${JSON.stringify(key)}:`);
      write(writer, record[key]);
    }
    emit(writer, '}');
  } else {
    emit(writer, JSON.stringify(value) ?? 'null');
  }
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null;
}
