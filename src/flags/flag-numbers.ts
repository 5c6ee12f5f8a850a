// Numbers given as flag values (`--max-request-bytes 4194304`): whole numbers with a lower bound, each
// error naming the flag and what it must be.

export type FlagNumber = { ok: true; value: number } | { ok: false; error: string };

/** A whole number >= 1. */
export function positiveWholeNumber(flagName: string, text: string): FlagNumber {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    return { ok: false, error: `--${flagName} "${text}" is not a positive whole number` };
  return { ok: true, value };
}

/** A whole number >= 0 (0 turns something off, or means "at once"). */
export function wholeNumberFromZero(flagName: string, text: string): FlagNumber {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0)
    return { ok: false, error: `--${flagName} "${text}" is not a whole number >= 0` };
  return { ok: true, value };
}
