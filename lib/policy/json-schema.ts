// The JSON Schema of the policy file, generated from the zod schema, for admins' editors (schema/duo-mfa.schema.json).

import { z } from 'zod';
import { PolicyFileSchema } from './schema';

/**
 * The policy file's JSON Schema (draft-07, which every common editor understands): titles and descriptions on
 * every field, defaults, `additionalProperties: false` on every fixed-key object. Rules that JSON Schema cannot
 * express (defaultTenant naming a tenant, env secrets being set) are checked by `duo-mfa check`.
 *
 * @example
 * ```ts
 * const schema = policyJsonSchema();
 * schema.title; // 'express-duo-mfa policy'
 * ```
 */
export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(PolicyFileSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' });
}

/**
 * The exact text of schema/duo-mfa.schema.json: 2-space JSON with a final newline.
 *
 * @example
 * ```ts
 * fs.writeFileSync('schema/duo-mfa.schema.json', renderPolicyJsonSchema());
 * ```
 */
export function renderPolicyJsonSchema(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}
