// Finds where and why a JSON text is invalid, without echoing the text (V8's messages quote it, secrets included).

/** Where a JSON text stops being valid: 1-based line and column, and what was wrong there. */
export interface JsonSyntaxError {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

type Container = '{' | '[';
type Expect = 'value' | 'value-or-close' | 'key' | 'key-or-close' | 'after-value';

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/**
 * Scans `text` (known not to parse) and reports the first syntax error with its line and column. Iterative, so
 * deep nesting cannot overflow the stack. Returns undefined if the text is in fact valid JSON.
 *
 * @example
 * ```ts
 * locateJsonError('{\n  "a": 1,\n}'); // { line: 3, column: 1, message: 'trailing comma before "}"' }
 * ```
 */
export function locateJsonError(text: string): JsonSyntaxError | undefined {
  const stack: Container[] = [];
  let i = 0;
  let expect: Expect = 'value';
  const fail = (offset: number, message: string): JsonSyntaxError => ({
    ...lineColumn(text, offset),
    message,
  });

  for (;;) {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
    const c = text[i];

    if (expect === 'after-value') {
      const top = stack.at(-1);
      if (top === undefined) {
        return c === undefined
          ? undefined
          : fail(i, `unexpected ${show(c)} after the end of the JSON document`);
      }
      const close = top === '{' ? '}' : ']';
      if (c === undefined)
        return fail(i, `the file ends inside ${top === '{' ? 'an object' : 'a list'} (cut short?)`);
      if (c === ',') {
        i++;
        expect = top === '{' ? 'key' : 'value';
      } else if (c === close) {
        i++;
        stack.pop();
      } else {
        return fail(i, `expected "," or "${close}" but found ${show(c)}`);
      }
      continue;
    }

    if (expect === 'key' || expect === 'key-or-close') {
      if (c === undefined) return fail(i, 'the file ends inside an object (cut short?)');
      if (c === '}') {
        if (expect === 'key') return fail(i, 'trailing comma before "}"');
        i++;
        stack.pop();
        expect = 'after-value';
        continue;
      }
      if (c !== '"') return fail(i, `expected a property name in double quotes but found ${show(c)}`);
      const end = scanString(text, i);
      if (typeof end !== 'number') return fail(end.offset, end.message);
      i = end;
      while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
      if (text[i] !== ':') {
        return fail(
          i,
          `expected ":" after the property name but found ${text[i] === undefined ? 'the end of the file' : show(text[i]!)}`,
        );
      }
      i++;
      expect = 'value';
      continue;
    }

    // A value is expected.
    if (c === undefined)
      return fail(
        i,
        stack.length === 0 ? 'the file is empty' : 'the file ends where a value was expected (cut short?)',
      );
    if (c === ']' && expect === 'value-or-close') {
      i++;
      stack.pop();
      expect = 'after-value';
    } else if (c === '{' || c === '[') {
      stack.push(c);
      i++;
      expect = c === '{' ? 'key-or-close' : 'value-or-close';
    } else if (c === '"') {
      const end = scanString(text, i);
      if (typeof end !== 'number') return fail(end.offset, end.message);
      i = end;
      expect = 'after-value';
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text);
      if (!match) return fail(i, 'invalid number');
      i += match[0].length;
      expect = 'after-value';
    } else {
      const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, i));
      if (literal === undefined) {
        if (c === ']' || c === '}') return fail(i, `trailing comma before "${c}"`);
        const hint = c === "'" ? ' (JSON strings use double quotes)' : '';
        return fail(i, `expected a value but found ${show(c)}${hint}`);
      }
      i += literal.length;
      expect = 'after-value';
    }
  }
}

/** Returns the offset after the closing quote, or where and why the string is broken. */
function scanString(text: string, start: number): number | { offset: number; message: string } {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20)
      return {
        offset: i,
        message: 'line break or control character inside a string (missing closing quote?)',
      };
    if (c === 0x5c) {
      const next = text[i + 1];
      if (next === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6)))
          return { offset: i, message: 'invalid \\u escape in a string' };
        i += 6;
      } else if (next !== undefined && '"\\/bfnrt'.includes(next)) {
        i += 2;
      } else {
        return { offset: i, message: 'invalid escape in a string' };
      }
    } else {
      i++;
    }
  }
  return { offset: start, message: 'string is never closed (cut short?)' };
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** One character, safe to print. */
function show(c: string): string {
  return JSON.stringify(c);
}
