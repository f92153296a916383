// Shape checks for untrusted JSON-like input.

/** True for an object that is not null and not an array: a JSON object, as JSON.parse would give it. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
