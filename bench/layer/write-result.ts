import { mkdirSync, writeFileSync } from 'node:fs';
import { RESULTS_DIR } from '../lib/paths.js';

/** A table of a run, as bench/results/<name>-<time>.md (ignored by git, as every generated result). */
export function writeResult(name: string, table: string): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}/${name}-${new Date().toISOString().replaceAll(':', '-').slice(0, 19)}Z.md`;
  writeFileSync(file, `${table}\n`);
  return file;
}
