import type { AutocannonOutput } from '../load.js';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { round } from '../../scripts/lib/stats.js';
import { summarizeCpuProfile } from '../lib/cpu-profile.js';
import { reqPerSec } from '../lib/measure.js';
import { type Context, emptyStore, RESULTS_DIR, ROOT, runLoad, startSide, storeOf } from '../lib/processes.js';
import { DEFAULT_ADAPTER } from '../lib/sides.js';
import { scenarioLoad, warmUp } from './throughput.js';

/**
 * One scenario on a process of its own run with `node --cpu-prof`: warm-up, the measured load, then
 * a normal exit (the profile is written at exit). Self time is summarised over the load window
 * only (the probe's monotonic clock is the profile's clock).
 */
export async function runProfile(context: Context, stamp: string, scenario: 'fresh' | 'replay' | 'baseline') {
  const side = scenario === 'baseline' ? 'baseline' : DEFAULT_ADAPTER;
  // Node writes one profile per thread (tsx's hooks run on one of their own), named CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: the main thread's (0) is kept.
  const scratch = join(RESULTS_DIR, `${stamp}-${scenario}.tmp`);
  const file = join(RESULTS_DIR, `${stamp}-${scenario}.cpuprofile`);
  const service = await startSide(context, side, `profiled ${scenario}`, ['--cpu-prof', '--cpu-prof-dir', scratch]);
  try {
    await emptyStore(storeOf(context, side));
    await warmUp(context, side, service);
    const load = await scenarioLoad(context, scenario, `${scenario} (profiled)`, service, side, 1);
    let startUs = 0;
    const { result } = await runLoad<AutocannonOutput>(load, async () => void (startUs = (await service.sample()).monotonicUs));
    const endUs = (await service.sample()).monotonicUs;
    await service.exitNormally();
    const mainThread = existsSync(scratch) ? readdirSync(scratch).find((entry) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(entry)) : undefined;
    if (!mainThread) throw new Error(`--cpu-prof wrote no main-thread profile into ${relative(ROOT, scratch)}`);
    renameSync(join(scratch, mainThread), file);
    const summary = summarizeCpuProfile(file, ROOT, { startUs, endUs });
    return {
      ...summary,
      file: relative(ROOT, file),
      scenario,
      reqPerSec: reqPerSec(result),
      requests: result.requests.sent,
      busyUsPerRequest: round((1000 * summary.busyMs) / Math.max(result.requests.sent, 1), 1),
    };
  } finally {
    await service.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

export type ProfiledRun = Awaited<ReturnType<typeof runProfile>>;
