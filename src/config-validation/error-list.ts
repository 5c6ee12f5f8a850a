// The errors of one configuration file, kept in the order they were found and capped at MAX_LISTED_ERRORS
// (the rest are counted). Which errors are kept depends on that order, so whoever joins errors found
// separately (the mesh file's service items parsed apart, see discovery/file/mesh-assembly.ts) replays
// them in file order through one list.
import type { ConfigError } from './config-error';

/** Errors listed per rejected version: enough to fix a file, too few to flood the log or /debug/issues. */
export const MAX_LISTED_ERRORS = 100;

export interface ErrorPlace {
  path: string;
  line: number;
}

export class ErrorList {
  readonly errors: ConfigError[] = [];
  /** Errors found beyond MAX_LISTED_ERRORS: counted, not kept. */
  unlisted = 0;

  /** Every error reported so far, kept or not. */
  get reported(): number {
    return this.errors.length + this.unlisted;
  }

  report(where: ErrorPlace, message: string): undefined {
    if (this.errors.length < MAX_LISTED_ERRORS) this.errors.push({ path: where.path, line: where.line, message });
    else this.unlisted++;
    return undefined;
  }

  /** Reports what another list holds, as if each had been reported here. */
  replay(errors: readonly ConfigError[], from = 0, to = errors.length): void {
    for (let i = from; i < to; i++) {
      const error = errors[i];
      if (this.errors.length < MAX_LISTED_ERRORS) this.errors.push(error);
      else this.unlisted++;
    }
  }

  /** What the user sees: the kept errors by line, then one error counting the rest. */
  finished(): ConfigError[] {
    return [...sortByLine(this.errors), ...unlistedError(this.unlisted)];
  }
}

/** At most MAX_LISTED_ERRORS errors, then one that counts the rest. */
export function listed(errors: ConfigError[]): ConfigError[] {
  if (errors.length <= MAX_LISTED_ERRORS) return errors;
  return [...errors.slice(0, MAX_LISTED_ERRORS), ...unlistedError(errors.length - MAX_LISTED_ERRORS)];
}

function unlistedError(count: number): ConfigError[] {
  return count > 0
    ? [
        {
          path: '',
          message: `and ${count} more errors (only the first ${MAX_LISTED_ERRORS} are listed): fix these and validate again`,
        },
      ]
    : [];
}

function sortByLine(errors: ConfigError[]): ConfigError[] {
  return [...errors].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}
