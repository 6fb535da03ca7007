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

/** Options that take a value, for parseCli: `...valueOptions('seconds', 'rate')`. */
export function valueOptions<K extends string>(...names: K[]): Record<K, { type: 'string' }> {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' }])) as Record<K, { type: 'string' }>;
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
 * Runs a script: prints the usage for --help (exit 0), runs it with its options and ends with the
 * code it returns; a UsageError (bad arguments, a setup that cannot run) ends with 2, anything unexpected too.
 */
export function runMain<T>(usage: string, parse: (argv: string[]) => T | 'help', run: (options: T) => Promise<number>): void {
  let parsed = false;
  const main = async () => {
    const options = parse(process.argv.slice(2));
    parsed = true;
    if (options !== 'help') return run(options);
    console.log(usage);
    return 0;
  };
  main().then(
    // exitCode instead of process.exit() lets stdout flush when it is piped.
    (code) => (process.exitCode = code),
    (error: unknown) => {
      if (error instanceof UsageError) console.error(`error: ${error.message}${parsed ? '' : '\nRun with --help to see the options.'}`);
      else console.error('unexpected failure:', error);
      process.exitCode = 2;
    },
  );
}
