// Truly read-only Set and Map: a compiled policy is shared by every request, so nothing may change it in place.

function frozenError(): TypeError {
  return new TypeError('A compiled MFA policy is read-only: change the policy file instead');
}

/**
 * A Set whose content is fixed at construction: `add`, `delete` and `clear` throw. Still `instanceof Set`.
 *
 * @example
 * ```ts
 * const roles = new FrozenSet(['admin']);
 * roles.has('admin'); // true
 * roles.add('x'); // TypeError
 * ```
 */
export class FrozenSet<T> extends Set<T> {
  constructor(values: Iterable<T> = []) {
    super();
    // Filled by the native Set constructor (its fast path for arrays: policies hold millions of names), then given
    // this class's prototype, whose add/delete/clear throw. The empty instance made by super() is dropped.
    return sealed(new Set(values), new.target.prototype);
  }

  override add(_value: T): this {
    throw frozenError();
  }

  override delete(_value: T): boolean {
    throw frozenError();
  }

  override clear(): void {
    throw frozenError();
  }
}

/**
 * A Map whose entries are fixed at construction: `set`, `delete` and `clear` throw. Still `instanceof Map`.
 *
 * @example
 * ```ts
 * const tenants = new FrozenMap([['acme', tenant]]);
 * tenants.get('acme');
 * ```
 */
export class FrozenMap<K, V> extends Map<K, V> {
  constructor(entries: Iterable<readonly [K, V]> = []) {
    super();
    // As FrozenSet: filled natively, then given this class's prototype.
    return sealed(new Map(entries), new.target.prototype);
  }

  override set(_key: K, _value: V): this {
    throw frozenError();
  }

  override delete(_key: K): boolean {
    throw frozenError();
  }

  override clear(): void {
    throw frozenError();
  }
}

/** Gives a native Set or Map a Frozen* prototype and freezes it. */
function sealed<T extends object>(collection: T, prototype: object): T {
  return Object.freeze(Object.setPrototypeOf(collection, prototype) as T);
}

/**
 * Freezes plain objects and arrays recursively (Sets and Maps must already be Frozen*). Returns its argument.
 *
 * @example
 * ```ts
 * const tenant = deepFreeze({ mfa: { enabled: true } });
 * Object.isFrozen(tenant.mfa); // true
 * ```
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}
