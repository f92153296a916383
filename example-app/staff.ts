// The portal's own password login: a staff directory with scrypt-hashed passwords (per-user salt), checked in
// constant time, answering the same way for an unknown user and a wrong password.

import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** A staff member as the portal knows them after the password check (what goes into the session). */
export interface StaffMember {
  readonly username: string;
  /** The customer (tenant) id, exactly as in the MFA policy file. */
  readonly tenant: string;
  readonly roles: readonly string[];
  /** Display name. */
  readonly name: string;
}

/** A staff member with the password to hash, as the directory is seeded. */
export interface StaffSeed extends StaffMember {
  readonly password: string;
}

interface StoredStaff {
  readonly member: StaffMember;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

// scrypt's recommended interactive cost (N = 2^14, r = 8, p = 1): about 50 ms per check on a laptop.
const SCRYPT: ScryptOptions = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Longer passwords are refused before hashing, so a huge body cannot make the server hash megabytes. */
const MAX_PASSWORD_LENGTH = 1024;

function hashPassword(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, SCRYPT, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** Usernames compare trimmed and lower-cased, as the MFA policy compares them. */
function keyOf(tenant: string, username: string): string {
  return `${tenant}\u0000${username.trim().toLowerCase()}`;
}

/**
 * The staff directory. Passwords are hashed once at construction (in the background); only salts and hashes
 * are kept.
 *
 * @example
 * ```ts
 * const staff = new StaffDirectory([{ username: 'alice', tenant: 'acme', roles: ['admin'], name: 'Alice', password: 'pw' }]);
 * await staff.verify('acme', 'Alice', 'pw'); // { username: 'alice', tenant: 'acme', … }
 * await staff.verify('acme', 'nobody', 'pw'); // undefined, after the same amount of work
 * ```
 */
export class StaffDirectory {
  private readonly ready: Promise<Map<string, StoredStaff>>;
  /** Checked when the username is unknown, so both failures cost one scrypt (no user enumeration by timing). */
  private readonly decoy: Promise<StoredStaff>;
  readonly members: readonly StaffMember[];

  constructor(seeds: readonly StaffSeed[]) {
    this.members = Object.freeze(
      seeds.map(({ username, tenant, roles, name }) =>
        Object.freeze({ username, tenant, roles: Object.freeze([...roles]), name }),
      ),
    );
    this.ready = Promise.all(
      seeds.map(async (seed, index): Promise<[string, StoredStaff]> => {
        const salt = randomBytes(SALT_LENGTH);
        const hash = await hashPassword(seed.password, salt);
        return [keyOf(seed.tenant, seed.username), { member: this.members[index]!, salt, hash }];
      }),
    ).then((entries) => new Map(entries));
    const decoySalt = randomBytes(SALT_LENGTH);
    this.decoy = hashPassword(randomBytes(24).toString('base64'), decoySalt).then((hash) => ({
      member: { username: '', tenant: '', roles: [], name: '' },
      salt: decoySalt,
      hash,
    }));
  }

  /** The staff of one tenant, in directory order. */
  ofTenant(tenant: string): StaffMember[] {
    return this.members.filter((member) => member.tenant === tenant);
  }

  /** The member when tenant, username and password match; otherwise undefined (same work either way). */
  async verify(tenant: unknown, username: unknown, password: unknown): Promise<StaffMember | undefined> {
    if (typeof tenant !== 'string' || typeof username !== 'string' || typeof password !== 'string') {
      return undefined;
    }
    if (password.length === 0 || password.length > MAX_PASSWORD_LENGTH || username.length > 256)
      return undefined;
    const stored = (await this.ready).get(keyOf(tenant, username));
    const candidate = stored ?? (await this.decoy);
    const hash = await hashPassword(password, candidate.salt);
    const matches = timingSafeEqual(hash, candidate.hash);
    return matches && stored ? stored.member : undefined;
  }
}
