import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BENCH_DIR = join(ROOT, 'bench');
/** Generated, not in git: each run's JSON, per-run chart and CPU profiles. */
export const RESULTS_DIR = join(BENCH_DIR, 'results');
