// schema/duo-mfa.schema.json: generated from the zod schema, committed up to date, helpful in editors.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { policyJsonSchema, renderPolicyJsonSchema } from '../../lib/policy/json-schema';

const ROOT = join(__dirname, '..', '..');

type Node = Record<string, unknown>;

/** Every sub-schema that describes an object property (the things an editor shows help for). */
function properties(schema: Node, path = ''): [string, Node][] {
  const out: [string, Node][] = [];
  const visit = (node: unknown, at: string) => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as Node;
    if (n.properties) {
      for (const [key, child] of Object.entries(n.properties as Record<string, Node>)) {
        out.push([`${at}.${key}`, child]);
        visit(child, `${at}.${key}`);
      }
    }
    if (typeof n.additionalProperties === 'object') visit(n.additionalProperties, `${at}.*`);
    if (n.items) visit(n.items, `${at}[]`);
    if (Array.isArray(n.anyOf)) n.anyOf.forEach((option, i) => visit(option, `${at}|${i}`));
  };
  visit(schema, path);
  return out;
}

function objects(schema: Node): Node[] {
  const out: Node[] = [];
  const visit = (node: unknown) => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as Node;
    if (n.type === 'object') out.push(n);
    for (const value of Object.values(n)) visit(value);
  };
  visit(schema);
  return out;
}

describe('policy JSON Schema', () => {
  it('is committed up to date in schema/duo-mfa.schema.json (run npm run schema)', () => {
    const committed = readFileSync(join(ROOT, 'schema', 'duo-mfa.schema.json'), 'utf8');
    assert.equal(
      committed,
      renderPolicyJsonSchema(),
      'schema/duo-mfa.schema.json is out of date: run npm run schema',
    );
  });

  it('is draft-07 with a title and a description at the top', () => {
    const schema = policyJsonSchema();
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.equal(schema.title, 'express-duo-mfa policy');
    assert.equal(typeof schema.description, 'string');
  });

  it('gives every field a description, so editors show help', () => {
    const missing = properties(policyJsonSchema())
      .filter(([, node]) => typeof node.description !== 'string' || node.description === '')
      .map(([path]) => path);
    assert.deepEqual(missing, []);
  });

  it('refuses unknown keys in every fixed-key object (additionalProperties: false)', () => {
    const fixed = objects(policyJsonSchema()).filter((node) => node.properties !== undefined);
    assert.ok(fixed.length >= 7);
    for (const node of fixed) assert.equal(node.additionalProperties, false);
  });

  it('documents the defaults', () => {
    const tenant = ((policyJsonSchema().properties as Node).tenants as Node).additionalProperties as Node;
    const props = tenant.properties as Record<string, Node>;
    assert.equal(props.failmode!.default, 'closed');
    assert.equal(props.challengeLimit!.default, 5);
    assert.deepEqual(tenant.required, ['mfa', 'duo']);
  });

  it('is what the example app’s policy file points at', () => {
    const example = JSON.parse(readFileSync(join(ROOT, 'example-app', 'duo-mfa.json'), 'utf8')) as Node;
    assert.equal(example.$schema, '../schema/duo-mfa.schema.json');
  });
});
