// scanPolicy(): the byte offsets of each tenant agree with JSON.parse on any JSON, and broken text is never misread.

import assert from 'node:assert/strict';
import fc from 'fast-check';
import { scanPolicy, type ScannedPolicy } from '../../lib/policy/file-scan';

/** What JSON.parse of the whole text gives, rebuilt from the scanner's slices (undefined: a slice does not parse). */
function rebuild(buffer: Buffer, layout: ScannedPolicy): Record<string, unknown> | undefined {
  const slice = (start: number, end: number) => JSON.parse(buffer.toString('utf8', start, end)) as unknown;
  try {
    // Own properties, as JSON.parse makes them ("__proto__" included).
    const set = (object: Record<string, unknown>, name: string, value: unknown) =>
      Object.defineProperty(object, name, { value, enumerable: true, writable: true, configurable: true });
    const out: Record<string, unknown> = {};
    for (const member of layout.head) set(out, member.key, slice(member.start, member.end));
    if (layout.tenants) {
      if (layout.tenants.members) {
        const tenants: Record<string, unknown> = {};
        for (const member of layout.tenants.members)
          set(tenants, member.key, slice(member.start, member.end));
        set(out, 'tenants', tenants);
      } else {
        set(out, 'tenants', slice(layout.tenants.start, layout.tenants.end));
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

/** JSON.parse semantics for comparison: own keys (including "__proto__") in insertion order. */
function parse(text: string): unknown {
  return JSON.parse(text);
}

const key = fc.oneof(
  fc.constantFrom('tenants', 'defaultTenant', '$schema', 'a"b', 'é', '__proto__', ''),
  fc.string(),
);
const policyLike = fc.record({
  head: fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
  tenants: fc.oneof(
    fc.dictionary(key, fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 }),
    fc.jsonValue({ maxDepth: 2 }),
  ),
  indent: fc.constantFrom(0, 2, '\t', ' \r\n '),
  bom: fc.boolean(),
});

function render(doc: {
  head: Record<string, unknown>;
  tenants: unknown;
  indent: number | string;
  bom: boolean;
}) {
  const object = { ...doc.head, tenants: doc.tenants };
  const text = JSON.stringify(object, null, doc.indent);
  return (doc.bom ? '\ufeff' : '') + text;
}

describe('scanPolicy', () => {
  it('finds every member exactly where JSON.parse reads it, whatever the formatting', () => {
    fc.assert(
      fc.property(policyLike, (doc) => {
        const text = render(doc);
        const buffer = Buffer.from(text, 'utf8');
        const layout = scanPolicy(buffer);
        assert.ok(layout, `not scanned: ${text}`);
        const expected = parse(text.replace(/^\ufeff/, '')) as Record<string, unknown>;
        assert.deepStrictEqual(rebuild(buffer, layout), expected);
      }),
      { numRuns: 400 },
    );
  });

  it('keeps the last of duplicate keys at the first one’s position, as JSON.parse does', () => {
    const text = '{"tenants":{"a":1,"b":2,"a":3},"x":1,"tenants":{"c":{"d":[1,"}"]},"c":4}}';
    const layout = scanPolicy(Buffer.from(text))!;
    assert.deepEqual(
      layout.tenants!.members!.map((member) => [member.key, text.slice(member.start, member.end)]),
      [['c', '4']],
    );
    assert.deepEqual(
      layout.head.map((member) => member.key),
      ['x'],
    );
  });

  it('never returns a layout whose slices parse when the whole text does not (mutations of valid files)', () => {
    fc.assert(
      fc.property(
        policyLike,
        fc.nat(),
        fc.constantFrom('delete', 'insert'),
        fc.constantFrom(...'{}[]",:\\ 0tn'),
        (doc, at, how, char) => {
          const valid = render({ ...doc, bom: false });
          const index = at % (valid.length + 1);
          const text =
            how === 'delete'
              ? valid.slice(0, index) + valid.slice(index + 1)
              : valid.slice(0, index) + char + valid.slice(index);
          let whole: unknown;
          try {
            whole = JSON.parse(text);
          } catch {
            whole = undefined;
          }
          const buffer = Buffer.from(text, 'utf8');
          const layout = scanPolicy(buffer);
          const rebuilt = layout && rebuild(buffer, layout);
          if (whole === undefined || typeof whole !== 'object' || whole === null || Array.isArray(whole)) {
            assert.equal(rebuilt, undefined, `misread broken text: ${text}`);
          } else if (rebuilt !== undefined) {
            assert.deepStrictEqual(rebuilt, whole);
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  const broken: [string, string][] = [
    ['a trailing comma in tenants', '{"tenants":{"a":{},}}'],
    ['a missing comma between tenants', '{"tenants":{"a":{} "b":{}}}'],
    ['a missing colon', '{"tenants" {"a":{}}}'],
    ['text after the document', '{"tenants":{}} x'],
    ['a list at the top', '[{"tenants":{}}]'],
    ['an unclosed string', '{"tenants":{"a":"}}'],
    ['an unclosed object', '{"tenants":{"a":{"b":[1,2]}'],
    ['an empty file', ''],
  ];
  for (const [what, text] of broken) {
    it(`gives up on ${what}`, () => {
      assert.equal(scanPolicy(Buffer.from(text)), undefined);
    });
  }
});
