// Writes schema/duo-mfa.schema.json from the zod policy schema (npm run schema); with --check, only compares.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderPolicyJsonSchema } from '../lib/policy/json-schema';

const target = join(__dirname, 'duo-mfa.schema.json');
const wanted = renderPolicyJsonSchema();

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing: reported as out of date below
  }
  if (current !== wanted) {
    console.error(`${target} is out of date: run npm run schema`);
    process.exitCode = 1;
  } else {
    console.log(`${target} is up to date`);
  }
} else {
  writeFileSync(target, wanted);
  console.log(`wrote ${target}`);
}
