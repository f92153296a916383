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
  writer.buffer += text;
  if (writer.buffer.length >= CHUNK) {
    writer.hash.update(writer.buffer);
    writer.buffer = '';
  }
}

function write(writer: Writer, value: unknown): void {
  if (Array.isArray(value)) {
    emit(writer, '[');
    value.forEach((item, index) => {
      if (index > 0) emit(writer, ',');
      write(writer, item);
    });
    emit(writer, ']');
  } else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    emit(writer, '{');
    keys.forEach((key, index) => {
      emit(writer, `${index > 0 ? ',' : ''}${JSON.stringify(key)}:`);
      write(writer, record[key]);
    });
    emit(writer, '}');
  } else {
    emit(writer, JSON.stringify(value) ?? 'null');
  }
}
