import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Anything that should end a script with exit code 2: bad arguments or a setup that cannot run. */
export class UsageError extends Error {}

/** node:util parseArgs, strict, with its errors (unknown option, missing value) as UsageError. */
export function parseCli<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: false, options }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
    throw new UsageError(`${name} must be a positive integer, got "${raw}"`);
  }
  return Number(raw);
}

export function fraction(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new UsageError(`${name} must be a number from 0 to 1, got "${raw}"`);
  }
  return value;
}

/** `201 ×3, 409 ×97`, or `none`. */
export function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? 'none' : entries.map(([name, count]) => `${name} ×${count}`).join(', ');
}

/**
 * The options of a script, or the exit code to end with: 0 after printing the usage for --help,
 * 2 after a usage error.
 */
export function readOptions<T>(parse: (argv: string[]) => T | 'help', usage: string): T | number {
  try {
    const parsed = parse(process.argv.slice(2));
    if (parsed !== 'help') return parsed;
    console.log(usage);
    return 0;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`error: ${error.message}\nRun with --help to see the options.`);
    return 2;
  }
}
