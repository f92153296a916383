// The admin policy file format (zod 4): the one source of validation rules, defaults and the JSON Schema.

import { z } from 'zod';
import { describeValue, oneOfMessage } from './issues';

/** Environment variable names accepted in `{ "env": "NAME" }`. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** host or host:port — a DNS name, an IPv4 address or a bracketed IPv6 address; no scheme, no path. */
const API_HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/** The largest challengeLimit accepted: beyond it the limit no longer protects against push fatigue. */
export const MAX_CHALLENGE_LIMIT = 100;

const FAILMODES = ['closed', 'open'] as const;
const TE_POLICIES = ['off', 'monitor', 'block'] as const;
const TE_ACTIVATIONS = ['disabled', 'test-group', 'all'] as const;

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: (issue) => oneOfMessage(values, issue.input) });
}

/** A username or role: any text that is not blank (compared trimmed and lower-cased). */
function nameString(what: string) {
  return z
    .string()
    .regex(/\S/, { error: `must not be empty: write a ${what}` })
    .meta({ description: `A ${what}; compared case-insensitively after trimming.` });
}

/** The array schemas made by nameList(), so nameListPaths() can find them. */
const NAME_LISTS = new WeakSet<object>();

function nameList(what: string, description: string) {
  const list = z.array(nameString(what));
  NAME_LISTS.add(list);
  return list.default([]).meta({ description: `${description} Default: [] (empty).` });
}

function apiHostMessage(input: unknown): string {
  const example = 'e.g. "api-12345678.duosecurity.com" or "127.0.0.1:8443"';
  if (typeof input !== 'string')
    return `must be Duo's API host name, ${example} (got ${describeValue(input)})`;
  if (input.includes('://')) return `must be a host name without a scheme ("https://"), ${example}`;
  if (input.includes('/')) return `must be a host name without a path, ${example}`;
  return `must be a host name or host:port, ${example} (got ${describeValue(input)})`;
}

const apiHost = z
  .string({ error: (issue) => apiHostMessage(issue.input) })
  .regex(API_HOST, { error: (issue) => apiHostMessage(issue.input) })
  .refine(
    (host) => {
      const port = /:([0-9]+)$/.exec(host)?.[1];
      return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
    },
    { error: 'must have a port between 1 and 65535' },
  )
  .meta({
    title: 'Duo API host',
    description:
      'The "API hostname" of the Duo application, without https:// or a path, e.g. "api-12345678.duosecurity.com". ' +
      'A host:port (e.g. "127.0.0.1:8443") reaches a local Duo emulator.',
  });

const envSecret = z
  .strictObject({
    env: z
      .string()
      .regex(ENV_NAME, {
        error: (issue) =>
          `must be an environment variable name (letters, digits, _; not starting with a digit) (got ${describeValue(issue.input)})`,
      })
      .meta({ description: 'Name of the environment variable holding the 40-character secret.' }),
  })
  .meta({
    title: 'Secret from the environment',
    description: 'Read the secret from this environment variable at start-up and on each reload.',
  });

/** `{ "encrypted": "v1:…" }`: what secrets.ts writes (AES-256-GCM, base64url of nonce, ciphertext and tag). */
export const ENCRYPTED_SECRET = /^v1:[A-Za-z0-9_-]{40,}$/;

const encryptedSecret = z
  .strictObject({
    encrypted: z
      .string()
      .regex(ENCRYPTED_SECRET, {
        error: (issue) =>
          `must be a secret encrypted by express-duo-mfa ("v1:" followed by base64url) (got ${describeValue(issue.input)})`,
      })
      .meta({
        description: 'The secret encrypted with the secretsKey (AES-256-GCM), as the settings API stores it.',
      }),
  })
  .meta({
    title: 'Encrypted secret',
    description:
      'The secret encrypted at rest with the secretsKey option (DUO_MFA_SECRETS_KEY): AES-256-GCM bound to this ' +
      'tenant and field, so it cannot be copied to another tenant. Written by the settings API.',
  });

/** A 40-character secret: inline, `{ "env": "NAME" }` or `{ "encrypted": "v1:…" }`. */
function secret(what: string, title: string, description: string) {
  return z
    .union(
      [
        z
          .string()
          .length(40, {
            error: (issue) =>
              `must be 40 characters (got ${typeof issue.input === 'string' ? issue.input.length : 0})`,
          })
          .meta({ description: `The 40-character ${what}, written inline (prefer { "env": "NAME" }).` }),
        envSecret,
        encryptedSecret,
      ],
      {
        error: (issue) =>
          `must be the 40-character ${what}, { "env": "NAME" } or { "encrypted": "v1:…" } (got ${typeof issue.input === 'string' ? 'a string' : describeValue(issue.input)})`,
      },
    )
    .meta({ title, description });
}

const clientSecret = secret(
  'client secret',
  'Duo client secret',
  'The "Client secret" of the Duo application: 40 characters inline, { "env": "NAME" } to read it from ' +
    'an environment variable (recommended), or { "encrypted": "v1:…" } as the settings API stores it. Never logged.',
);

const adminApi = z
  .strictObject({
    integrationKey: z
      .string()
      .length(20)
      .regex(/^DI/, {
        error: (issue) =>
          `must be the Admin API application's integration key, which starts with "DI" (got ${describeValue(issue.input)})`,
      })
      .meta({
        title: 'Admin API integration key',
        description:
          'The "Integration key" of the Duo Admin API application: 20 characters starting with "DI".',
      }),
    secretKey: secret(
      'secret key',
      'Admin API secret key',
      'The "Secret key" of the Duo Admin API application: 40 characters inline, { "env": "NAME" } (recommended) ' +
        'or { "encrypted": "v1:…" }. Never logged.',
    ),
    apiHost,
  })
  .meta({
    title: 'Duo Admin API application',
    description:
      'Optional: a Duo Admin API application of the same Duo account, for staff status, re-activation and bypass ' +
      'codes. Grant it "Grant read resource" and "Grant write resource".',
  });

const duo = z
  .strictObject({
    clientId: z.string().length(20).meta({
      title: 'Duo client ID',
      description:
        'The "Client ID" of the Duo Web SDK application: exactly 20 characters, e.g. "DIXXXXXXXXXXXXXXXXXX".',
    }),
    clientSecret,
    apiHost,
    adminApi: adminApi.optional(),
  })
  .meta({
    title: 'Duo application',
    description: "This tenant's own Duo application (Web SDK / Universal Prompt).",
  });

const temporaryBypass = z
  .strictObject({
    username: nameString('username').meta({
      title: 'Username',
      description: 'The staff member exempted; compared case-insensitively after trimming.',
    }),
    until: z.iso
      .datetime({
        offset: true,
        error: (issue) =>
          `must be an ISO-8601 date-time with a timezone, e.g. "2026-11-25T18:00:00Z" (got ${describeValue(issue.input)})`,
      })
      .meta({
        title: 'Until',
        description:
          'When the bypass ends: an ISO-8601 date-time with a timezone, e.g. "2026-11-25T18:00:00Z". ' +
          'Expired entries have no effect.',
      }),
    reason: z
      .string()
      .regex(/\S/, { error: 'must not be empty: say why (it is shown by duo-mfa explain and logged)' })
      .meta({
        title: 'Reason',
        description: 'Why, for the audit trail, e.g. "new phone, re-activation pending".',
      }),
  })
  .meta({
    title: 'Temporary bypass',
    description:
      'Break-glass: exempts one staff member from Duo until a date (e.g. while their phone is replaced).',
  });

const mfa = z
  .strictObject({
    enabled: z.boolean().meta({
      title: 'MFA enabled',
      description: 'The tenant toggle. false: no one in this tenant is asked for Duo.',
    }),
    rolesIncluded: nameList(
      'role',
      'Roles asked for Duo. When rolesIncluded and staffIncluded are both empty, everyone is asked.',
    ),
    staffIncluded: nameList(
      'username',
      'Usernames asked for Duo. When rolesIncluded and staffIncluded are both empty, everyone is asked.',
    ),
    staffExcluded: nameList(
      'username',
      'Usernames never asked for Duo; always wins over the inclusion lists.',
    ),
    temporaryBypass: z
      .array(temporaryBypass)
      .default([])
      .meta({ description: 'Temporary exemptions, each until a date. Default: [] (none).' }),
    enforceFrom: z.iso
      .datetime({
        offset: true,
        error: (issue) =>
          `must be an ISO-8601 date-time with a timezone, e.g. "2026-11-25T08:00:00Z" (got ${describeValue(issue.input)})`,
      })
      .optional()
      .meta({
        title: 'Enforce from',
        description:
          'Optional roll-out date (ISO-8601 with a timezone). Before it, staff the policy asks are in a grace period: ' +
          'they are offered Duo and may choose "Remind me later"; from it, Duo is required.',
      }),
  })
  .meta({ title: 'MFA settings', description: 'Who in this tenant is asked for Duo.' });

const testGroup = z
  .strictObject({
    roles: nameList('role', 'Roles in the test group.'),
    staff: nameList('username', 'Usernames in the test group.'),
  })
  .prefault({})
  .meta({
    title: 'Test group',
    description: 'Who the trusted-endpoints policy applies to when activation is "test-group".',
  });

const trustedEndpoints = z
  .strictObject({
    policy: oneOf(TE_POLICIES)
      .default('off')
      .meta({
        title: 'Trusted endpoints policy',
        description:
          '"off" (default): ignore device trust; "monitor": record whether Duo reports the device as trusted, allow; ' +
          '"block": deny sign-ins from devices Duo does not report as trusted.',
      }),
    activation: oneOf(TE_ACTIVATIONS).default('disabled').meta({
      title: 'Activation',
      description:
        '"disabled" (default): configured but applied to no one; "test-group": only the test group; "all": everyone.',
    }),
    testGroup,
  })
  .prefault({})
  .meta({
    title: 'Trusted endpoints',
    description: "What to do with Duo's Trusted Endpoints status of the device used to sign in.",
  });

/**
 * One tenant: what `tenants.<id>` holds in the single file, a `<id>.json` file in a directory, or a Redis value.
 *
 * @example
 * ```ts
 * const parsed = TenantSchema.safeParse(JSON.parse(text), { error: policyErrorMap });
 * ```
 */
export const TenantSchema = z
  .strictObject({
    mfa,
    duo,
    failmode: oneOf(FAILMODES)
      .default('closed')
      .meta({
        title: 'Fail mode',
        description:
          'When Duo\'s health check fails before the redirect: "closed" (default) refuses sign-in; ' +
          '"open" lets staff in without Duo for a short time (and records it).',
      }),
    challengeLimit: z
      .number()
      .int()
      .min(1)
      .max(MAX_CHALLENGE_LIMIT)
      .default(5)
      .meta({
        title: 'Challenge limit',
        description: `Duo challenges one user may start per 15 minutes (push-fatigue protection), 1–${MAX_CHALLENGE_LIMIT}. Default 5.`,
      }),
    trustedEndpoints,
  })
  .meta({ title: 'Tenant', description: "One tenant's MFA policy and Duo application." });

/**
 * The policy file schema. Parse with `policyErrorMap` for the project's messages; `compilePolicy()` does it all.
 *
 * @example
 * ```ts
 * const parsed = PolicyFileSchema.safeParse(JSON.parse(text), { error: policyErrorMap });
 * ```
 */
export const PolicyFileSchema = z
  .strictObject({
    $schema: z.string().optional().meta({
      title: 'JSON Schema',
      description:
        'Where editors find this schema, e.g. "./node_modules/express-duo-mfa/schema/duo-mfa.schema.json". Ignored at runtime.',
    }),
    defaultTenant: z.string().min(1).optional().meta({
      title: 'Default tenant',
      description:
        'The tenant used for users who carry no tenant. Must name a tenant in "tenants". Without it, such users are refused.',
    }),
    tenants: z
      .record(z.string(), TenantSchema) // ids are checked in compile.ts, so a bad id never hides its tenant's problems
      .refine((tenants) => Object.keys(tenants).length > 0, { error: 'must list at least one tenant' })
      .meta({
        title: 'Tenants',
        description:
          'Each tenant (customer) by id. Ids are matched exactly (case and spaces count) against the tenant the ' +
          'host app gives for the user; a user whose tenant is not listed is refused.',
        minProperties: 1,
        propertyNames: { minLength: 1, pattern: '^\\S(.*\\S)?$' },
      }),
  })
  .meta({
    title: 'express-duo-mfa policy',
    description:
      "Who is asked for Duo two-factor authentication, per tenant, and each tenant's Duo application. " +
      'Check it with: npx duo-mfa check FILE',
  });

/**
 * The policy file's top-level keys with the tenants left unchecked: what a directory's `_defaults.json` and the
 * single file's head are validated with, each tenant being checked on its own with TenantSchema.
 *
 * @example
 * ```ts
 * PolicyHeadSchema.safeParse({ defaultTenant: 'acme' }, { error: policyErrorMap });
 * ```
 */
export const PolicyHeadSchema = PolicyFileSchema.omit({ tenants: true });

/** The policy file as admins write it (defaults not yet applied). */
export type PolicyFileInput = z.input<typeof PolicyFileSchema>;
/** The policy file after validation, every default applied; secrets not yet resolved. */
export type PolicyFile = z.output<typeof PolicyFileSchema>;
/** One tenant of a validated policy file. */
export type PolicyFileTenant = PolicyFile['tenants'][string];
/** One tenant as admins write it (defaults not yet applied). */
export type PolicyFileTenantInput = z.input<typeof TenantSchema>;

/** Minimal view of zod's internal definitions, enough to find which keys an object allows. */
interface SchemaNode {
  _zod: {
    def: {
      type: string;
      shape?: Record<string, SchemaNode>;
      valueType?: SchemaNode;
      element?: SchemaNode;
      innerType?: SchemaNode;
      in?: SchemaNode;
      options?: SchemaNode[];
    };
  };
}

/**
 * The keys allowed in the object found at `path` of the policy file (for "did you mean" on unknown keys).
 *
 * @example
 * ```ts
 * allowedKeysAt(['tenants', 'acme', 'mfa']); // ['enabled', 'rolesIncluded', 'staffIncluded', …]
 * ```
 */
export function allowedKeysAt(path: readonly PropertyKey[]): readonly string[] {
  let node: SchemaNode | undefined = unwrap(PolicyFileSchema as unknown as SchemaNode);
  for (const segment of path) {
    if (!node) return [];
    const def: SchemaNode['_zod']['def'] = node._zod.def;
    if (def.type === 'object') node = def.shape?.[String(segment)];
    else if (def.type === 'record') node = def.valueType;
    else if (def.type === 'array') node = def.element;
    else return [];
    node = unwrap(node);
  }
  return node ? Object.keys(node._zod.def.shape ?? {}) : [];
}

/**
 * Where a tenant holds name lists (usernames or roles), as paths inside the tenant: found in the schema, so a list
 * added there is covered. compile.ts checks these lists with one loop each instead of one zod parse per entry.
 *
 * @example
 * ```ts
 * nameListPaths(); // [['mfa', 'rolesIncluded'], ['mfa', 'staffIncluded'], …, ['trustedEndpoints', 'testGroup', 'staff']]
 * ```
 */
export function nameListPaths(): readonly (readonly string[])[] {
  return (nameListPathsCache ??= findNameLists());
}

let nameListPathsCache: readonly (readonly string[])[] | undefined;

function findNameLists(): readonly (readonly string[])[] {
  const tenantSchema = unwrap((PolicyFileSchema as unknown as SchemaNode)._zod.def.shape?.tenants);
  const paths: string[][] = [];
  const visit = (node: SchemaNode | undefined, path: string[]): void => {
    const inner = unwrap(node);
    if (!inner) return;
    if (NAME_LISTS.has(inner)) paths.push(path);
    else if (inner._zod.def.type === 'object') {
      for (const [key, child] of Object.entries(inner._zod.def.shape ?? {})) visit(child, [...path, key]);
    }
  };
  visit(tenantSchema?._zod.def.valueType, []);
  return paths;
}

/** Looks through defaults, optionals, pipes and unions to the object schema inside. */
function unwrap(node: SchemaNode | undefined): SchemaNode | undefined {
  let current = node;
  for (let depth = 0; current && depth < 10; depth++) {
    const def: SchemaNode['_zod']['def'] = current._zod.def;
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else if (def.type === 'union') current = def.options?.find((option) => option._zod.def.type === 'object');
    else return current;
  }
  return current;
}
