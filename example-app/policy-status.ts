// Whether the policy file on disk is valid *now*, for the MFA Settings banner. The middleware reports a refused
// edit (policy.invalid) but reloads — and says so — only when the content changes, so restoring exactly the file
// in force says nothing: the portal checks the file itself, with the package's own loader.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isDuoMfaError } from 'express-duo-mfa';
import { loadPolicyFile } from 'express-duo-mfa/policy';
import type { FileProblem } from './settings-page';

/** The file as the portal last read it: valid, or not valid since `since` for `problems`. */
export type FileStatus =
  | { readonly valid: true }
  | {
      readonly valid: false;
      readonly since: number;
      readonly problems: readonly FileProblem[];
      /** Changes with the problems: part of the page's revision, so the page reloads when they change. */
      readonly key: string;
    };

/** What the policy loader says about a file, in the words the MFA Settings page shows. */
type Outcome = { readonly valid: true } | { readonly valid: false; readonly problems: FileProblem[] };

/**
 * Checks a policy file on demand (each MFA Settings page and each of its revision polls), re-validating only
 * when the text changed. The file may be briefly invalid while an editor saves: the page then shows the banner
 * until the next poll finds the file whole again.
 *
 * @example
 * ```ts
 * const status = new PolicyFileStatus('./duo-mfa.json');
 * const now = status.check(); // { valid: true } or { valid: false, since, problems, key }
 * ```
 */
export class PolicyFileStatus {
  private lastText: string | undefined;
  private lastOutcome: Outcome = { valid: true };
  private invalidSince: number | undefined;

  private readonly now: () => number;
  private readonly secretsKey: string | undefined;

  /** `secretsKey` opens the secrets saved on MFA Settings, as the middleware does (without it they are problems). */
  constructor(
    private readonly path: string,
    options: { readonly secretsKey?: string | undefined; readonly now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.secretsKey = options.secretsKey;
  }

  /** The middleware refused the file at `at` (its policy.invalid event): the banner dates from then. */
  refusedAt(at: number): void {
    if (this.invalidSince === undefined || at < this.invalidSince) this.invalidSince = at;
  }

  check(): FileStatus {
    let text: string | undefined;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      text = undefined; // the loader below says why, in its own words
    }
    const outcome =
      text !== undefined && text === this.lastText
        ? this.lastOutcome
        : (this.lastOutcome = validate(this.path, this.secretsKey));
    this.lastText = text;
    if (outcome.valid) {
      this.invalidSince = undefined;
      return outcome;
    }
    this.invalidSince ??= this.now();
    const key = createHash('sha256').update(JSON.stringify(outcome.problems)).digest('hex').slice(0, 12);
    return { valid: false, since: this.invalidSince, problems: outcome.problems, key };
  }
}

/** The package's own loader decides, so the page never disagrees with what the middleware would load. */
function validate(path: string, secretsKey: string | undefined): Outcome {
  try {
    loadPolicyFile(path, { secretsKey });
    return { valid: true };
  } catch (error) {
    if (!isDuoMfaError(error, 'ERR_POLICY_INVALID')) {
      return { valid: false, problems: [{ where: undefined, message: 'the file could not be checked' }] };
    }
    const issues = Array.isArray(error.details.issues)
      ? (error.details.issues as Array<{ path?: unknown; message?: unknown }>)
      : [];
    const problems = issues.map(plainWords);
    return {
      valid: false,
      problems: problems.length > 0 ? problems : [{ where: undefined, message: 'the file is not valid' }],
    };
  }
}

/**
 * An issue as people read it: `$` (the whole file) gets no prefix, and a JSON syntax error starts with where it
 * is: "line 3, column 5: expected a property name … (not valid JSON)".
 */
function plainWords(issue: { path?: unknown; message?: unknown }): FileProblem {
  const path = typeof issue.path === 'string' && issue.path !== '$' ? issue.path : undefined;
  const message = typeof issue.message === 'string' ? issue.message : 'not valid';
  const syntax = /^not valid JSON at (line \d+, column \d+): (.*)$/s.exec(message);
  return { where: path, message: syntax ? `${syntax[1]}: ${syntax[2]} (not valid JSON)` : message };
}
