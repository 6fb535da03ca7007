/** What the scripts print: tables, latencies, the verdict and the RESULT line. */
import { percentile } from './stats.js';
import type { Answer } from './recorded-charges.js';

/** Violations printed in full; a systematic bug would bury the report otherwise (RESULT has all). */
const PRINTED_FAILURES = 50;

/** Rows as indented lines: the first column left-aligned (labels), the others right-aligned (numbers). */
export function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) console.log(`  ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[0]) : cell.padStart(widths[column]))).join('   ')}`);
}

/** Send-to-body-read times of the answered requests; timeouts would only distort them. */
export function latencyOf(answers: Answer[]): { p50: number | null; p99: number | null } {
  const latencies = answers.flatMap((answer) => (answer.answeredAtMs === undefined ? [] : [answer.answeredAtMs - answer.sentAtMs]));
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

export function ms(value: number | null): string {
  return value === null ? '-' : value.toFixed(1);
}

export function countBy<T>(items: T[], name: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[name(item)] = (counts[name(item)] ?? 0) + 1;
  return counts;
}

/** The verdict, and with --json the whole result as one line `RESULT {...}`; returns the exit code. */
export function printVerdict(failures: string[], passed: string, json: boolean, result: object): number {
  console.log('');
  if (failures.length === 0) console.log(`Verdict: PASS - ${passed}`);
  else console.log(`Verdict: FAIL - ${failures.length} failed check(s)`);
  for (const failure of failures.slice(0, PRINTED_FAILURES)) console.log(`  - ${failure}`);
  if (failures.length > PRINTED_FAILURES) console.log(`  … and ${failures.length - PRINTED_FAILURES} more (${json ? 'RESULT' : '--json'} lists all)`);
  if (json) console.log(`RESULT ${JSON.stringify({ ok: failures.length === 0, ...result })}`);
  return failures.length === 0 ? 0 : 1;
}
