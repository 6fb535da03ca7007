import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { round } from '../../tools/stats.js';
import { summarizeCpuProfile } from '../lib/cpu-profile.js';
import { BENCH_DIR, RESULTS_DIR, ROOT } from '../lib/paths.js';
import { type AutocannonOutput, type Context, emptyDatabase, loadOptions, log, runLoad, startSide, storeOf } from '../lib/processes.js';
import { DEFAULT_ADAPTER, type ProfiledRun } from '../lib/types.js';
import { SCENARIO_LOADS } from './throughput.js';

/**
 * One scenario on a process of its own run with `node --cpu-prof`: warm-up, then the measured load,
 * then a normal exit (the profile is written at exit). Self time is summarised over the load
 * window only (the probe's monotonic clock is the profile's clock), not start-up or warm-up.
 */
export async function runProfile(context: Context, stamp: string, scenario: ProfiledRun['scenario']): Promise<ProfiledRun> {
  const side = scenario === 'baseline' ? 'baseline' : DEFAULT_ADAPTER;
  const { client } = storeOf(context, side);
  // Node writes one profile per thread (tsx's module hooks run on a thread of their own), named
  // CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: collected in a scratch folder, the main
  // thread's (id 0) is kept.
  const scratch = join(RESULTS_DIR, `${stamp}-${scenario}.tmp`);
  const file = join(RESULTS_DIR, `${stamp}-${scenario}.cpuprofile`);
  const profileArgs = ['--cpu-prof', '--cpu-prof-dir', scratch];
  const service = await startSide(context, side, `profiled ${scenario}`, profileArgs);
  const { connections, seconds, warmupSeconds } = context.options;
  try {
    await client.flushall();
    if (context.databases[side]) await emptyDatabase(context.databases[side]!);
    if (warmupSeconds > 0) {
      await runLoad(loadOptions('unique', `${scenario} profile warm-up`, service, { seconds: warmupSeconds, connections }));
    }
    const load = await SCENARIO_LOADS[scenario](`${scenario} (profiled)`, service, { seconds, connections }, 1);
    let startUs = 0;
    const output = await runLoad<AutocannonOutput>(load, async () => {
      startUs = (await service.sample()).monotonicUs;
    });
    const endUs = (await service.sample()).monotonicUs;
    await service.exitNormally();
    const mainThread = existsSync(scratch) ? readdirSync(scratch).find((entry) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(entry)) : undefined;
    if (!mainThread) throw new Error(`--cpu-prof wrote no main-thread profile into ${relative(ROOT, scratch)}`);
    renameSync(join(scratch, mainThread), file);
    rmSync(scratch, { recursive: true, force: true });
    const summary = summarizeCpuProfile(file, { root: ROOT, window: { startUs, endUs }, top: 25 });
    const requests = output.result.requests.sent;
    log(`bench: ${scenario} profile: ${relative(ROOT, file)}, ${summary.busyMs} ms busy over ${summary.windowMs} ms`);
    return {
      ...summary,
      file: relative(BENCH_DIR, file),
      scenario,
      reqPerSec: round(output.result.requests.total / output.result.duration, 1),
      requests,
      busyUsPerRequest: round((1000 * summary.busyMs) / Math.max(requests, 1), 1),
    };
  } finally {
    await service.stop();
    rmSync(scratch, { recursive: true, force: true });
    await client.flushall();
  }
}
